"""The request pacer keeps GitHub's secondary limits: requests in flight and starts per minute.

Time is virtual: sleepers wait on a timer queue that the test advances only when every task is
blocked, so the schedule is exact and the test takes no real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter

import pytest

from exporter.github.pacing import RequestPacer, paced_seconds


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
