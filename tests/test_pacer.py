"""The request pacer keeps GitHub's secondary limits: requests in flight and starts per minute, for the
token as a whole, while serving the polls that share it in turn.

Time is virtual: sleepers wait on a timer queue that the test advances only when every task is
blocked, so the schedule is exact and the test takes no real time.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
from collections import Counter
from typing import Any

import pytest

from exporter.github.pacing import RequestPacer, paced_seconds, pacing_share


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def run(self, *tasks: asyncio.Task[Any]) -> None:
        while not all(task.done() for task in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._timers:
                deadline, _, future = heapq.heappop(self._timers)
                self.now = max(self.now, deadline)
                future.set_result(None)
        for task in tasks:
            task.result()


async def paced_requests(
    pacer: RequestPacer, time: VirtualTime, count: int, latency: float
) -> tuple[list[float], int]:
    starts: list[float] = []
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with pacer.slot():
            starts.append(time.now)
            in_flight += 1
            peak = max(peak, in_flight)
            await time.sleep(latency)
            in_flight -= 1

    await time.run(*(asyncio.create_task(request()) for _ in range(count)))
    return starts, peak


@pytest.mark.parametrize("latency", [0.05, 1.0])
def test_batches_of_the_concurrency_at_the_configured_rate(latency: float) -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=4, per_minute=600, clock=time, sleep=time.sleep)
        starts, peak = await paced_requests(pacer, time, 1000, latency)
        assert len(starts) == 1000
        assert peak <= 4
        batches = sorted(Counter(round(t, 9) for t in starts).items())
        assert max(size for _, size in batches) <= 4
        spacings = [b - a for (a, _), (b, _) in itertools.pairwise(batches)]
        assert min(spacings) >= 0.4 - 1e-9  # 4 x 60 s / 600
        # No minute holds more than the rate (plus one batch at the window's edge).
        for first in range(len(starts)):
            window = [t for t in starts[first:] if t < starts[first] + 60.0]
            assert len(window) <= 600 + 4
        if latency < 0.4:
            # The pacing, not the latency, sets the pace: the last batch starts on time.
            assert starts[-1] == pytest.approx(paced_seconds(1000, 4, 600) - 0.4)

    asyncio.run(main())


def test_an_idle_pacer_lets_a_request_start_at_once() -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=4, per_minute=60, clock=time, sleep=time.sleep)
        starts, _ = await paced_requests(pacer, time, 5, 0.01)
        assert starts == [0.0, 0.0, 0.0, 0.0, 4.0]  # a batch of 4 every 4 x 60 s / 60
        time.now += 100.0
        later, _ = await paced_requests(pacer, time, 1, 0.01)
        assert later == [time.now - 0.01]

    asyncio.run(main())


def test_pacing_off_only_bounds_the_requests_in_flight() -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=3, per_minute=0, clock=time, sleep=time.sleep)
        starts, peak = await paced_requests(pacer, time, 9, 1.0)
        assert peak == 3
        assert starts == [0.0] * 3 + [1.0] * 3 + [2.0] * 3

    asyncio.run(main())


class Shares:
    """Requests of several pacing shares through one pacer, each recorded as (share, start) in order."""

    def __init__(self, pacer: RequestPacer, time: VirtualTime, latency: float) -> None:
        self.pacer, self.time, self.latency = pacer, time, latency
        self.starts: list[tuple[str, float]] = []
        self.in_flight = self.peak = 0

    async def request(self, share: str, after: float = 0.0) -> None:
        if after:
            await self.time.sleep(after)
        with pacing_share(share):
            async with self.pacer.slot():
                self.starts.append((share, self.time.now))
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                await self.time.sleep(self.latency)
                self.in_flight -= 1

    def assert_within_the_limits(self) -> None:
        """The token's bounds over every share together: in flight, starts per minute, starts per batch."""
        assert_within_the_limits(self.pacer, [t for _, t in self.starts], self.peak)


