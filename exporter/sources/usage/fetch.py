"""Reading one target's newest usage reports: find the day, download every file, aggregate.

The report endpoints answer with signed download links on another host; the client streams those
without the API token. A day is served only whole: the entity report decides which day is newest,
and every file of its three reports must be read to the end, or the poll fails and the previous
snapshot stays published.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

from exporter.config import Target
from exporter.errors import GitHubError, MalformedResponseError
from exporter.github.reports import is_final, read_report, report_links
from exporter.sources.usage.aggregate import DEFAULT_MAX_RECORDS, DEFAULT_TOP_N, UsageAggregator
from exporter.sources.usage.model import ReportLinks
from exporter.sources.usage.runs import ENDPOINT_DOWNLOAD, RunReader
from exporter.sources.usage.snapshot import UsageSnapshot
from exporter.workers import WorkerPool

T = TypeVar("T")

DEFAULT_MAX_DAYS_BACK = 7
#: Per downloaded file. A users report of 100,000 users is a few hundred megabytes.
DEFAULT_MAX_FILE_BYTES = 2 << 30
#: Distinct files one report may list (GitHub splits a large report over a few).
DEFAULT_MAX_FILES = 100
#: A day's reports appear a day or more after it: a poll usually asks for today's, then yesterday's.
USUAL_DAYS_BACK = 2
#: Report -> endpoint path template, per target kind.
REPORT_PATHS = {
    "org": {
        "entity": "/orgs/{name}/copilot/metrics/reports/organization-1-day",
        "users": "/orgs/{name}/copilot/metrics/reports/users-1-day",
        "user_teams": "/orgs/{name}/copilot/metrics/reports/user-teams-1-day",
    },
    "enterprise": {
        "entity": "/enterprises/{name}/copilot/metrics/reports/enterprise-1-day",
        "users": "/enterprises/{name}/copilot/metrics/reports/users-1-day",
        "user_teams": "/enterprises/{name}/copilot/metrics/reports/user-teams-1-day",
    },
}


def requests_per_poll(days_back: int = USUAL_DAYS_BACK) -> int:
    """The API requests of one poll of a target whose newest report is ``days_back`` days back (counting
    today as one): an entity report per day walked, then the users and user-teams reports. The downloads
    go to another host and are not API requests.
    """
    return days_back + 2


class UsageClient(Protocol):
    """What fetching needs of :class:`exporter.github.GitHubClient`."""

    api_url: str

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]: ...

    def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]: ...


class NoUsageReportError(GitHubError):
    reason = "no_report"
    hint = (
        "GitHub has no Copilot usage report for the recent days: check that the Copilot usage metrics "
        "policy is enabled and that the token may view Copilot metrics"
    )


async def fetch_usage(
    client: UsageClient,
    target: Target,
    *,
    today: date,
    known: UsageSnapshot | None = None,
    max_days_back: int = DEFAULT_MAX_DAYS_BACK,
    top_n: int = DEFAULT_TOP_N,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> UsageSnapshot:
    """The snapshot of ``target``'s newest reported day, at most ``max_days_back`` days before ``today``.

    ``known`` is the previous snapshot: when it is of the same day and that day was already final then,
    GitHub will not change it again and it is returned without downloading anything.
    """
    day, entity = await _newest_report(client, target, today, max_days_back, max_files)
    same_target = known is not None and (known.target, known.day) == (target, day)
    if known is not None and same_target and known.final:
        return known
    users = await _report_links(client, target, "users", day, max_files)
    user_teams = await _report_links(client, target, "user_teams", day, max_files)
    digest = _digest(entity, users, user_teams)
    if known is not None and same_target and known.source_digest == digest:
        # The same files as last time: nothing to download, but the day may have become final since.
        return dataclasses.replace(known, final=is_final(day, today))
    aggregator = UsageAggregator(day, top_n=top_n, max_records=max_records)
    await _read_reports(client, (entity, users, user_teams), aggregator, max_file_bytes)
    snapshot = aggregator.finish(target, final=is_final(day, today))
    if snapshot.entity is None:
        # The files were read but hold no record of the day: a truncated or empty report, never
        # served as a day of zero activity.
        raise MalformedResponseError(f"{target}: the {day} entity report has no record of that day")
    return dataclasses.replace(snapshot, source_digest=digest)


async def fetch_day(
    client: UsageClient,
    target: Target,
    day: date,
    *,
    today: date,
    top_n: int = DEFAULT_TOP_N,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
    max_records: int = DEFAULT_MAX_RECORDS,
    workers: WorkerPool | None = None,
) -> UsageSnapshot | None:
    """The snapshot of ``target``'s reports of one given ``day``; None when GitHub has no entity report.

    The same reading as :func:`fetch_usage` (every file read to the end, or the error propagates), for
    a day chosen by the caller: ``backfill`` walks the days of a range with it. With ``workers`` the
    users and user-teams reports are parsed there, in runs, while the next lines download.
    """
    entity = await _report_links(client, target, "entity", day, max_files)
    if entity is None:
        return None
    users = await _report_links(client, target, "users", day, max_files)
    user_teams = await _report_links(client, target, "user_teams", day, max_files)
    aggregator = UsageAggregator(day, top_n=top_n, max_records=max_records)
    await _read_reports(client, (entity, users, user_teams), aggregator, max_file_bytes, workers)
    return aggregator.finish(target, final=is_final(day, today))


async def _read_reports(
    client: UsageClient,
    reports: tuple[ReportLinks, ReportLinks | None, ReportLinks | None],
    aggregator: UsageAggregator,
    max_file_bytes: int,
    workers: WorkerPool | None = None,
) -> None:
    """A day's entity, users and user-teams reports, each read to the end into ``aggregator``."""
    entity, users, user_teams = reports
    await _read_all(client, entity, aggregator.feed_entity_line, max_file_bytes)
    runs = RunReader(client, aggregator, workers, max_bytes=max_file_bytes)
    try:
        # A day with an entity report but no users or user-teams report has no user or team rows.
        if users is not None:
            await runs.read(users, "users")
        if user_teams is not None:
            await runs.read(user_teams, "user-teams")
        await runs.added()
    finally:
        runs.abandon()


