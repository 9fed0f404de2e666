"""The days a backfill may read: GitHub's retention, finality, and when each day's samples are stamped.

Timestamps. The live exporter serves the newest report day's figures at every scrape, and GitHub
publishes day d during day d+1; the billing source's ``period="day"`` is likewise day d throughout day
d+1. A backfilled day is therefore stamped 23:59:59 UTC of the day after it: the last moment at which
the live exporter would have shown it. Queried as ``last_over_time(x[1d])`` at 00:00 UTC of each day,
live and backfilled data then both give day d at the midnight that ends day d+1, once each
(docs/history.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from exporter.errors import ExporterError
from exporter.github.reports import FINAL_AFTER_FULL_DAYS
from exporter.sources.spec import BackfillPart

DAY_SECONDS = 86400
#: Where a run without any source to read would start: a year back, as the usage reports.
NO_SOURCE_DAYS = 365


class DateRangeError(ExporterError):
    """A date or range the backfill cannot read; the message says which and why."""


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date (UTC); ValueError otherwise."""
    if len(text) != 10:
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date.fromisoformat(text)


def newest_final_day(today: date) -> date:
    """The newest day GitHub will no longer revise: three full UTC days have passed since it ended."""
    return today - timedelta(days=1 + FINAL_AFTER_FULL_DAYS)


def sample_time(day: date) -> float:
    """Unix time at which the samples of ``day`` are stamped: 23:59:59 UTC of the following day."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return start + 2 * DAY_SECONDS - 1


@dataclass(frozen=True, slots=True)
class DayRange:
    first: date
    last: date
    #: Days of the asked range after ``last``: not final yet, left to the live exporter.
    not_final: int

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def oldest_day(today: date, parts: Sequence[BackfillPart]) -> date:
    """The oldest day every enabled source still has: where a backfill without ``--from`` starts."""
    return max((part.oldest_day(today) for part in parts), default=today - timedelta(days=NO_SOURCE_DAYS))


def first_day(
    first: date | None, last: date | None, count: int | None, today: date, parts: Sequence[BackfillPart]
) -> date:
    """``--from``; else the ``count`` days up to ``--to`` (or the newest final day); else the oldest day."""
    if first is not None:
        return first
    if count is not None:
        if count < 1:
            raise DateRangeError(f"--days must be at least 1, got {count}")
        end = newest_final_day(today) if last is None else last
        return max(end - timedelta(days=count - 1), oldest_day(today, parts))
    return oldest_day(today, parts)


def check_range(first: date, last: date | None, today: date, parts: Sequence[BackfillPart]) -> DayRange:
    """The days to read from ``first`` to ``last`` (default: the newest final day), or DateRangeError."""
    final = newest_final_day(today)
    if first > today or (last is not None and last > today):
        raise DateRangeError(f"dates in the future: today is {today} (UTC)")
    wanted = final if last is None else last
    if first > wanted:
        if last is None:
            raise DateRangeError(
                f"--from {first} is after the newest final day {final}: days within three full UTC days "
                "of today may still change and are left to the live exporter"
            )
        raise DateRangeError(f"--from {first} is after --to {last}")
    # The source that keeps the least history speaks first: moving --from past it may be enough.
    for part in sorted(parts, key=lambda p: p.oldest_day(today), reverse=True):
        if first < part.oldest_day(today):
            raise DateRangeError(part.too_old(first, part.oldest_day(today)))
    end = min(wanted, final)
    not_final = (wanted - end).days
    if first > end:
        raise DateRangeError(
            f"no final day in {first}..{wanted}: the newest final day is {final}; newer days may still "
            "change and are left to the live exporter"
        )
    return DayRange(first, end, not_final)
