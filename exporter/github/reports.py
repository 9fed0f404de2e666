"""GitHub's 1-day report endpoints, shared by every source that reads one: the links answer, its
NDJSON lines, and reading every file of a report to the end.

The endpoints answer ``{"download_links": [...], "report_day": "YYYY-MM-DD"}`` (or 204 for a day
without a report); the links lead to newline-delimited JSON, one record per line, on another host
that the client streams from without the API token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import msgspec

from exporter.errors import MalformedResponseError, NotFoundError
from exporter.github.answers import json_count, json_list, json_number, json_object

T = TypeVar("T")
#: GitHub keeps the 1-day usage-metrics reports (the usage and the repository reports) for a year.
RETENTION_DAYS = 365
#: GitHub: a day "typically finalizes within three full UTC days"; its numbers may change until then.
FINAL_AFTER_FULL_DAYS = 3
#: The counts of a report record's ``pull_requests`` object (the usage and the repository reports').
PULL_REQUEST_COUNTS = (
    "total_created",
    "total_reviewed",
    "total_merged",
    "total_suggestions",
    "total_applied_suggestions",
    "total_created_by_copilot",
    "total_reviewed_by_copilot",
    "total_merged_created_by_copilot",
    "total_merged_reviewed_by_copilot",
    "total_copilot_suggestions",
    "total_copilot_applied_suggestions",
)
PULL_REQUEST_MEDIANS = (
    "median_minutes_to_merge",
    "median_minutes_to_merge_copilot_authored",
    "median_minutes_to_merge_copilot_reviewed",
)


@dataclass(frozen=True, slots=True)
class ReportLinks:
    """One 1-day report endpoint's answer: where its NDJSON files are."""

    day: date
    links: tuple[str, ...]


class ReportClient(Protocol):
    """What reading a report needs of :class:`exporter.github.client.GitHubClient`."""

    api_url: str

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]: ...

    def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]: ...


def report_day(raw: Mapping[str, Any], key: str, where: str) -> date:
    value = raw.get(key)
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedResponseError(
            f"{where}.{key}: expected a YYYY-MM-DD date, got {value!r:.40}"
        ) from None


def is_final(day: date, today: date) -> bool:
    """Whether ``day``'s report can no longer change: three full UTC days have passed since it ended."""
    return today >= day + timedelta(days=1 + FINAL_AFTER_FULL_DAYS)


def pull_requests(raw: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """A record's ``pull_requests`` object; empty when absent or null."""
    prs = raw.get("pull_requests")
    return json_object(prs, f"{where}.pull_requests") if prs is not None else {}


def pull_request_counts(prs: Mapping[str, Any], where: str) -> tuple[int, ...]:
    """:data:`PULL_REQUEST_COUNTS`' values, in that order: an absent count is zero, a present one a number."""
    return tuple(json_count(prs, key, where) for key in PULL_REQUEST_COUNTS)


def pull_request_medians(prs: Mapping[str, Any], where: str) -> dict[str, float]:
    """:data:`PULL_REQUEST_MEDIANS` -> minutes, only those present and not null: a median of no merged
    pull request is no series at all, never a zero."""
    return {
        key: float(json_number(prs[key], where, key))
        for key in PULL_REQUEST_MEDIANS
        if prs.get(key) is not None
    }


def parse_report_links(body: Any) -> ReportLinks | None:
    """A 1-day report endpoint's body; None for ``204 No Content`` (no report for that day)."""
    if body is None:
        return None
    where = "report"
    raw = json_object(body, where)
    links = json_list(raw.get("download_links"), f"{where}.download_links")
    for link in links:
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
            raise MalformedResponseError(f"{where}: a download link is not an http(s) URL")
    # A link listed twice is one file: read twice, its records would count twice.
    return ReportLinks(report_day(raw, "report_day", where), tuple(dict.fromkeys(links)))


#: msgspec's decoder into plain dicts and lists: the lines of a users report decode in about half the
#: time of json.loads (benchmarks/parse_bench.py).
_decode = msgspec.json.Decoder().decode


def parse_line(line: bytes, where: str) -> Mapping[str, Any] | None:
    """One NDJSON line as an object; None for a blank line (a trailing newline, say)."""
    if not line.strip():
        return None
    try:
        value = _decode(line)
    except (msgspec.DecodeError, ValueError, RecursionError):  # a ValueError only from msgspec 0.19 on
        # msgspec refuses some lines json.loads reads: NaN and infinities, a number beyond a float,
        # a lone surrogate escape, a byte order mark. json.loads decides those, so a line means what
        # it always meant, and a number out of range is named by its field rather than the line.
        value = _decode_slowly(line, where)
    return json_object(value, where)


def _decode_slowly(line: bytes, where: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        raise MalformedResponseError(f"{where}: not a JSON line") from None


async def report_links(
    client: ReportClient, path: str, endpoint: str, day: date, *, max_files: int, max_files_key: str
) -> ReportLinks | None:
    """The links of the report at ``path`` for ``day``; None when GitHub has none (204, or a 404).

    More than ``max_files`` distinct links fail the poll before any is downloaded; the message names
    the setting (``max_files_key``) that allows more.
    """
    url = f"{client.api_url}{path}?day={day.isoformat()}"
    try:
        links, _ = await client.get(url, endpoint, parse_report_links)
    except NotFoundError:
        return None
    if links is not None and links.day != day:
        raise MalformedResponseError(f"{endpoint}: asked for {day}, got {links.day}")
    if links is not None and len(links.links) > max_files:
        raise MalformedResponseError(
            f"{endpoint}: the {day} report lists {len(links.links)} files, more than {max_files_key} "
            f"({max_files})"
        )
    return links


async def read_report(
    client: ReportClient, links: ReportLinks, endpoint: str, feed: Callable[[bytes], None], max_bytes: int
) -> None:
    """Every line of every file of a report into ``feed``; any failure propagates and fails the poll."""
    for link in links.links:
        async for line in client.download_lines(link, endpoint, max_bytes=max_bytes):
            feed(line)
