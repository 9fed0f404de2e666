"""Reading one target's newest repository report: find the day, download every file, cut to top N.

The same reading as the other 1-day reports (:mod:`exporter.github.reports`): a day is served only
whole, every file read to the end, or the poll fails and the previous snapshot stays published.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, timedelta

from exporter.config import Target
from exporter.errors import GitHubError, MalformedResponseError
from exporter.github.reports import ReportClient, ReportLinks, is_final, parse_line, read_report, report_links
from exporter.sources.repositories.config import SECTION, RepositoriesConfig
from exporter.sources.repositories.model import RepoDay, parse_repo_record
from exporter.sources.repositories.snapshot import RepositoriesSnapshot, top_repositories

ENDPOINT_DOWNLOAD = "repository report download"
#: A day's report appears a day or more after it: a poll usually asks for today's, then yesterday's.
USUAL_DAYS_BACK = 2
PATHS = {
    "org": "/orgs/{name}/copilot/metrics/reports/repos-1-day",
    "enterprise": "/enterprises/{name}/copilot/metrics/reports/repos-1-day",
}


def requests_per_poll(days_back: int = USUAL_DAYS_BACK) -> int:
    """API requests of one poll of a target: one report request per day walked back (downloads go to
    another host and are not API requests)."""
    return days_back


class NoRepositoryReportError(GitHubError):
    reason = "no_report"
    hint = (
        "GitHub has no Copilot repository report for the recent days: check that the Copilot usage "
        "metrics policy is enabled and that the token may view Copilot metrics"
    )


def endpoint(target: Target) -> str:
    return PATHS[target.kind].replace("{name}", "{" + target.kind + "}")


class _Reader:
    """Every record of one report, checked against the day asked for and the record limit."""

    def __init__(self, day: date, max_records: int) -> None:
        self.day = day
        self.max_records = max_records
        self.records: dict[int, RepoDay] = {}
        self.lines = 0

    def feed(self, line: bytes) -> None:
        self.lines += 1
        where = f"repository report line {self.lines}"
        raw = parse_line(line, where)
        if raw is None:
            return
        if self.lines > self.max_records:
            raise MalformedResponseError(
                f"repository report: more than {SECTION}.max_records_per_report "
                f"({self.max_records:,}) records"
            )
        record = parse_repo_record(raw, where)
        if record.day != self.day:
            raise MalformedResponseError(f"{where}: a record of {record.day} in the report of {self.day}")
        # A repository listed twice (in two files, say) is one repository: the last record wins.
        self.records[record.repo_id] = record


async def _links(
    client: ReportClient, target: Target, day: date, settings: RepositoriesConfig
) -> ReportLinks | None:
    return await report_links(
        client,
        PATHS[target.kind].format(name=target.name),
        endpoint(target),
        day,
        max_files=settings.max_files_per_report,
        max_files_key=f"{SECTION}.max_files_per_report",
    )


async def fetch_day(
    client: ReportClient, target: Target, day: date, settings: RepositoriesConfig, *, today: date
) -> RepositoriesSnapshot | None:
    """The snapshot of ``target``'s repository report of ``day``; None when GitHub has none."""
    links = await _links(client, target, day, settings)
    return None if links is None else await _read(client, target, links, settings, today)


async def fetch_repositories(
    client: ReportClient,
    target: Target,
    settings: RepositoriesConfig,
    *,
    today: date,
    known: RepositoriesSnapshot | None = None,
) -> RepositoriesSnapshot:
    """The snapshot of ``target``'s newest reported day, at most ``max_days_back`` days before ``today``.

    ``known``, the snapshot being served, is kept when its day was final, or when GitHub lists the same
    files again (nothing to download; the day may have become final since).
    """
    for back in range(settings.max_days_back):
        day = today - timedelta(days=back)
        links = await _links(client, target, day, settings)
        if links is None:
            continue
        same = known is not None and (known.target, known.day) == (target, day)
        if known is not None and same and known.final:
            return known
        if known is not None and same and known.source_digest == _digest(links):
            return dataclasses.replace(known, final=is_final(day, today))
        return await _read(client, target, links, settings, today)
    raise NoRepositoryReportError(
        f"{target.kind} {target.name}: no repository report in the {settings.max_days_back} days to {today}"
    )


async def _read(
    client: ReportClient, target: Target, links: ReportLinks, settings: RepositoriesConfig, today: date
) -> RepositoriesSnapshot:
    reader = _Reader(links.day, settings.max_records_per_report)
    await read_report(client, links, ENDPOINT_DOWNLOAD, reader.feed, settings.max_download_bytes)
    return RepositoriesSnapshot(
        target=target,
        day=links.day,
        final=is_final(links.day, today),
        reported=len(reader.records),
        repositories=top_repositories(reader.records.values(), settings.top_n),
        source_digest=_digest(links),
    )


def _digest(links: ReportLinks) -> str:
    return hashlib.sha256("\n".join(links.links).encode()).hexdigest()
