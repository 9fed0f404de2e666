"""The day walk's overlap: the next day is read while a day is written, and what a day read ahead
found (a failure) is saved only with that day, never with the day written before it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.backfill.openmetrics import SpillWriter
from exporter.backfill.state import STATE_FILE, RunState
from exporter.backfill.walk import DayWalk, Plan, Reading
from exporter.config import Target
from exporter.errors import ServerError
from exporter.sources.spec import BackfillPart

DAYS = [date(2026, 5, 1) + timedelta(days=n) for n in range(3)]
TARGET = Target("org", "acme")


class _Stats:
    def requests(self) -> dict[str, int]:
        return {}


class _Client:
    stats = _Stats()


class _Progress:
    def day_done(self, day: date, requests: int) -> None:
        """Nothing to show."""


def test_the_next_day_is_read_while_a_day_is_written_and_its_failure_is_saved_with_it(
    tmp_path: Path,
) -> None:
    second_day_asked = threading.Event()
    saved: list[dict[str, Any]] = []

    async def read_day(target: Target, day: date) -> int:
        if day == DAYS[1]:
            second_day_asked.set()
            raise ServerError("the day's report failed")
        return day.day

    def families(snapshots: Sequence[Any]) -> Iterable[Metric]:
        (day,) = snapshots
        if day == DAYS[0].day:
            # Written in a thread of its own: the walk is reading the next day meanwhile.
            assert second_day_asked.wait(10), "the next day was not read while this one was written"
        family = GaugeMetricFamily("github_copilot_test", "A test family.")
        family.add_metric([], day)
        return [family]

    part = BackfillPart(
        reader=lambda wiring: read_day,
        families=lambda wiring, snapshots: families(snapshots),
        oldest_day=lambda today: today,
        too_old=lambda first, oldest: "",
    )

    class Saving(RunState):
        def save(self, directory: Path) -> None:
            super().save(directory)
            saved.append(json.loads((directory / STATE_FILE).read_text()))

    async def no_wait(seconds: float) -> None:
        return None

    state = Saving(options={}, next_day=DAYS[0].isoformat())
    # The walk reads the configuration only for a refusal's "not its own", the client for its counts.
    config: Any = None
    client: Any = _Client()
    plan = Plan(config, (TARGET,), (Reading("test", part, read_day, families),), per_user=False)
    walk = DayWalk(client, plan, SpillWriter(tmp_path), state, tmp_path, progress=_Progress(), sleep=no_wait)
    asyncio.run(walk.run(DAYS))

    assert [s["next_day"] for s in saved] == [
        d.isoformat() for d in [*DAYS[1:], DAYS[-1] + timedelta(days=1)]
    ]
    assert saved[0]["failures"] == []  # the second day's failure is not the first day's
    assert [f["day"] for f in saved[1]["failures"]] == [DAYS[1].isoformat()]
    assert state.samples == 2
