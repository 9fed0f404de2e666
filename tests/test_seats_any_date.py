"""The seat figures that depend on the time of a poll or a scrape, at each moment of tests/clock.py.

The exporter's wiring runs in-process with its clock standing at the moment, against a fake whose
seats were last active at fixed distances before it (just inside and just outside each activity
window, a year back across a leap day or a new year): the idle seconds, the window counts and the seat
report's idle days and dates must come out the same whatever the date.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from exporter.web.server import Exporter
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.fake_model import FakeOrg, FakeSeat
from tests.inprocess import ManualClock, make_config, metrics, run_scenario, scrape
from tests.support import TOKEN, ServedFake, serve_fake, total, value
from tests.test_report import iso, read_csv

DAY = 86400
#: How long before the moment each seat was last active; None: never used.
IDLE = {
    "half-hour": timedelta(minutes=30),
    "inside-1d": timedelta(hours=23, minutes=59),
    "outside-1d": timedelta(days=1, minutes=1),
    "inside-7d": timedelta(days=6, hours=23),
    "outside-7d": timedelta(days=7, seconds=1),
    "inside-30d": timedelta(days=29, hours=23),
    "outside-30d": timedelta(days=30, hours=1),
    "idle-45d": timedelta(days=45),
    "outside-90d": timedelta(days=90, minutes=5),
    "a-year": timedelta(days=366),
    "never": None,
}
ASSIGNED = timedelta(days=400)
WINDOWS = {"1d": 1, "7d": 7, "14d": 14, "30d": 30, "90d": 90}


def seats_at(moment: datetime) -> list[FakeSeat]:
    seats = []
    for i, (login, idle) in enumerate(IDLE.items()):
        last = None if idle is None else moment - idle
        seats.append(
            FakeSeat(
                login,
                100 + i,
                moment - ASSIGNED,
                org="acme",
                plan_type="business",
                last_activity_at=last,
                last_activity_editor="vscode/1.95.0/copilot/1.250.0" if last else None,
                last_authenticated_at=last,
            )
        )
    return seats


@pytest.fixture
def fake(moment: datetime) -> Iterator[ServedFake]:
    org = FakeOrg(login="acme", id=1, seats=seats_at(moment), plan_type="business")
    with serve_fake(FakeGitHub([org], [], token=TOKEN)) as served:
        yield served


def test_idle_times_windows_and_the_report_at_any_date(fake: ServedFake, moment: datetime) -> None:
    config = make_config({"org": ["acme"], "api_url": fake.url}, {"billing": {"enabled": "false"}})
    found: dict[str, object] = {}

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        found["metrics"] = await metrics(exporter)
        found["report"] = (await scrape(exporter, "/seats.csv?idle_days=30")).text

    run_scenario(fake.url, config, scenario, clock=ManualClock(moment.timestamp()))
    parsed = found["metrics"]
    assert isinstance(parsed, dict)
    idle_for = {login: idle or ASSIGNED for login, idle in IDLE.items()}
    for login, idle in idle_for.items():
        got = value(parsed, "github_copilot_seat_idle_seconds", org="acme", user=login)
        assert got == idle.total_seconds(), login
    for window, days in WINDOWS.items():
        expected = sum(1 for idle in IDLE.values() if idle is not None and idle <= timedelta(days=days))
        assert total(parsed, "github_copilot_seats_active", org="acme", window=window) == expected, window
        idle_cost = total(parsed, "github_copilot_idle_seats_monthly_cost_usd", org="acme", window=window)
        assert idle_cost == pytest.approx((len(IDLE) - expected) * 19.0), window

    report = found["report"]
    assert isinstance(report, str)
    rows = read_csv(report)
    longer = {login: idle for login, idle in idle_for.items() if idle > timedelta(days=30)}
    assert [r["login"] for r in rows] == sorted(longer, key=lambda login: -longer[login])
    for row in rows:
        idle = longer[row["login"]]
        assert row["report_time"] == iso(moment)
        assert row["idle_days"] == str(math.floor(idle.total_seconds() / DAY)), row
        last = IDLE[row["login"]]
        assert row["last_activity_at"] == ("" if last is None else iso(moment - last)), row
        assert row["created_at"] == iso(moment - ASSIGNED)
