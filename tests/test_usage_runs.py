"""Report lines parsed in runs, here or in worker processes, give what parsing them one by one gives:
the same snapshot, and the same error at the same line whatever else fails after it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ORG, demo_usage
from exporter.demo.usage_world import UsageWorld
from exporter.errors import MalformedResponseError
from exporter.sources.usage import fetch, runs
from exporter.sources.usage.aggregate import UsageAggregator
from exporter.sources.usage.snapshot import UsageSnapshot
from exporter.workers import WorkerError, WorkerPool
from tests.test_usage_aggregate import _membership, _user
from tests.test_usage_fetch import NOW, FakeClient

TARGET = Target("org", DEMO_ORG)
DAY = NOW.date() - timedelta(days=3)
BAD = b'{"user_id": 7, "day": \n'


class CorruptingClient(FakeClient):
    """The fake's downloads, with the line at an index of every file whose URL has a key replaced."""

    def __init__(self, world: UsageWorld, corrupt: dict[str, int]) -> None:
        super().__init__(world)
        self.corrupt = corrupt

    async def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]:
        bad = next((n for key, n in self.corrupt.items() if key in url), None)
        count = 0
        async for line in super().download_lines(url, endpoint, max_bytes=max_bytes):
            yield BAD if count == bad else line
            count += 1


@pytest.fixture(scope="module")
def workers() -> Iterator[WorkerPool]:
    pool = WorkerPool(2)
    yield pool
    pool.close()


@pytest.fixture
def world() -> UsageWorld:
    world = demo_usage(NOW)
    world.rows_per_file = 9
    return world


def _day(client: FakeClient, workers: WorkerPool | None, **kw: Any) -> UsageSnapshot | None:
    return asyncio.run(fetch.fetch_day(client, TARGET, DAY, today=NOW.date(), workers=workers, **kw))


def _error(client: FakeClient, workers: WorkerPool | None, **kw: Any) -> str:
    with pytest.raises(MalformedResponseError) as failed:
        _day(client, workers, **kw)
    return str(failed.value)


def test_runs_parsed_here_give_the_snapshot_of_lines_one_by_one(
    world: UsageWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "RUN_LINES", 1)
    one_by_one = _day(FakeClient(world), None)
    assert one_by_one is not None
    assert len(one_by_one.users) > 20
    assert one_by_one.teams
    for size in (4, 7, 1000):
        monkeypatch.setattr(runs, "RUN_LINES", size)
        assert _day(FakeClient(world), None) == one_by_one


@pytest.mark.e2e
def test_runs_parsed_in_workers_give_the_same_snapshot(
    world: UsageWorld, workers: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "RUN_LINES", 1)
    one_by_one = _day(FakeClient(world), None)
    for size in (1, 5, 1000):
        monkeypatch.setattr(runs, "RUN_LINES", size)
        assert _day(FakeClient(world), workers) == one_by_one


def test_a_user_split_over_runs_adds_up_as_over_lines() -> None:
    day = date(2026, 2, 28)
    users = [_user(1, 3, 0.5, day), _user(2, 1, 0.1, day), _user(1, 4, 0.25, day), b"\n"]
    users.append(_user(1, 1, 0.2, day))
    teams = [_membership(1, 10, "a", day), _membership(2, 10, "a", day), _membership(1, 11, "b", day)]
    one_by_one = UsageAggregator(day)
    in_runs = UsageAggregator(day)
    for line in users:
        one_by_one.feed_user_line(line)
    for line in teams:
        one_by_one.feed_team_line(line)
    in_runs.feed_user_lines(users[:3])
    in_runs.feed_user_lines(users[3:])
    in_runs.feed_team_lines(teams[:1])
    in_runs.feed_team_lines(teams[1:])
    assert in_runs.finish(TARGET, final=True) == one_by_one.finish(TARGET, final=True)


