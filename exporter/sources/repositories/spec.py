"""The repository source's registry entry: the ``repositories:`` section, ``--repositories.enabled``."""

from __future__ import annotations

from exporter.config import Config, Section
from exporter.sources.repositories import fetch
from exporter.sources.repositories.config import KEYS, SECTION, parse_repositories, repositories_config
from exporter.sources.repositories.source import RepositoriesSource
from exporter.sources.spec import Flag, SourceCost, SourceSpec, Wiring


def _source(wiring: Wiring) -> RepositoriesSource:
    return RepositoriesSource(wiring.config, wiring.client, clock=wiring.clock)


def _enabled(config: Config) -> bool:
    # auto: off against GitHub Enterprise Server (/api/v3), which has no usage-metrics reports.
    return repositories_config(config).active(config.api_url)


def _cost(config: Config) -> SourceCost:
    # One report request a day walked per target; its downloads go to another host.
    return SourceCost(
        len(config.targets) * fetch.requests_per_poll(), repositories_config(config).poll_interval
    )


SPEC = SourceSpec(
    name="repositories",
    factory=_source,
    enabled=_enabled,
    cost=_cost,
    section=Section(SECTION, KEYS, parse_repositories),
    flags=(
        Flag(
            "--repositories.enabled",
            "repositories_enabled",
            "MODE",
            "repository report: auto (default: on, except on GitHub Enterprise Server), true or false",
        ),
    ),
)
