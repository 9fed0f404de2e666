"""The repository source's entry in the registry: the ``repositories:`` section."""

from __future__ import annotations

from exporter.config import Config, Section
from exporter.sources.repositories import fetch
from exporter.sources.repositories.config import KEYS, SECTION, parse_repositories, repositories_config
from exporter.sources.repositories.source import RepositoriesSource
from exporter.sources.spec import SourceCost, SourceSpec, Wiring


def _source(wiring: Wiring) -> RepositoriesSource:
    return RepositoriesSource(wiring.config, wiring.client, clock=wiring.clock)


def _enabled(config: Config) -> bool:
    # The repository report is one of the usage-metrics reports: it is read where the usage source is
    # on (``--usage.enabled``, whose ``auto`` is off on GitHub Enterprise Server) and top_n is not 0.
    # The usage section is asked through its ``active`` only, as sources do not import one another.
    usage = config.sources.get("usage")
    usage_active = getattr(usage, "active", None)
    follows = usage_active(config.api_url) if callable(usage_active) else True
    return bool(follows) and repositories_config(config).active(config.api_url)


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
)
