"""What the poller publishes and the collector and web app read.

The poller is the only writer. Each update builds a new immutable :class:`TargetStatus` and swaps the
whole mapping in one reference assignment, so a reader on any thread sees either the old or the new
state of every (source, target) pair, never a mixture, and never has to lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from exporter.config import Target


@dataclass(frozen=True, slots=True)
class TargetStatus:
    source: str
    target: Target
    #: The last complete snapshot; kept when later polls fail.
    snapshot: Any | None = None
    #: Whether the most recent poll succeeded.
    up: bool = False
    polls: int = 0
    last_success_at: float | None = None
    last_duration: float | None = None
    #: Reason and message of the most recent failure; empty after a success.
    error_reason: str = ""
    error_message: str = ""
    failures: Mapping[str, int] = field(default_factory=dict)
    #: Polls that took longer than the source's interval.
    overruns: int = 0


StatusKey = tuple[str, Target]


class ExporterState:
    def __init__(self, pairs: Iterable[StatusKey], *, gates: frozenset[str] = frozenset()) -> None:
        #: Sources whose every target must have served data once before the exporter is ready
        #: (the registry's ``gates_readiness``); the others only need their first poll finished.
        self.gates = gates
        self._statuses: Mapping[StatusKey, TargetStatus] = MappingProxyType(
            {(source, target): TargetStatus(source, target) for source, target in pairs}
        )

    @property
    def statuses(self) -> Mapping[StatusKey, TargetStatus]:
        return self._statuses

    def of_source(self, source: str) -> list[TargetStatus]:
        return [status for (name, _), status in self._statuses.items() if name == source]

    def _swap(self, status: TargetStatus) -> None:
        updated = dict(self._statuses)
        updated[(status.source, status.target)] = status
        self._statuses = MappingProxyType(updated)

    def publish(
        self, source: str, target: Target, snapshot: Any, *, taken_at: float, duration: float, overran: bool
    ) -> TargetStatus:
        old = self._statuses[(source, target)]
        new = replace(
            old,
            snapshot=snapshot,
            up=True,
            polls=old.polls + 1,
            last_success_at=taken_at,
            last_duration=duration,
            error_reason="",
            error_message="",
            overruns=old.overruns + overran,
        )
        self._swap(new)
        return new

    def record_failure(
        self, source: str, target: Target, *, reason: str, message: str, duration: float, overran: bool
    ) -> TargetStatus:
        old = self._statuses[(source, target)]
        failures = dict(old.failures)
        failures[reason] = failures.get(reason, 0) + 1
        new = replace(
            old,
            up=False,
            polls=old.polls + 1,
            last_duration=duration,
            error_reason=reason,
            error_message=message,
            failures=failures,
            overruns=old.overruns + overran,
        )
        self._swap(new)
        return new

    def waiting_for(self) -> list[TargetStatus]:
        """What keeps the exporter from being ready: a required target with no data yet, or any target
        of another source that has not finished its first poll (successful or not)."""
        return [
            status
            for status in self._statuses.values()
            if (status.snapshot is None if status.source in self.gates else status.polls == 0)
        ]

    @property
    def ready(self) -> bool:
        return not self.waiting_for()
