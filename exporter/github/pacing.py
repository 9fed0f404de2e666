"""Pacing of requests for GitHub's secondary rate limits, and what a number of requests costs in time."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

Sleep = Callable[[float], Awaitable[None]]

#: Whose turn a request waits for: set by the poller for each poll (one share per source and target)
#: and inherited by the tasks the poll starts. Requests made outside any poll share the default.
_share: ContextVar[str] = ContextVar("exporter_pacing_share", default="")


@contextmanager
def pacing_share(name: str) -> Iterator[None]:
    """Queue the requests made within (and by the tasks started within) as the share ``name``."""
    token = _share.set(name)
    try:
        yield
    finally:
        _share.reset(token)


class RequestPacer:
    """Bounds the requests in flight and spaces their starts, for GitHub's secondary rate limits.

    GitHub allows at most 100 concurrent requests and 900 points (GETs) per minute per endpoint, and
    asks integrators to prefer few concurrent requests; one pacer is shared by every target, and its
    bounds hold for the token (and the machine) as a whole.

    Starts are released in batches of ``concurrency`` every ``concurrency`` request intervals rather
    than one per interval: the same requests per minute and the same bound on requests in flight, but
    the event loop and the connection pool wake once per batch instead of once per request, and on an
    otherwise idle process a wake-up costs about as much CPU as a request answered 304.

    Within those bounds no poll waits behind another: waiting requests are queued by their
    :func:`pacing_share` and each start goes to the next share in turn, so the few requests of a usage
    or billing poll go out within a batch or two while a seat poll has a thousand pages queued.
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
        self._batch_spacing = batch_spacing(concurrency, per_minute)
        self._batch_at = -math.inf
        self._in_batch = 0
        self._in_flight = 0
        # The waiters of each share, the shares in turn order: one served goes to the back.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        # Wakes the waiters when the next batch may start; at most one at a time.
        self._timer: asyncio.Task[None] | None = None
        self._clock = clock
        self._sleep = sleep

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        grant = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(_share.get(), deque()).append(grant)
        self._dispatch()
        try:
            await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():
                self._release()  # started as it was cancelled: the start goes to the next waiter
            raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        self._in_flight -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Start as many waiters as the bounds allow now, and wake up for the next batch if need be."""
        while self._in_flight < self.concurrency and self._has_waiters():
            now = self._clock()
            if now >= self._batch_at + self._batch_spacing:
                # Idle for a whole batch spacing or more: a new batch may start at once.
                self._batch_at, self._in_batch = now, 0
            elif self._in_batch >= self.concurrency:
                self._wake_in(self._batch_at + self._batch_spacing - now)
                return
            self._in_batch += 1
            self._in_flight += 1
            self._next_waiter().set_result(None)

    def _has_waiters(self) -> bool:
        """Whether any share has a waiter left; the cancelled ones at the heads are dropped."""
        for share in list(self._waiting):
            queue = self._waiting[share]
            while queue and queue[0].done():
                queue.popleft()
            if queue:
                return True
            del self._waiting[share]
        return False

    def _next_waiter(self) -> asyncio.Future[None]:
        """The first waiter of the share whose turn it is (:meth:`_has_waiters` found one there)."""
        share = next(iter(self._waiting))
        queue = self._waiting.pop(share)
        grant = queue.popleft()
        if queue:
            self._waiting[share] = queue
        return grant

    def _wake_in(self, seconds: float) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._wake(seconds))

    async def _wake(self, seconds: float) -> None:
        try:
            await self._sleep(seconds)
        finally:
            self._timer = None
        self._dispatch()


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