def assert_within_the_limits(pacer: RequestPacer, times: list[float], peak: int) -> None:
    """At most ``concurrency`` in flight; at most ``per_minute`` starts in any 60 s, exactly; and at most
    ``(k + 1) * concurrency`` starts in any ``k`` batch spacings (a batch, and the starts granted ahead
    of the next one)."""
    assert peak <= pacer.concurrency
    times = sorted(times)
    spacing = pacer.concurrency * 60.0 / pacer.per_minute
    for first, start in enumerate(times):
        assert bisect.bisect_left(times, start + 60.0 - 1e-9) - first <= pacer.per_minute
        for k in (1, 2, 10):
            assert (
                bisect.bisect_left(times, start + k * spacing - 1e-9) - first <= (k + 1) * pacer.concurrency
            )


def test_a_poll_with_one_request_goes_ahead_of_a_thousand_queued_seat_pages() -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=4, per_minute=600, clock=time, sleep=time.sleep)
        shares = Shares(pacer, time, latency=0.05)
        seats = [asyncio.create_task(shares.request("seats")) for _ in range(1000)]
        arrival = 10.3  # mid-poll: about 100 pages started, 900 queued
        usage = asyncio.create_task(shares.request("usage", after=arrival))
        await time.run(*seats, usage)
        order = [share for share, _ in shares.starts]
        granted = order.index("usage")
        before = sum(1 for _, t in shares.starts[:granted] if t >= arrival)
        # The next batch after it arrived: behind at most one seat page, not behind 900.
        assert before <= 1
        assert shares.starts[granted][1] - arrival <= 0.4 + 1e-9
        assert len(shares.starts) == 1001
        shares.assert_within_the_limits()
        # The seat poll still takes the time its pages take at the pacing, plus the usage request's turn.
        assert max(t for _, t in shares.starts) == pytest.approx(paced_seconds(1001, 4, 600) - 0.4)

    asyncio.run(main())


@pytest.mark.parametrize("latency", [0.05, 1.0])
def test_polls_sharing_the_pacer_are_served_in_turn_within_the_token_limits(latency: float) -> None:
    sizes = {"seats": 300, "billing": 20, "usage": 5}

    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=4, per_minute=600, clock=time, sleep=time.sleep)
        shares = Shares(pacer, time, latency)
        tasks = [asyncio.create_task(shares.request(s)) for s, n in sizes.items() for _ in range(n)]
        await time.run(*tasks)
        assert Counter(share for share, _ in shares.starts) == sizes
        # The first batch of seat pages started before the other polls queued; from then on, among
        # the shares still waiting, none is more than one start ahead of another.
        first_batch = shares.starts[: pacer.concurrency]
        assert {s for s, _ in first_batch} == {"seats"}
        served: Counter[str] = Counter()
        for share, _ in shares.starts[pacer.concurrency :]:
            served[share] += 1
            left = {s: sizes[s] - served[s] - (s == "seats") * pacer.concurrency for s in sizes}
            waiting = [served[s] for s in sizes if left[s] > 0]
            assert not waiting or max(waiting) - min(waiting) <= 1, shares.starts
        # The five usage requests all start within three turns each, though 300 seat pages queued first.
        assert [i for i, (s, _) in enumerate(shares.starts) if s == "usage"][-1] < pacer.concurrency + 3 * 5
        shares.assert_within_the_limits()

    asyncio.run(main())


async def serial(shares: Shares, share: str, count: int, after: float = 0.0) -> list[float]:
    """A poll that asks one thing after another (the usage poll): each request once the last is answered."""
    waits = []
    if after:
        await shares.time.sleep(after)
    for _ in range(count):
        asked = shares.time.now
        await shares.request(share)
        waits.append(shares.time.now - shares.latency - asked)
    return waits