def _digest(*reports: ReportLinks | None) -> str:
    hashed = hashlib.sha256()
    for report in reports:
        for link in report.links if report is not None else ("-",):
            hashed.update(link.encode() + b"\n")
        hashed.update(b"\x00")
    return hashed.hexdigest()


def report_endpoint(target: Target, report: str) -> str:
    return REPORT_PATHS[target.kind][report].replace("{name}", "{" + target.kind + "}")


async def _report_links(
    client: UsageClient, target: Target, report: str, day: date, max_files: int
) -> ReportLinks | None:
    """The links of one report of ``day``; None when GitHub has none (204, or 404 for enterprises).

    More than ``max_files`` distinct links fail the poll before any is downloaded.
    """
    path = REPORT_PATHS[target.kind][report].format(name=target.name)
    return await report_links(
        client,
        path,
        report_endpoint(target, report),
        day,
        max_files=max_files,
        max_files_key="usage.max_files_per_report",
    )


async def _newest_report(
    client: UsageClient, target: Target, today: date, max_days_back: int, max_files: int
) -> tuple[date, ReportLinks]:
    """Walk back from ``today`` to the newest day whose entity report exists.

    Reports appear a day or more after the day they describe, and enterprise endpoints answer 404
    rather than 204 for a day without one; a 404 on every day of the window is reported as no report,
    since a wrong name or missing permission fails the seat poll of the same target with its own hint.
    """
    for back in range(max_days_back):
        day = today - timedelta(days=back)
        links = await _report_links(client, target, "entity", day, max_files)
        if links is not None:
            return day, links
    raise NoUsageReportError(
        f"{target.kind} {target.name}: no usage report in the {max_days_back} days to {today}"
    )


async def _read_all(
    client: UsageClient, links: ReportLinks, feed: Callable[[bytes], None], max_bytes: int
) -> None:
    """Every line of every file of a report into ``feed``; any failure propagates and fails the poll."""
    await read_report(client, links, ENDPOINT_DOWNLOAD, feed, max_bytes)
