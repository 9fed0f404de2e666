"""What the poller publishes and the collector and web app read.

The poller is the only writer. Each update builds a new immutable :class:`TargetStatus` and swaps the
whole mapping in one reference assignment, so a reader on any thread sees either the old or the new
state of every target, never a mixture, and never has to lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from exporter.config import Target
from exporter.snapshot import TargetSnapshot


@dataclass(frozen=True, slots=True)
class TargetStatus:
    target: Target
    #: The last complete snapshot; kept when later polls fail.
    snapshot: TargetSnapshot | None = None
    #: Whether the most recent poll succeeded.
    up: bool = False
    polls: int = 0
    last_poll_at: float | None = None
    last_success_at: float | None = None
    last_duration: float | None = None
    #: Reason and message of the most recent failure; empty after a success.
    error_reason: str = ""
    error_message: str = ""
    failures: Mapping[str, int] = field(default_factory=dict)


class ExporterState:
    def __init__(self, targets: tuple[Target, ...]) -> None:
        self.targets = targets
        self._statuses: Mapping[Target, TargetStatus] = MappingProxyType(
            {t: TargetStatus(t) for t in targets}
        )

    @property
    def statuses(self) -> Mapping[Target, TargetStatus]:
        return self._statuses

    def _swap(self, status: TargetStatus) -> None:
        updated = dict(self._statuses)
        updated[status.target] = status
        self._statuses = MappingProxyType(updated)

    def publish(self, snapshot: TargetSnapshot, *, started_at: float, duration: float) -> TargetStatus:
        old = self._statuses[snapshot.target]
        new = replace(
            old,
            snapshot=snapshot,
            up=True,
            polls=old.polls + 1,
            last_poll_at=started_at,
            last_success_at=snapshot.taken_at,
            last_duration=duration,
            error_reason="",
            error_message="",
        )
        self._swap(new)
        return new

    def record_failure(
        self, target: Target, *, reason: str, message: str, started_at: float, duration: float
    ) -> TargetStatus:
        old = self._statuses[target]
        failures = dict(old.failures)
        failures[reason] = failures.get(reason, 0) + 1
        new = replace(
            old,
            up=False,
            polls=old.polls + 1,
            last_poll_at=started_at,
            last_duration=duration,
            error_reason=reason,
            error_message=message,
            failures=failures,
        )
        self._swap(new)
        return new

    @property
    def ready(self) -> bool:
        return all(status.snapshot is not None for status in self._statuses.values())