def test_a_poll_asking_one_thing_after_another_starts_ahead_of_the_batches() -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=4, per_minute=600, clock=time, sleep=time.sleep)
        shares = Shares(pacer, time, latency=0.01)
        seats = [asyncio.create_task(shares.request("seats")) for _ in range(300)]
        usage = asyncio.create_task(serial(shares, "usage", 6, after=5.05))
        await time.run(*seats, usage)
        waits = usage.result()
        # Its first four start at once, each one of the next batch's starts; beyond four a minute it
        # takes its turns at the batches, like any poll (the next batch may be the one it filled).
        assert waits[:4] == [0.0] * 4
        assert all(0 < wait <= 0.8 + 1e-9 for wait in waits[4:])
        assert len(shares.starts) == 306
        shares.assert_within_the_limits()
        # The starts ahead were the seat poll's: it ends as if the usage requests had queued with it.
        assert max(t for s, t in shares.starts if s == "seats") == pytest.approx(
            paced_seconds(306, 4, 600) - 0.4
        )

    asyncio.run(main())


def test_starts_ahead_never_take_the_token_past_its_minute_nor_starve_a_long_poll() -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=4, per_minute=600, clock=time, sleep=time.sleep)
        shares = Shares(pacer, time, latency=0.01)
        seats = [asyncio.create_task(shares.request("seats")) for _ in range(1200)]
        # Many short serial polls arriving while the seat poll keeps every batch full for two minutes,
        # and one serial poll asking all along.
        polls = [
            asyncio.create_task(serial(shares, f"usage {n}", 4, after=0.05 + 3.7 * n)) for n in range(30)
        ]
        chain = asyncio.create_task(serial(shares, "chain", 200, after=0.05))
        await time.run(*seats, *polls, chain)
        shares.assert_within_the_limits()
        times = sorted(t for _, t in shares.starts)
        assert len(times) == 1200 + 30 * 4 + 200
        # The seat poll is never starved: it starts in every three batch spacings from first to last.
        seat_times = [t for s, t in shares.starts if s == "seats"]
        assert max(b - a for a, b in itertools.pairwise(seat_times)) <= 1.2 + 1e-9
        # The long serial poll starts ahead at most four times a minute; the rest are turns.
        chain_times = [t for s, t in shares.starts if s == "chain"]
        batches = Counter(round(t, 9) for t in times)
        ahead = [t for t in chain_times if batches[round(t, 9)] == 1]
        for first, start in enumerate(ahead):
            assert bisect.bisect_left(ahead, start + 60.0 - 1e-9) - first <= 4

    asyncio.run(main())


def test_cancelled_waiters_give_up_their_turn_and_no_slot() -> None:
    async def main() -> None:
        time = VirtualTime()
        pacer = RequestPacer(concurrency=2, per_minute=120, clock=time, sleep=time.sleep)
        shares = Shares(pacer, time, latency=0.5)
        seats = [asyncio.create_task(shares.request("seats")) for _ in range(50)]
        for _ in range(20):
            await asyncio.sleep(0)
        # A failed page cancels the rest of the poll's pages (exporter.github.client._all_or_none).
        for task in seats[10:]:
            task.cancel()
        usage = [asyncio.create_task(shares.request("usage", after=3.0)) for _ in range(4)]
        await time.run(*seats[:10], *usage)
        assert all(task.cancelled() for task in seats[10:])
        assert [s for s, _ in shares.starts].count("seats") == 10
        assert [s for s, _ in shares.starts].count("usage") == 4
        assert shares.in_flight == 0
        shares.assert_within_the_limits()

    asyncio.run(main())


def test_a_waiter_cancelled_as_its_turn_comes_passes_the_slot_on() -> None:
    async def main() -> None:
        pacer = RequestPacer(concurrency=1, per_minute=0)
        release = asyncio.Event()
        started: list[str] = []

        async def request(name: str) -> None:
            async with pacer.slot():
                started.append(name)
                await release.wait()

        async def first() -> None:
            async with pacer.slot():
                started.append("first")
                await release.wait()
            # Leaving the slot gave it to the second request; it is cancelled before it could run.
            second.cancel()

        first_task = asyncio.create_task(first())
        second = asyncio.create_task(request("second"))
        third = asyncio.create_task(request("third"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert started == ["first"]
        release.set()
        await asyncio.wait_for(asyncio.gather(first_task, third), timeout=5)
        assert second.cancelled()
        assert started == ["first", "third"]

    asyncio.run(main())