@pytest.mark.parametrize("pooled", [False, pytest.param(True, marks=pytest.mark.e2e)])
@pytest.mark.parametrize("size", [1, 4, 1000])
def test_a_bad_line_fails_at_its_line_number(
    world: UsageWorld, workers: WorkerPool, monkeypatch: pytest.MonkeyPatch, pooled: bool, size: int
) -> None:
    monkeypatch.setattr(runs, "RUN_LINES", 1)
    expected = _error(CorruptingClient(world, {"/users/": 6}), None)
    assert "users report line" in expected
    monkeypatch.setattr(runs, "RUN_LINES", size)
    assert _error(CorruptingClient(world, {"/users/": 6}), workers if pooled else None) == expected


@pytest.mark.parametrize("pooled", [False, pytest.param(True, marks=pytest.mark.e2e)])
def test_a_bad_line_read_before_a_broken_download_is_the_error(
    world: UsageWorld, workers: WorkerPool, monkeypatch: pytest.MonkeyPatch, pooled: bool
) -> None:
    monkeypatch.setattr(runs, "RUN_LINES", 1000)
    client = CorruptingClient(world, {"/users/": 2})
    client.break_after = {"/users/": 5}
    assert "users report line" in _error(client, workers if pooled else None)
    client = CorruptingClient(world, {})
    client.break_after = {"/users/": 5}
    assert "connection reset" in _error(client, workers if pooled else None)
    # The user-teams report downloads while the users report's last runs parse: a bad line there
    # is still the error, not the user-teams download failing after it.
    client = CorruptingClient(world, {"/users/": 8})
    client.break_after = {"/user_teams/": 3}
    assert "users report line" in _error(client, workers if pooled else None)


@pytest.mark.parametrize("pooled", [False, pytest.param(True, marks=pytest.mark.e2e)])
def test_too_many_records_fail_before_a_bad_line_after_them(
    world: UsageWorld, workers: WorkerPool, monkeypatch: pytest.MonkeyPatch, pooled: bool
) -> None:
    monkeypatch.setattr(runs, "RUN_LINES", 4)
    message = _error(CorruptingClient(world, {"/users/": 7}), workers if pooled else None, max_records=6)
    assert message == "users report: more than usage.max_records_per_report (6) records"


def test_too_many_team_records_count_over_runs() -> None:
    aggregator = UsageAggregator(DAY, max_records=3)
    aggregator.feed_team_lines([_membership(1, 10, "a", DAY), b"\n", _membership(2, 10, "a", DAY)])
    with pytest.raises(MalformedResponseError, match=r"^user-teams report: more than .* \(3\) records$"):
        aggregator.feed_team_lines([_membership(3, 10, "a", DAY), _membership(4, 10, "a", DAY), BAD])


@pytest.mark.e2e
def test_a_worker_raises_the_error_of_the_work(workers: WorkerPool) -> None:
    async def failing() -> None:
        await workers.run(_malformed, "users report line 3: not a JSON line")

    with pytest.raises(MalformedResponseError, match="users report line 3: not a JSON line"):
        asyncio.run(failing())


@pytest.mark.e2e
def test_workers_leave_ctrl_c_to_the_backfill(workers: WorkerPool) -> None:
    async def handler() -> object:
        return await workers.run(signal.getsignal, signal.SIGINT)

    assert asyncio.run(handler()) == signal.SIG_IGN


@pytest.mark.e2e
def test_a_worker_that_dies_is_an_error_that_says_what_to_do() -> None:
    pool = WorkerPool(1)
    try:

        async def die() -> None:
            await pool.run(os._exit, 3)

        with pytest.raises(WorkerError, match="--resume"):
            asyncio.run(die())
    finally:
        pool.close()


#: A backfill in miniature: a pool whose one worker has started, then nothing but waiting.
HOLDER = """
import asyncio, os
from exporter.workers import WorkerPool

async def main():
    pool = WorkerPool(1)
    print(await pool.run(os.getpid), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.e2e
def test_workers_end_with_a_backfill_killed_outright() -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    worker = int(holder.stdout.readline())
    assert _alive(worker)
    holder.kill()
    holder.wait(30)
    # The worker notices within moments; the deadline is only there to fail rather than hang.
    deadline = time.monotonic() + 60
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _malformed(message: str) -> None:
    raise MalformedResponseError(message)
