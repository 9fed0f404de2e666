"""The seat source: ``GET /orgs/{org}/copilot/billing/seats`` and its enterprise twin, as snapshots."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client.core import Metric

from exporter.config import Config, Target
from exporter.errors import InconsistentDataError
from exporter.github.client import GitHubClient
from exporter.github.retrying import Retry, RetryPolicy, retries
from exporter.privacy import UserLabels
from exporter.sources.base import PolledSource
from exporter.sources.seats import budget
from exporter.sources.seats.config import SeatsConfig, seats_config
from exporter.sources.seats.fetch import read_target
from exporter.sources.seats.metrics import SeatMetrics
from exporter.sources.seats.snapshot import TargetSnapshot, build_snapshot
from exporter.sources.spec import SourceCost

log = logging.getLogger("exporter.sources.seats")
#: A seat list that contradicts itself is read once more, at once; the client retried each page already.
REREAD = RetryPolicy(attempts=2, backoff=0.0, jitter=0.0)


class SeatSource(PolledSource[SeatsConfig]):
    name = "seats"

    def __init__(
        self,
        config: Config,
        client: GitHubClient,
        users: UserLabels,
        *,
        clock: Callable[[], float] = time.time,
        costs: Mapping[str, SourceCost] | None = None,
    ) -> None:
        super().__init__(config, seats_config(config), clock)
        #: The other sources' requests, for the budget logged after the first poll.
        self._costs = dict(costs or {})
        self.client = client
        self.metrics = SeatMetrics(config, users)
        self._users = users
        self._budget_logged = config.demo

    async def fetch(self, target: Target, previous: TargetSnapshot | None) -> TargetSnapshot:
        def on_retry(retry: Retry) -> None:
            # The list changed while it was read (a seat granted between two pages): read it again.
            log.info(
                "seat list changed during the poll; reading it again",
                extra={"target": str(target), "detail": str(retry.error)},
            )

        tries = retries(
            REREAD, retryable=lambda exc: isinstance(exc, InconsistentDataError), on_retry=on_retry
        )
        async for attempt in tries:
            pages, billing = await read_target(self.client, target)
            with attempt:
                # Off the event loop: for 100,000 changed seats the build takes most of a second.
                return await asyncio.to_thread(
                    build_snapshot,
                    target,
                    pages,
                    billing,
                    self.settings.seat_prices_usd,
                    self._clock(),
                    previous,
                    shown=self._users.shown,
                )
        raise AssertionError("unreachable: the last try returns or raises")

    def families(self, snapshots: Sequence[TargetSnapshot], now: float) -> Iterable[Metric]:
        return self.metrics.families(snapshots, now)

    def prepare(self, snapshots: Sequence[TargetSnapshot]) -> None:
        self.metrics.prepare(snapshots)
        if not self._budget_logged and len(snapshots) == len(self.targets):
            self._budget_logged = True
            budget.log_measured(self.config, snapshots, self.client.stats, self._costs)

    def describe_snapshot(self, snapshot: TargetSnapshot) -> str:
        return f"{len(snapshot.seats):,} seats"
