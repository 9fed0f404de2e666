"""The moments date-sensitive tests run at: fixed ones where the calendar has edges, and today.

A test that takes ``moment`` (tests/conftest.py) runs once at each; its fakes are drawn at that moment
and the exporter's parts under test are given a clock standing at it, so a failure names the date.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

MOMENTS = {
    "mid-month": datetime(2026, 7, 15, 10, 0, tzinfo=UTC),
    # The first hours of a month: the 1st is not billed yet, the month to date is empty.
    "month-start": datetime(2026, 9, 1, 3, 30, tzinfo=UTC),
    "month-end": datetime(2026, 9, 30, 22, 0, tzinfo=UTC),
    "leap-day": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    # The year turns between the report day and today.
    "new-year": datetime(2027, 1, 1, 9, 0, tzinfo=UTC),
    # Minutes after midnight UTC: yesterday's report is not out yet, the one before is the newest.
    "after-midnight": datetime(2026, 11, 12, 0, 10, tzinfo=UTC),
}


def today() -> datetime:
    """The real clock, for the one run of each date-sensitive test at the date it happens to be."""
    return datetime.fromtimestamp(int(time.time()), UTC)
