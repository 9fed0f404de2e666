"""Pacing of requests for GitHub's secondary rate limits, and what a number of requests costs in time."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Sleep = Callable[[float], Awaitable[None]]


class RequestPacer:
    """Bounds the requests in flight and spaces their starts, for GitHub's secondary rate limits.

    GitHub allows at most 100 concurrent requests and 900 points (GETs) per minute per endpoint, and
    asks integrators to prefer few concurrent requests; one pacer is shared by every target.

    Starts are released in batches of ``concurrency`` every ``concurrency`` request intervals rather
    than one per interval: the same requests per minute and the same bound on requests in flight, but
    the event loop and the connection pool wake once per batch instead of once per request, and on an
    otherwise idle process a wake-up costs about as much CPU as a request answered 304.
    """

    def __init__(
        self,
        concurrency: int = 4,
        per_minute: float = 600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.concurrency = concurrency
        self.per_minute = per_minute
        self._semaphore = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._batch_spacing = batch_spacing(concurrency, per_minute)
        self._batch_at = -math.inf
        self._in_batch = 0
        self._clock = clock
        self._sleep = sleep

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            async with self._lock:
                now = self._clock()
                if now >= self._batch_at + self._batch_spacing:
                    # Idle for a whole batch spacing or more: a new batch may start at once.
                    self._batch_at, self._in_batch = now, 0
                elif self._in_batch >= self.concurrency:
                    self._batch_at, self._in_batch = self._batch_at + self._batch_spacing, 0
                self._in_batch += 1
                wait = self._batch_at - now
            if wait > 0:
                await self._sleep(wait)
            yield


def batch_spacing(concurrency: int, per_minute: float) -> float:
    """Seconds between the starts of two batches of ``concurrency`` requests; 0 without pacing."""
    return concurrency * 60.0 / per_minute if per_minute > 0 else 0.0


def paced_seconds(requests: int, concurrency: int, per_minute: float) -> float:
    """How long ``requests`` hold the pacer: the batches they fill, each :func:`batch_spacing` long.

    A poll cannot take less than this minus one batch spacing (its last batch starts, it does not
    wait out the spacing), and polls started closer together than this run back to back.
    """
    if requests <= 0:
        return 0.0
    return math.ceil(requests / concurrency) * batch_spacing(concurrency, per_minute)
