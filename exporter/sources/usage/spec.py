"""The usage source's entry in the registry: the ``usage:`` section, ``--usage.enabled``, and ``auto``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from prometheus_client.metrics_core import Metric

from exporter.config import Config, Section, Target
from exporter.github.reports import RETENTION_DAYS
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
from exporter.sources.usage import fetch
from exporter.sources.usage.config import KEYS, SECTION, parse_usage, usage_config
from exporter.sources.usage.metrics import usage_families
from exporter.sources.usage.snapshot import UsageSnapshot
from exporter.sources.usage.source import UsageSource


def _source(wiring: Wiring) -> UsageSource:
    return UsageSource(wiring.config, wiring.client, wiring.users, clock=wiring.clock)


def _enabled(config: Config) -> bool:
    # auto: off against GitHub Enterprise Server (/api/v3), which has no usage-metrics reports.
    return usage_config(config).active(config.api_url)


def _cost(config: Config) -> SourceCost:
    return SourceCost(len(config.targets) * fetch.requests_per_poll(), usage_config(config).poll_interval)


def _day_reader(wiring: BackfillWiring) -> DayReader:
    settings = usage_config(wiring.config)

    async def read_day(target: Target, day: date) -> UsageSnapshot | None:
        return await fetch.fetch_day(
            wiring.client,
            target,
            day,
            today=wiring.today,
            top_n=settings.top_n,
            max_file_bytes=settings.max_download_bytes,
            max_files=settings.max_files_per_report,
            max_records=settings.max_records_per_report,
            workers=wiring.workers,
        )

    return read_day


def _day_families(wiring: BackfillWiring, snapshots: Sequence[UsageSnapshot]) -> Iterable[Metric]:
    return usage_families(
        snapshots, user_label=wiring.user_label, max_user_series=wiring.config.max_seat_series
    )


def _too_old(first: date, oldest: date) -> str:
    return (
        f"--from {first} is beyond GitHub's retention of usage reports: the oldest day is "
        f"{oldest} (GitHub keeps them for {RETENTION_DAYS} days); "
        "pass a later --from, leave it out to start there, or --usage.enabled=false to backfill "
        "billing alone"
    )


def _options(config: Config) -> Mapping[str, Any]:
    return {"top_n": usage_config(config).top_n}


BACKFILL = BackfillPart(
    reader=_day_reader,
    families=_day_families,
    oldest_day=days_back(RETENTION_DAYS),
    too_old=_too_old,
    report="usage report",
    counts_missing=True,
    options=_options,
)

SPEC = SourceSpec(
    name="usage",
    factory=_source,
    enabled=_enabled,
    cost=_cost,
    backfill=BACKFILL,
    section=Section(SECTION, KEYS, parse_usage),
    flags=(report_switch(SECTION, "usage-metrics reports"),),
)
