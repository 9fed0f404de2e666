"""Which days a backfill reads when ``--from`` is left out or ``--days`` is given: pure date logic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from exporter.backfill.days import DateRangeError, check_range, first_day, newest_final_day
from tests.backfill_support import parts

TODAY = date(2027, 3, 1)  # any day: the rules are relative to the day given


def test_without_from_a_backfill_starts_at_the_oldest_usage_report_github_keeps() -> None:
    first = first_day(None, None, None, TODAY, parts(usage=True, billing=True))
    assert first == TODAY - timedelta(days=365)
    days = check_range(first, None, TODAY, parts(usage=True, billing=True))
    assert (days.first, days.last) == (first, newest_final_day(TODAY))


def test_billing_alone_goes_back_24_months() -> None:
    assert first_day(None, None, None, TODAY, parts(usage=False, billing=True)) == date(2025, 3, 1)


def test_days_counts_back_from_to_or_the_newest_final_day() -> None:
    final = newest_final_day(TODAY)
    assert first_day(None, None, 30, TODAY, parts(usage=True, billing=True)) == final - timedelta(days=29)
    to = TODAY - timedelta(days=100)
    assert first_day(None, to, 1, TODAY, parts(usage=True, billing=True)) == to


def test_days_beyond_retention_start_at_the_oldest_day_kept() -> None:
    assert first_day(None, None, 5000, TODAY, parts(usage=True, billing=True)) == TODAY - timedelta(days=365)


def test_from_wins_and_zero_days_is_refused() -> None:
    assert first_day(date(2027, 1, 2), None, None, TODAY, parts(usage=True, billing=True)) == date(2027, 1, 2)
    with pytest.raises(DateRangeError, match="at least 1"):
        first_day(None, None, 0, TODAY, parts(usage=True, billing=True))
