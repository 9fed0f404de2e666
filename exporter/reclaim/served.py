"""The reclaim selection of the snapshots the exporter serves: its metrics and ``/reclaim.csv``.

The same pure selection ``reclaim plan`` makes (:mod:`exporter.reclaim.policy`), idle time counted
to each snapshot's own poll, so the same snapshots always give the same figures whatever the time
of the scrape; computed once per set of published snapshots and cached. No I/O: it reads the state.

While usage reports are enabled the selection waits for their first snapshot of every target, as
``reclaim plan`` does: without them a user at work with a stale ``last_activity_at`` would be proposed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from exporter.caching import same_objects
from exporter.config import Config
from exporter.privacy import UserLabels
from exporter.reclaim.plan import Plan, plan_of
from exporter.reclaim.policy import Selection, select_all, usage_activity
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.sources.usage.snapshot import UsageSnapshot
from exporter.state import ExporterState

SEATS = "seats"
USAGE = "usage"


@dataclass(frozen=True)
class Served:
    seats: tuple[TargetSnapshot, ...]
    #: Every seat the policy proposes, ``max_removals`` aside.
    selection: Selection
    config: Config
    users: UserLabels

    @cached_property
    def plan(self) -> Plan:
        """The plan ``reclaim plan`` would make of these snapshots: at most ``max_removals`` removals."""
        return plan_of(self.seats, self.selection, self.config.reclaim, self.users)


class ServedReclaim:
    def __init__(self, config: Config, state: ExporterState) -> None:
        self.config = config
        self.state = state
        self.users = UserLabels(config)
        self._served: Served | None = None
        self._key: tuple[object, ...] = ()
        # Scrapes and downloads arriving together wait for one selection rather than each making one.
        self._lock = threading.Lock()

    def waiting(self) -> list[str]:
        """What the selection waits for: the first snapshot of a seat or usage target."""
        return [
            f"{status.source} of {status.target}"
            for source in (SEATS, USAGE)
            for status in self.state.of_source(source)
            if status.snapshot is None
        ]

    def current(self) -> Served | None:
        """The selection of the snapshots being served; None while one is still missing."""
        seat_statuses = self.state.of_source(SEATS)
        usage_statuses = self.state.of_source(USAGE)
        seats = tuple(s.snapshot for s in seat_statuses if isinstance(s.snapshot, TargetSnapshot))
        usage = tuple(s.snapshot for s in usage_statuses if isinstance(s.snapshot, UsageSnapshot))
        if len(seats) < len(seat_statuses) or len(usage) < len(usage_statuses) or not seats:
            return None
        key = (*seats, *usage)
        with self._lock:
            served = self._served
            if served is None or not same_objects(self._key, key):
                selection = select_all(seats, self.config.reclaim, usage_activity(usage))
                served = Served(seats, selection, self.config, self.users)
                self._served, self._key = served, key
            return served
