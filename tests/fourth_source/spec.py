"""The fourth source's registry entry: the one thing a test adds to ``exporter.sources.registry``."""

from __future__ import annotations

from exporter.config import Config, Section
from exporter.sources.spec import Flag, SourceSpec, Wiring
from tests.fourth_source.source import KEYS, SECTION, FourthSource, fourth_config, parse_fourth


def _source(wiring: Wiring) -> FourthSource:
    return FourthSource(wiring.config, wiring.client)


def _enabled(config: Config) -> bool:
    return fourth_config(config).enabled == "true"


SPEC = SourceSpec(
    name="fourth",
    factory=_source,
    enabled=_enabled,
    section=Section(SECTION, KEYS, parse_fourth),
    flags=(Flag("--fourth.enabled", "fourth_enabled", "BOOL", "the fourth source: true (default) or false"),),
    links=lambda config: ' &middot; <a href="/fourth">Fourth</a>',
)
