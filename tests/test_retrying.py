"""The one retry policy (exporter.github.retrying): tries, waits, rate-limit pauses, what is raised.

Pure logic on a fake sleep that records each wait; the client, the backfill walk and the seat source
are the three callers, tested through the fake GitHub in test_faults.py and test_backfill_end_to_end.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from exporter.errors import NotFoundError, RateLimitedError, ServerError
from exporter.github.retrying import Retry, RetryPolicy, retries

EXACT = RetryPolicy(attempts=3, backoff=1.0, max_backoff=60.0, jitter=0.0, rate_limit_pauses=2)


class Calls:
    """A call that raises each of ``errors`` in turn, then returns "done"; and the waits between."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.tries = 0
        self.slept: list[float] = []
        self.heard: list[Retry] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def __call__(self) -> str:
        self.tries += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def rate_limited(seconds: float) -> RateLimitedError:
    return RateLimitedError("rate limited", retry_after=seconds, status=403)


def pause_for(exc: BaseException) -> float | None:
    return exc.retry_after if isinstance(exc, RateLimitedError) else None


def transient(exc: BaseException) -> bool:
    return isinstance(exc, ServerError | RateLimitedError)


def run(
    policy: RetryPolicy,
    calls: Calls,
    *,
    retryable: Callable[[BaseException], bool] = transient,
    pause: Callable[[BaseException], float | None] = pause_for,
    before: Callable[[], Awaitable[None]] | None = None,
) -> str:
    async def main() -> str:
        tries = retries(
            policy, retryable=retryable, pause=pause, on_retry=calls.heard.append, sleep=calls.sleep
        )
        async for attempt in tries:
            if before is not None:
                await before()
            with attempt:
                return await calls()
        raise AssertionError("unreachable")

    return asyncio.run(main())


def test_a_transient_failure_is_tried_again_after_a_wait_that_doubles() -> None:
    calls = Calls(ServerError("502"), ServerError("502"))
    assert run(EXACT, calls) == "done"
    assert calls.tries == 3
    assert calls.slept == [1.0, 2.0]
    assert [(r.failures, r.pause, r.delay) for r in calls.heard] == [(1, False, 1.0), (2, False, 2.0)]
    assert all(isinstance(r.error, ServerError) for r in calls.heard)


def test_after_the_last_try_the_last_error_itself_is_raised() -> None:
    last = ServerError("the third 502")
    calls = Calls(ServerError("502"), ServerError("502"), last, ServerError("never reached"))
    with pytest.raises(ServerError) as raised:
        run(EXACT, calls)
    assert raised.value is last
    assert calls.tries == 3
    assert calls.slept == [1.0, 2.0]  # no wait after the last try


def test_an_error_not_worth_another_try_is_raised_at_once() -> None:
    refusal = NotFoundError("404")
    calls = Calls(refusal)
    with pytest.raises(NotFoundError) as raised:
        run(EXACT, calls)
    assert raised.value is refusal
    assert (calls.tries, calls.slept, calls.heard) == (1, [], [])


def test_an_error_that_is_not_retryable_at_all_passes_through() -> None:
    calls = Calls(KeyError("a bug"))
    with pytest.raises(KeyError):
        run(EXACT, calls)
    assert calls.tries == 1


def test_the_wait_stops_doubling_at_max_backoff() -> None:
    policy = RetryPolicy(attempts=6, backoff=1.0, max_backoff=5.0, jitter=0.0)
    calls = Calls(*(ServerError("502") for _ in range(5)))
    assert run(policy, calls) == "done"
    assert calls.slept == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_scales_each_wait_within_its_bounds() -> None:
    policy = RetryPolicy(attempts=50, backoff=2.0, max_backoff=2.0, jitter=0.5)
    calls = Calls(*(ServerError("502") for _ in range(49)))
    run(policy, calls)
    assert all(1.0 <= s <= 3.0 for s in calls.slept), calls.slept
    assert len(set(calls.slept)) > 1  # 49 draws of a continuous distribution are not all equal


def test_delay_is_the_doubling_backoff_of_the_nth_failure() -> None:
    assert [EXACT.delay(n) for n in (1, 2, 3, 7, 8)] == [1.0, 2.0, 4.0, 60.0, 60.0]
    assert 0.5 <= RetryPolicy(backoff=1.0, jitter=0.5).delay(1) <= 1.5


def test_rate_limit_pauses_wait_as_asked_and_use_up_no_try() -> None:
    calls = Calls(rate_limited(30), ServerError("502"), rate_limited(7), ServerError("502"))
    assert run(EXACT, calls) == "done"
    assert calls.tries == 5
    assert calls.slept == [30.0, 1.0, 7.0, 2.0]
    assert [(r.failures, r.pause) for r in calls.heard] == [(0, True), (1, False), (1, True), (2, False)]


def test_one_pause_more_than_the_policy_allows_raises_the_rate_limit() -> None:
    last = rate_limited(5)
    calls = Calls(rate_limited(5), rate_limited(5), last)
    with pytest.raises(RateLimitedError) as raised:
        run(EXACT, calls)
    assert raised.value is last
    assert calls.slept == [5.0, 5.0]


def test_a_pause_waits_at_most_max_rate_limit_wait() -> None:
    policy = RetryPolicy(jitter=0.0, max_rate_limit_wait=600.0)
    calls = Calls(rate_limited(3600))
    run(policy, calls)
    assert calls.slept == [600.0]


def test_nothing_to_wait_for_sleeps_not_at_all() -> None:
    # The client sits out rate limits before each try itself (pause 0); a re-read waits for nothing.
    calls = Calls(rate_limited(30), ServerError("502"))
    run(
        RetryPolicy(backoff=0.0, jitter=0.0), calls, pause=lambda e: 0.0 if pause_for(e) is not None else None
    )
    assert calls.tries == 3
    assert calls.slept == []
    assert [r.delay for r in calls.heard] == [0.0, 0.0]


def test_what_runs_before_the_try_is_not_retried() -> None:
    calls = Calls()

    async def refuse() -> None:
        raise rate_limited(3600)

    with pytest.raises(RateLimitedError):
        run(EXACT, calls, before=refuse)
    assert (calls.tries, calls.slept) == (0, [])


def test_calls_under_one_policy_count_their_tries_apart() -> None:
    first, second = Calls(ServerError("502"), ServerError("502")), Calls(ServerError("502"))

    async def one(calls: Calls) -> str:
        async for attempt in retries(EXACT, retryable=transient, sleep=calls.sleep):
            with attempt:
                await asyncio.sleep(0)  # the two calls interleave
                return await calls()
        raise AssertionError("unreachable")

    async def both() -> list[str]:
        return list(await asyncio.gather(one(first), one(second)))

    assert asyncio.run(both()) == ["done", "done"]
    assert (first.tries, first.slept) == (3, [1.0, 2.0])
    assert (second.tries, second.slept) == (2, [1.0])
