"""The day walk: each day of the range, each target, read with the live sources' own code and written.

A day is read whole before anything of it is written, and the state is saved after it, so an
interruption loses at most the day being read. A request that fails is retried by the client; a
target's day that still fails is tried again a few times here and then recorded as failed, never
dropped in silence. Refusals that will not change from one day to the next (no permission, no
billing of the target's own) stop that source for that target instead of failing every day anew.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain
from pathlib import Path
from typing import Protocol, TypeVar

from prometheus_client.metrics_core import Metric

from exporter.backfill.days import sample_time
from exporter.backfill.openmetrics import SpillWriter
from exporter.backfill.state import Failure, RunState
from exporter.config import Target
from exporter.errors import (
    AuthenticationError,
    CopilotUnavailableError,
    GitHubError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from exporter.github.client import GitHubClient
from exporter.github.retrying import Retry, RetryPolicy, retries
from exporter.logs import redact
from exporter.sources.billing.fetch import fetch_billing_day
from exporter.sources.billing.metrics import billing_families
from exporter.sources.billing.snapshot import BillingSnapshot
from exporter.sources.usage.fetch import fetch_day
from exporter.sources.usage.metrics import usage_families
from exporter.sources.usage.snapshot import UsageSnapshot

T = TypeVar("T")
log = logging.getLogger("exporter.backfill")
#: Tries of one target's day, each after the client's own retries of every request, 1s then 2s apart;
#: rate-limit pauses longer than the client waits out itself are waited here, at most 12 of an hour.
DAY_RETRY = RetryPolicy(attempts=3, backoff=1.0, jitter=0.0, rate_limit_pauses=12, max_rate_limit_wait=3600.0)
#: Refusals that hold for every day: the source stops for the target.
ACCESS_ERRORS = (AuthenticationError, PermissionDeniedError, CopilotUnavailableError)


class Progress(Protocol):
    def day_done(self, day: date, requests: int) -> None: ...


@dataclass(frozen=True)
class Plan:
    """What to read: the configuration's targets and sources, and how the usage families are cut."""

    targets: tuple[Target, ...]
    usage: bool
    billing: bool
    #: billing.enabled auto: a 404 means the target has no billing of its own (not a failure).
    billing_auto: bool
    user_label: Callable[[str], str] | None
    max_user_series: int
    top_n: int
    max_file_bytes: int
    max_files: int
    max_records: int


class _Stopped(Exception):
    def __init__(self, cause: GitHubError, *, failed: bool) -> None:
        self.cause = cause
        self.failed = failed


