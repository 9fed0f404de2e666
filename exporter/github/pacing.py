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

#: How much earlier than its due time a batch or a minute counts as due: batch times add up spacings,
#: and a start must not wait (nor a wake-up repeat forever) for the rounding of their sum.
SLACK = 1e-9
MINUTE = 60.0 - SLACK


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

    A poll that asks one thing after another arrives just after a batch has started, and would wait
    for the next batch at each request: a share with nothing else in flight or waiting may instead
    start at once, ahead of the batch, as one of the next batch's starts (that batch has one fewer),
    up to ``concurrency`` times a minute per share. The token's bounds stay exact whatever the shares
    do: at most ``concurrency`` requests in flight, at most ``per_minute`` starts in any 60 seconds
    (counted over the token's last starts), and at most ``concurrency`` starts per batch, those
    granted ahead of it included (so at most ``(k + 1) * concurrency`` in any ``k`` batch spacings).
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
        # Starts granted ahead of the batch, each one of the next batch's.
        self._ahead = 0
        self._in_flight = 0
        # The token's last ``per_minute`` start times: a start is refused while the oldest of them is
        # less than a minute old. Empty without pacing.
        self._starts: deque[float] = deque(maxlen=max(1, math.floor(per_minute)) if per_minute > 0 else 0)
        # The waiters of each share, the shares in turn order: one served goes to the back.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        # Requests in flight per share, and each share's last starts ahead of the batch (one entry per
        # share ever seen: the polls of the configured targets).
        self._running: dict[str, int] = {}
        self._early: dict[str, deque[float]] = {}
        # Wakes the waiters when the next batch may start; at most one at a time.
        self._timer: asyncio.Task[None] | None = None
        self._clock = clock
        self._sleep = sleep

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        share = _share.get()
        grant = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(share, deque()).append(grant)
        self._dispatch()
        try:
            await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():
                self._release(share)  # started as it was cancelled: the start goes to the next waiter
            raise
        try:
            yield
        finally:
            self._release(share)

    def _release(self, share: str) -> None:
        self._in_flight -= 1
        running = self._running[share] - 1
        if running:
            self._running[share] = running
        else:
            del self._running[share]
        self._dispatch()

    def _dispatch(self) -> None:
        """Start as many waiters as the bounds allow now, and wake up for the next batch if need be."""
        while self._in_flight < self.concurrency and self._has_waiters():
            now = self._clock()
            # Idle for a whole batch spacing or more: a new batch may start at once, less the starts
            # already granted ahead of it.
            due = now >= self._batch_at + self._batch_spacing - SLACK
            in_batch = self._ahead if due else self._in_batch
            share = self._next_share() if in_batch < self.concurrency else self._share_ahead(now, due)
            if share is None:
                if due:  # the batch is due but the starts granted ahead of it fill it
                    self._batch_at, self._in_batch, self._ahead = now, in_batch, 0
                self._wake_in(self._batch_at + self._batch_spacing - now)
                return
            starts = self._starts
            if starts.maxlen and len(starts) == starts.maxlen and now - starts[0] < MINUTE:
                # The token's minute is full (only ever after starts ahead of their batch).
                self._wake_in(starts[0] + 60.0 - now)
                return
            if due:
                self._batch_at, self._in_batch, self._ahead = now, in_batch, 0
            if self._in_batch < self.concurrency:
                self._in_batch += 1
            else:
                self._ahead += 1
                self._early.setdefault(share, deque(maxlen=self.concurrency)).append(now)
            self._in_flight += 1
            self._running[share] = self._running.get(share, 0) + 1
            starts.append(now)
            self._start(share)

    def _share_ahead(self, now: float, due: bool) -> str | None:
        """The first share in turn that may start ahead of the batch: its one request is all it has
        waiting or in flight, another share has requests waiting (alone, a share has no one to wait
        behind), and it started fewer than ``concurrency`` ahead in the last minute."""
        if len(self._waiting) < 2 or (self._ahead >= self.concurrency and not due):
            return None
        for share, queue in self._waiting.items():
            if len(queue) != 1 or queue[0].done() or share in self._running:
                continue
            early = self._early.get(share)
            if early is None or len(early) < self.concurrency or now - early[0] >= MINUTE:
                return share
        return None

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

    def _next_share(self) -> str:
        """The share whose turn it is (:meth:`_has_waiters` found a waiter there)."""
        return next(iter(self._waiting))

    def _start(self, share: str) -> None:
        """Grant the first waiter of ``share``; the share goes to the back of the turns."""
        queue = self._waiting.pop(share)
        queue.popleft().set_result(None)
        if queue:
            self._waiting[share] = queue

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
