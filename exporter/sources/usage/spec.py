"""The usage source's entry in the registry: the ``usage:`` section, ``--usage.enabled``, and ``auto``."""

from __future__ import annotations

from exporter.config import Config, Section
from exporter.sources.spec import Flag, SourceCost, SourceSpec, Wiring
from exporter.sources.usage import fetch
from exporter.sources.usage.config import KEYS, SECTION, parse_usage, usage_config
from exporter.sources.usage.source import UsageSource


def _source(wiring: Wiring) -> UsageSource:
    return UsageSource(wiring.config, wiring.client, wiring.users, clock=wiring.clock)


def _enabled(config: Config) -> bool:
    # auto: off against GitHub Enterprise Server (/api/v3), which has no usage-metrics reports.
    return usage_config(config).active(config.api_url)


def _cost(config: Config) -> SourceCost:
    return SourceCost(len(config.targets) * fetch.requests_per_poll(), usage_config(config).poll_interval)


SPEC = SourceSpec(
    name="usage",
    factory=_source,
    enabled=_enabled,
    cost=_cost,
    section=Section(SECTION, KEYS, parse_usage),
    flags=(
        Flag(
            "--usage.enabled",
            "usage_enabled",
            "MODE",
            "usage-metrics reports: auto (default: on, except on GitHub Enterprise Server), true or false",
        ),
    ),
)