class DayWalk:
    def __init__(
        self,
        client: GitHubClient,
        billing_client: GitHubClient,
        plan: Plan,
        writer: SpillWriter,
        state: RunState,
        workdir: Path,
        *,
        today: date,
        progress: Progress,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.billing_client = billing_client
        self.plan = plan
        self.writer = writer
        self.state = state
        self.workdir = workdir
        self.today = today
        self.progress = progress
        self._sleep = sleep
        #: (source, target) pairs a lasting refusal stopped.
        self._stopped: set[tuple[str, Target]] = set()

    def requests(self) -> int:
        """Requests sent so far (the billing client shares the statistics unless it has its own)."""
        total = sum(self.client.stats.requests().values())
        if self.billing_client.stats is not self.client.stats:
            total += sum(self.billing_client.stats.requests().values())
        return total

    async def run(self, days: Sequence[date]) -> None:
        for day in days:
            if day.isoformat() < self.state.next_day:
                continue
            usage = [s for s in [await self._usage(day, t) for t in self._active("usage")] if s is not None]
            billing = [
                s for s in [await self._billing(day, t) for t in self._active("billing")] if s is not None
            ]
            families: Iterable[Metric] = chain(
                usage_families(
                    usage, user_label=self.plan.user_label, max_user_series=self.plan.max_user_series
                )
                if usage
                else (),
                billing_families(billing) if billing else (),
            )
            self.state.samples += self.writer.write(families, sample_time(day))
            self.state.sizes = self.writer.sizes()
            self.state.next_day = (day + timedelta(days=1)).isoformat()
            self.state.days_done += 1
            self.state.save(self.workdir)
            self.progress.day_done(day, self.requests())

    def _active(self, source: str) -> list[Target]:
        wanted = self.plan.usage if source == "usage" else self.plan.billing
        return [t for t in self.plan.targets if wanted and (source, t) not in self._stopped]

    async def _usage(self, day: date, target: Target) -> UsageSnapshot | None:
        plan = self.plan

        def fetch() -> Awaitable[UsageSnapshot | None]:
            return fetch_day(
                self.client,
                target,
                day,
                today=self.today,
                top_n=plan.top_n,
                max_file_bytes=plan.max_file_bytes,
                max_files=plan.max_files,
                max_records=plan.max_records,
            )

        found = await self._attempt(day, target, "usage", fetch)
        if found is _MISSING:
            return None
        if found is None:
            self.state.no_report += 1
            log.info("no usage report for the day", extra={"day": day.isoformat(), "target": str(target)})
            return None
        assert isinstance(found, UsageSnapshot)
        return found

    async def _billing(self, day: date, target: Target) -> BillingSnapshot | None:
        def fetch() -> Awaitable[BillingSnapshot]:
            return fetch_billing_day(self.billing_client, target, day, taken_at=sample_time(day))

        found = await self._attempt(day, target, "billing", fetch)
        return found if isinstance(found, BillingSnapshot) else None

    async def _attempt(
        self, day: date, target: Target, source: str, fetch: Callable[[], Awaitable[T]]
    ) -> T | object:
        """``fetch()``'s value, or :data:`_MISSING` once the day has failed (and is recorded so)."""

        def on_retry(retry: Retry) -> None:
            where = {"day": day.isoformat(), "target": str(target)}
            if retry.pause:
                log.warning(
                    "rate limited by GitHub; waiting", extra={**where, "wait_seconds": round(retry.delay)}
                )
            else:
                assert isinstance(retry.error, GitHubError)
                log.warning(
                    "day failed; trying again",
                    extra={**where, "source": source, "reason": retry.error.reason,
                           "attempt": retry.failures},
                )  # fmt: skip

        tries = retries(
            DAY_RETRY,
            retryable=lambda exc: isinstance(exc, GitHubError) and not self._lasting(source, exc),
            # At least a second: a limit said to be over already is not over on GitHub's clock yet.
            pause=lambda exc: max(1.0, exc.retry_after) if isinstance(exc, RateLimitedError) else None,
            on_retry=on_retry,
            sleep=self._sleep,
        )
        try:
            async for attempt in tries:
                with attempt:
                    return await fetch()
        except GitHubError as exc:
            if self._lasting(source, exc):
                return self._stop(day, target, source, exc)
            return self._failed(day, target, source, exc)
        raise AssertionError("unreachable: the last try returns or raises")

    def _lasting(self, source: str, exc: GitHubError) -> bool:
        return isinstance(exc, ACCESS_ERRORS) or (source == "billing" and isinstance(exc, NotFoundError))

    def _failed(self, day: date, target: Target, source: str, exc: GitHubError) -> object:
        message = redact(" ".join(str(exc).split()))
        self.state.failures.append(Failure(day.isoformat(), str(target), source, f"{exc.reason}: {message}"))
        log.error(
            "day failed",
            extra={"day": day.isoformat(), "target": str(target), "source": source, "reason": exc.reason,
                   "error": message},
        )  # fmt: skip
        return _MISSING

    def _stop(self, day: date, target: Target, source: str, exc: GitHubError) -> object:
        self._stopped.add((source, target))
        if source == "billing" and self.plan.billing_auto and type(exc) is NotFoundError:
            log.info(
                "no billing of its own (billed through its enterprise); billing left out",
                extra={"target": str(target)},
            )
            return _MISSING
        message = redact(" ".join(str(exc).split()))
        reason = f"{exc.reason}: {message} (every later day of the {source} source left out)"
        self.state.failures.append(Failure(day.isoformat(), str(target), source, reason))
        log.error(
            "refused; the source stops for this target",
            extra={"day": day.isoformat(), "target": str(target), "source": source, "reason": exc.reason,
                   "error": message, "hint": getattr(exc, "hint", "")},
        )  # fmt: skip
        return _MISSING


_MISSING = object()
