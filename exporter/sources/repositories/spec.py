"""The repository source's registry entry: the ``repositories:`` section, ``--repositories.enabled``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from prometheus_client.metrics_core import Metric

from exporter.config import Config, Section, Target
from exporter.github.reports import RETENTION_DAYS
from exporter.sources.repositories import fetch
from exporter.sources.repositories.config import KEYS, SECTION, parse_repositories, repositories_config
from exporter.sources.repositories.metrics import repository_families
from exporter.sources.repositories.snapshot import RepositoriesSnapshot
from exporter.sources.repositories.source import RepositoriesSource
from exporter.sources.spec import (
    BackfillPart,
    BackfillWiring,
    DayReader,
    SourceCost,
    SourceSpec,
    Wiring,
    days_back,
    report_switch,
)


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


def _day_reader(wiring: BackfillWiring) -> DayReader:
    settings = repositories_config(wiring.config)

    async def read_day(target: Target, day: date) -> RepositoriesSnapshot | None:
        return await fetch.fetch_day(wiring.client, target, day, settings, today=wiring.today)

    return read_day


def _day_families(wiring: BackfillWiring, snapshots: Sequence[RepositoriesSnapshot]) -> Iterable[Metric]:
    return repository_families(snapshots)


def _too_old(first: date, oldest: date) -> str:
    return (
        f"--from {first} is beyond GitHub's retention of the repository report: the oldest day is "
        f"{oldest} (a usage-metrics report, kept for {RETENTION_DAYS} days); pass a later --from, or "
        "--repositories.enabled=false"
    )


def _options(config: Config) -> Mapping[str, Any]:
    return {"repositories_top_n": repositories_config(config).top_n}


BACKFILL = BackfillPart(
    reader=_day_reader,
    families=_day_families,
    # GitHub documents no retention of its own for the repository report (generally available since
    # 2026-07-17): it is one of the usage-metrics reports, kept for RETENTION_DAYS.
    oldest_day=days_back(RETENTION_DAYS),
    too_old=_too_old,
    report="repository report",
    options=_options,
)

SPEC = SourceSpec(
    name="repositories",
    factory=_source,
    enabled=_enabled,
    cost=_cost,
    backfill=BACKFILL,
    section=Section(SECTION, KEYS, parse_repositories),
    flags=(report_switch(SECTION, "repository report"),),
)
