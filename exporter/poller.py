"""The schedule: poll every target, build its snapshot, publish it only when complete."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from exporter import budget
from exporter.config import Config, Target
from exporter.errors import GitHubError, InconsistentDataError
from exporter.github import GitHubClient
from exporter.seats import OrgBilling, SeatPage
from exporter.snapshot import TargetSnapshot, build_snapshot
from exporter.state import ExporterState

log = logging.getLogger("exporter.poller")


class Poller:
    def __init__(
        self,
        config: Config,
        client: GitHubClient,
        state: ExporterState,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client = client
        self.state = state
        self._clock = clock
        self.polls_completed = 0
        self._poll_done = asyncio.Event()
        self._seats_cut = 0

    async def run(self) -> None:
        """Poll now, then every poll interval, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.poll_once()
            await asyncio.sleep(max(0.0, self.config.poll_interval - (loop.time() - started)))

    async def poll_once(self) -> None:
        await asyncio.gather(*(self.poll_target(target) for target in self.state.targets))
        self._check_series_cap()
        self.polls_completed += 1
        if self.polls_completed == 1 and not self.config.demo:
            budget.log_measured(self.config, self.state, self.client.stats)
        self._poll_done.set()
        self._poll_done = asyncio.Event()

    async def poll_target(self, target: Target) -> None:
        started_at = self._clock()
        start = time.monotonic()
        try:
            try:
                snapshot = await self._fetch(target)
            except InconsistentDataError as exc:
                # The list changed while it was read (a seat granted between two pages): read it again.
                log.info(
                    "seat list changed during the poll; reading it again",
                    extra={"target": str(target), "detail": str(exc)},
                )
                snapshot = await self._fetch(target)
        except GitHubError as exc:
            self._failed(target, exc.reason, exc.describe(), started_at, time.monotonic() - start)
            return
        except Exception as exc:  # a bug must not stop the schedule or the last good data being served
            log.exception("unexpected error while polling", extra={"target": str(target)})
            message = f"internal error: {type(exc).__name__}"
            self._failed(target, "internal_error", message, started_at, time.monotonic() - start)
            return
        duration = time.monotonic() - start
        previous = self.state.statuses[target]
        self.state.publish(snapshot, started_at=started_at, duration=duration)
        if previous.polls and not previous.up:
            log.info("target recovered", extra={"target": str(target), "seats": len(snapshot.seats)})
        log.debug(
            "poll complete",
            extra={
                "target": str(target),
                "seats": len(snapshot.seats),
                "duration_seconds": round(duration, 3),
            },
        )

    async def _fetch(self, target: Target) -> TargetSnapshot:
        billing: OrgBilling | None = None
        pages: list[SeatPage]
        if target.kind == "org":
            billing_task = asyncio.create_task(self.client.org_billing(target.name))
            seats_task = asyncio.create_task(self.client.org_seats(target.name))
            try:
                billing, pages = await asyncio.gather(billing_task, seats_task)
            except BaseException:
                # The poll is lost: stop spending requests (maybe hundreds of pages) on the other half.
                for task in (billing_task, seats_task):
                    task.cancel()
                await asyncio.gather(billing_task, seats_task, return_exceptions=True)
                raise
        else:
            pages = await self.client.enterprise_seats(target.name)
        # Off the event loop: for 100,000 changed seats the build takes most of a second, during which
        # no scrape, probe or other target's request would otherwise be served.
        return await asyncio.to_thread(
            build_snapshot, target, pages, billing, self.config.seat_prices_usd, self._clock()
        )

    def _failed(self, target: Target, reason: str, message: str, started_at: float, duration: float) -> None:
        previous = self.state.statuses[target]
        status = self.state.record_failure(
            target, reason=reason, message=message, started_at=started_at, duration=duration
        )
        fields = {
            "target": str(target),
            "reason": reason,
            "error": message,
            "serving": "last good data" if status.snapshot is not None else "no data yet",
        }
        # One error line per change of state; repeats of the same failure only at debug level.
        if previous.up or previous.error_reason != reason or previous.polls == 0:
            log.error("poll failed", extra=fields)
        else:
            log.debug("poll still failing", extra=fields)

    def _check_series_cap(self) -> None:
        if self.config.seat_metrics == "off":
            return
        named = sum(
            status.snapshot.named_seats
            for status in self.state.statuses.values()
            if status.snapshot is not None
        )
        cut = max(0, named - self.config.max_seat_series)
        if cut != self._seats_cut:
            self._seats_cut = cut
            if cut:
                log.warning(
                    "too many seats for per-seat series; the rest are only in the aggregates",
                    extra={"seats": named, "max_series": self.config.max_seat_series, "dropped": cut},
                )

    async def wait_for_poll(self) -> None:
        await self._poll_done.wait()
