"""Trying again: one policy type, and tenacity's loop, for everything the exporter retries.

Three things are retried: a GitHub request (the client), one target's day of a backfill (the walk) and
a seat list that changed while it was read (the seat source). Each call says which of its failures
are worth another try and which are rate limits to sit out; how many tries, how long between them and
how long a rate limit may hold a call up is the :class:`RetryPolicy`'s. A rate-limit pause does not
use up a try: a call fails after ``attempts`` failures, or after more than ``rate_limit_pauses``
pauses, and then raises its last error as it is.

    async for attempt in retries(policy, retryable=..., on_retry=..., sleep=...):
        ...                     # code here runs before every try; what it raises is not retried
        with attempt:
            return await call()
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryCallState


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    #: Tries of a call before its last failure is raised (rate-limit pauses not counted).
    attempts: int = 3
    #: Wait before the second try, doubled before each further one, up to max_backoff.
    backoff: float = 1.0
    max_backoff: float = 60.0
    #: Each wait is scaled by a random factor within 1 +- jitter, so that calls failing together do
    #: not all come back together.
    jitter: float = 0.5
    #: Rate-limit pauses one call sits out; the next rate limit fails it.
    rate_limit_pauses: int = 4
    #: Longest wait for a rate limit: the client fails a request that would wait longer (inside a
    #: poll), a pause of :func:`retries` waits at most this long.
    max_rate_limit_wait: float = 900.0
    #: Shortest wait after a secondary rate limit without Retry-After, doubled on each repeat.
    secondary_backoff: float = 60.0
    #: Longest wait after repeated secondary rate limits.
    max_secondary_backoff: float = 900.0

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure of a call (1 for the first)."""
        base = min(self.max_backoff, self.backoff * 2.0 ** (failures - 1))
        return base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter) if self.jitter else base


@dataclass(frozen=True, slots=True)
class Retry:
    """What :func:`retries` tells ``on_retry`` before it waits for the next try."""

    error: BaseException
    #: Failures of the call so far (rate-limit pauses not counted); 0 while only pausing.
    failures: int
    #: Whether ``error`` is a rate limit being sat out rather than a failure.
    pause: bool
    #: Seconds to wait before the next try.
    delay: float


def _no_pause(error: BaseException) -> float | None:
    return None


def _nothing(retry: Retry) -> None:
    return None


def retries(
    policy: RetryPolicy,
    *,
    retryable: Callable[[BaseException], bool],
    pause: Callable[[BaseException], float | None] = _no_pause,
    on_retry: Callable[[Retry], None] = _nothing,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncRetrying:
    """The tries of one call under ``policy``, as tenacity's ``AsyncRetrying`` (one per call).

    ``retryable(error)``: whether a failure is worth another try; anything else is raised at once.
    ``pause(error)``: for a retryable error that is a rate limit, the seconds to wait (capped at the
    policy's ``max_rate_limit_wait``; 0 when the caller waits before each try itself), else None.
    ``on_retry`` hears of every retry before its wait, for the log; ``sleep`` waits (a test's clock).
    """
    tally = _Tally(policy, pause)

    async def nap(seconds: float) -> None:
        if seconds > 0:  # nothing to wait for, nothing to show a test's clock
            await sleep(float(seconds))

    def before_sleep(state: RetryCallState) -> None:
        on_retry(Retry(_error(state), tally.failures, tally.paused, tally.seconds))

    return AsyncRetrying(
        sleep=nap,
        retry=lambda state: state.outcome is not None and state.outcome.failed and retryable(_error(state)),
        after=tally.count,
        wait=tally.wait,
        stop=tally.stop,
        before_sleep=before_sleep,
        reraise=True,
    )


def _error(state: RetryCallState) -> BaseException:
    """The error of the try that just failed."""
    error = state.outcome.exception() if state.outcome is not None else None
    if error is None:
        raise AssertionError("tenacity asked about a try that did not fail")
    return error


class _Tally:
    """One call's failures and pauses so far: tenacity counts tries, the policy counts these apart."""

    def __init__(self, policy: RetryPolicy, pause: Callable[[BaseException], float | None]) -> None:
        self.policy = policy
        self._pause = pause
        self.failures = 0
        self.pauses = 0
        #: Whether the last try met a rate limit, and the wait before the next.
        self.paused = False
        self.seconds = 0.0

    def count(self, state: RetryCallState) -> None:
        """After each retryable failure (tenacity's ``after``, called before ``wait`` and ``stop``)."""
        seconds = self._pause(_error(state))
        self.paused = seconds is not None
        if seconds is not None:
            self.pauses += 1
            self.seconds = min(self.policy.max_rate_limit_wait, seconds)
        else:
            self.failures += 1
            self.seconds = self.policy.delay(self.failures)

    def wait(self, state: RetryCallState) -> float:
        return self.seconds

    def stop(self, state: RetryCallState) -> bool:
        if self.paused:
            return self.pauses > self.policy.rate_limit_pauses
        return self.failures >= self.policy.attempts
