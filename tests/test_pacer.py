"""The request pacer keeps GitHub's secondary limits: requests in flight and starts per minute, for the
token as a whole, while serving the polls that share it in turn.

Time is virtual: sleepers wait on a timer queue that the test advances only when every task is
blocked, so the schedule is exact and the test takes no real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter

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

    async def run(self, *tasks: asyncio.Task[None]) -> None:
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
        """The token's bounds over every share together: in flight, batch spacing, starts per minute."""
        pacer = self.pacer
        times = [t for _, t in self.starts]
        assert self.peak <= pacer.concurrency
        batches = sorted(Counter(round(t, 9) for t in times).items())
        assert max(size for _, size in batches) <= pacer.concurrency
        spacing = pacer.concurrency * 60.0 / pacer.per_minute
        spacings = [b - a for (a, _), (b, _) in itertools.pairwise(batches)]
        assert min(spacings, default=spacing) >= spacing - 1e-9
        for first in range(len(times)):
            window = [t for t in times[first:] if t < times[first] + 60.0]
            assert len(window) <= pacer.per_minute + pacer.concurrency


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
