"""The day walk: each day of the range, each target, read with the live sources' own code and written.

A day is read whole before anything of it is written, and the state is saved after it, so an
interruption loses at most the days being read (the next days' requests overlap a day's writing).
A request that fails is retried by the client; a target's day that still fails is tried again a few
times here and then recorded as failed, never dropped in silence. Refusals that will not change from
one day to the next (no permission, no billing of the target's own) stop that source for that target
instead of failing every day anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from prometheus_client.metrics_core import Metric

from exporter.backfill.days import sample_time
from exporter.backfill.openmetrics import SpillWriter
from exporter.backfill.state import Failure, RunState
from exporter.config import Config, Target
from exporter.errors import (
    AuthenticationError,
    CopilotUnavailableError,
    GitHubError,
    PermissionDeniedError,
    RateLimitedError,
)
from exporter.github.client import GitHubClient
from exporter.github.retrying import Retry, RetryPolicy, retries
from exporter.logs import redact
from exporter.sources.spec import BackfillPart, DayReader

T = TypeVar("T")
log = logging.getLogger("exporter.backfill")
#: Tries of one target's day, each after the client's own retries of every request, 1s then 2s apart;
#: rate-limit pauses longer than the client waits out itself are waited here, at most 12 of an hour.
DAY_RETRY = RetryPolicy(attempts=3, backoff=1.0, jitter=0.0, rate_limit_pauses=12, max_rate_limit_wait=3600.0)
#: Days read and waiting for the writer (besides the one being written and the one being read).
READ_AHEAD = 1
#: Refusals that hold for every day: the source stops for the target.
ACCESS_ERRORS = (AuthenticationError, PermissionDeniedError, CopilotUnavailableError)


class Progress(Protocol):
    def day_done(self, day: date, requests: int) -> None: ...


@dataclass(frozen=True)
class Reading:
    """One source's part in a run: its day reader and families, built from the configuration."""

    name: str
    part: BackfillPart
    read_day: DayReader
    families: Callable[[Sequence[Any]], Iterable[Metric]]


@dataclass(frozen=True)
class Plan:
    """What to read: the configuration's targets, and the enabled sources' parts in registry order."""

    config: Config
    targets: tuple[Target, ...]
    readings: tuple[Reading, ...]
    #: Whether per-user series are written (mode login or hashed, and no ``--no-per-user``).
    per_user: bool


@dataclass
class _Day:
    """What reading one day gave: the snapshots by source, and what to count once it is written."""

    snapshots: dict[str, list[Any]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    no_report: int = 0


#: A day read, or what stopped the reading.
_Ready = tuple[date, _Day] | Exception


class _Stopped(Exception):
    def __init__(self, cause: GitHubError, *, failed: bool) -> None:
        self.cause = cause
        self.failed = failed


class DayWalk:
    def __init__(
        self,
        client: GitHubClient,
        plan: Plan,
        writer: SpillWriter,
        state: RunState,
        workdir: Path,
        *,
        progress: Progress,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.plan = plan
        self.writer = writer
        self.state = state
        self.workdir = workdir
        self.progress = progress
        self._sleep = sleep
        self._parts = {reading.name: reading.part for reading in plan.readings}
        #: (source, target) pairs a lasting refusal stopped.
        self._stopped: set[tuple[str, Target]] = set()
        #: The days being read, not written yet: their failures count once the day is written.
        self._reading: dict[date, _Day] = {}

    def requests(self) -> int:
        """Requests sent so far (clients for other tokens share the statistics)."""
        return sum(self.client.stats.requests().values())

    async def run(self, days: Sequence[date]) -> None:
        """Read the days in order while the ones read are written, in order, in a thread of their own.

        The requests and downloads of the next days go on while a day is turned into families and
        written; at most :data:`READ_AHEAD` days wait, read, for the writer, so memory holds a few days
        whatever the range. The state is saved after each day written, as without the overlap.
        """
        todo = [day for day in days if day.isoformat() >= self.state.next_day]
        ready: asyncio.Queue[_Ready] = asyncio.Queue(maxsize=READ_AHEAD)
        reader = asyncio.create_task(self._read_all(todo, ready))
        try:
            for _ in todo:
                item = await ready.get()
                if isinstance(item, Exception):
                    raise item
                await asyncio.to_thread(self._write, *item)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read_all(self, days: Sequence[date], ready: asyncio.Queue[_Ready]) -> None:
        # One day after another, as the walk always read them: a refusal on one day stops the
        # source for the next before any of its requests are sent.
        try:
            for day in days:
                await ready.put((day, await self._read(day)))
        except Exception as exc:
            await ready.put(exc)

    async def _read(self, day: date) -> _Day:
        read = self._reading[day] = _Day()
        for reading in self.plan.readings:
            found = [await self._one(day, target, reading) for target in self._active(reading.name)]
            read.snapshots[reading.name] = [s for s in found if s is not None]
        return read

    def _write(self, day: date, read: _Day) -> None:
        families: list[Iterable[Metric]] = [
            reading.families(read.snapshots[reading.name])
            for reading in self.plan.readings
            if read.snapshots[reading.name]
        ]
        self.state.samples += sum(self.writer.write(f, sample_time(day)) for f in families)
        self.state.sizes = self.writer.sizes()
        self.state.next_day = (day + timedelta(days=1)).isoformat()
        self.state.days_done += 1
        self.state.failures.extend(read.failures)
        self.state.no_report += read.no_report
        del self._reading[day]
        self.state.save(self.workdir)
        self.progress.day_done(day, self.requests())

    def _active(self, source: str) -> list[Target]:
        return [t for t in self.plan.targets if (source, t) not in self._stopped]

    async def _one(self, day: date, target: Target, reading: Reading) -> Any | None:
        def fetch() -> Awaitable[Any | None]:
            return reading.read_day(target, day)

        found = await self._attempt(day, target, reading.name, fetch)
        if found is _MISSING:
            return None
        if found is None:
            if reading.part.counts_missing:
                self._reading[day].no_report += 1
            log.info(
                f"no {reading.part.report} for the day", extra={"day": day.isoformat(), "target": str(target)}
            )
        return found

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
        return isinstance(exc, ACCESS_ERRORS + self._parts[source].lasting)

    def _failed(self, day: date, target: Target, source: str, exc: GitHubError) -> object:
        message = redact(" ".join(str(exc).split()))
        failure = Failure(day.isoformat(), str(target), source, f"{exc.reason}: {message}")
        self._reading[day].failures.append(failure)
        log.error(
            "day failed",
            extra={"day": day.isoformat(), "target": str(target), "source": source, "reason": exc.reason,
                   "error": message},
        )  # fmt: skip
        return _MISSING

    def _stop(self, day: date, target: Target, source: str, exc: GitHubError) -> object:
        self._stopped.add((source, target))
        own = self._parts[source].not_its_own(self.plan.config, exc)
        if own:
            log.info(own, extra={"target": str(target)})
            return _MISSING
        message = redact(" ".join(str(exc).split()))
        reason = f"{exc.reason}: {message} (every later day of the {source} source left out)"
        self._reading[day].failures.append(Failure(day.isoformat(), str(target), source, reason))
        log.error(
            "refused; the source stops for this target",
            extra={"day": day.isoformat(), "target": str(target), "source": source, "reason": exc.reason,
                   "error": message, "hint": getattr(exc, "hint", "")},
        )  # fmt: skip
        return _MISSING


_MISSING = object()
