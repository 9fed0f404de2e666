"""The schedules: every (source, target) pair polled on its source's interval, independently.

A slow or failing target never holds up another: each pair has its own task and its own share of the
request pacer (the few requests of a usage poll do not queue behind a seat poll's thousand pages),
and a poll that runs longer than its interval is counted (``github_copilot_poll_overruns_total``)
and, past twice the interval, cancelled as failed, so that its ``up`` goes to 0 instead of claiming
health it lacks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from exporter.config import Target, format_duration
from exporter.errors import GitHubError
from exporter.github.pacing import pacing_share
from exporter.sources.base import Source
from exporter.state import ExporterState

log = logging.getLogger("exporter.poller")

#: A poll still running after this many intervals is cancelled and counted as failed.
DEADLINE_INTERVALS = 2.0


class Poller:
    def __init__(
        self,
        sources: Sequence[Source[Any]],
        state: ExporterState,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sources = tuple(sources)
        self.state = state
        self._clock = clock

    async def run(self) -> None:
        """Poll every pair now, then each on its own schedule, until cancelled."""
        tasks = [
            asyncio.create_task(self._schedule(source, target), name=f"poll {source.name} {target}")
            for source in self.sources
            for target in source.targets
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def poll_once(self) -> None:
        """One poll of every pair, concurrently (the report command, tests, the benchmark)."""
        await asyncio.gather(
            *(self.poll_target(source, target) for source in self.sources for target in source.targets)
        )

    async def _schedule(self, source: Source[Any], target: Target) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.poll_target(source, target)
            await asyncio.sleep(max(0.0, source.interval - (loop.time() - started)))

    async def poll_target(self, source: Source[Any], target: Target) -> None:
        key = (source.name, target)
        previous = self.state.statuses[key]
        start = time.monotonic()
        deadline = DEADLINE_INTERVALS * source.interval
        try:
            # Each poll waits for its own turns at the request pacer, never behind another poll's queue.
            with pacing_share(f"{source.name} {target}"):
                async with asyncio.timeout(deadline):
                    snapshot = await source.fetch(target, previous.snapshot)
        except GitHubError as exc:
            duration = time.monotonic() - start
            self._failed(source, target, exc.reason, exc.describe(), duration, expected=exc.expected)
            return
        except TimeoutError:
            message = f"poll did not finish within {format_duration(deadline)}; cancelled"
            self._failed(source, target, "poll_timeout", message, time.monotonic() - start)
            return
        except Exception as exc:  # a bug must not stop the schedule or the last good data being served
            log.exception(
                "unexpected error while polling", extra={"source": source.name, "target": str(target)}
            )
            message = f"internal error: {type(exc).__name__}"
            self._failed(source, target, "internal_error", message, time.monotonic() - start)
            return
        duration = time.monotonic() - start
        self.state.publish(
            source.name,
            target,
            snapshot,
            taken_at=self._clock(),
            duration=duration,
            overran=duration > source.interval,
        )
        if previous.polls and not previous.up:
            log.info("target recovered", extra={"source": source.name, "target": str(target)})
        log.debug(
            "poll complete",
            extra={
                "source": source.name,
                "target": str(target),
                "data": source.describe_snapshot(snapshot),
                "duration_seconds": round(duration, 3),
            },
        )
        served = [s.snapshot for s in self.state.of_source(source.name) if s.snapshot is not None]
        # Off the event loop: laying out 100,000 per-seat series takes a second or two, during which no
        # scrape, probe or other request would otherwise be served.
        await asyncio.to_thread(source.prepare, served)

    def _failed(
        self,
        source: Source[Any],
        target: Target,
        reason: str,
        message: str,
        duration: float,
        *,
        expected: bool = False,
    ) -> None:
        previous = self.state.statuses[(source.name, target)]
        status = self.state.record_failure(
            source.name,
            target,
            reason=reason,
            message=message,
            duration=duration,
            overran=duration > source.interval,
        )
        fields = {
            "source": source.name,
            "target": str(target),
            "reason": reason,
            "error": message,
            "serving": "last good data" if status.snapshot is not None else "no data yet",
        }
        # One error line per change of state; repeats of the same failure only at debug level.
        if previous.up or previous.error_reason != reason or previous.polls == 0:
            # An expected state (a target with no billing of its own) is news, not an error.
            if expected:
                log.info("source does not apply to the target; polling on in case it changes", extra=fields)
            else:
                log.error("poll failed", extra=fields)
        else:
            log.debug("poll still failing", extra=fields)
