"""What a data source is: one GitHub API read per target, all or nothing, into an immutable snapshot.

The poller schedules every (source, target) pair on the source's own interval and publishes each
complete snapshot atomically; the collector asks each source for its metric families over the
snapshots being served. A source never sees the web layer, and the poller never sees metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Generic, Protocol, TypeVar

from prometheus_client.core import Metric

from exporter.config import Config, Target
from exporter.errors import AccessError, CopilotUnavailableError, PermissionDeniedError

SnapshotT = TypeVar("SnapshotT")


class Source(Protocol[SnapshotT]):
    #: The ``source`` label of the exporter's health series: ``seats``, ``billing``, ``usage``.
    @property
    def name(self) -> str: ...

    #: Seconds between the starts of two polls of one target.
    @property
    def interval(self) -> float: ...

    @property
    def targets(self) -> tuple[Target, ...]: ...

    async def fetch(self, target: Target, previous: SnapshotT | None) -> SnapshotT:
        """Read everything the source needs of ``target`` and return an immutable snapshot.

        Raises :class:`exporter.errors.GitHubError` when any part fails: a partial read is never a
        snapshot. ``previous`` is the snapshot being served, for sources that can reuse unchanged parts.
        """
        ...

    def families(self, snapshots: Sequence[SnapshotT], now: float) -> Iterable[Metric]:
        """The source's metric families over the snapshots being served, at scrape time, without I/O."""
        ...

    def prepare(self, snapshots: Sequence[SnapshotT]) -> None:
        """Precompute what scrapes of these snapshots need; runs in a worker thread after a publish."""
        ...

    def describe_snapshot(self, snapshot: SnapshotT) -> str:
        """A few words on a snapshot for the landing page, e.g. ``1,204 seats``."""
        ...


class _Polled(Protocol):
    @property
    def poll_interval(self) -> float: ...


SettingsT = TypeVar("SettingsT", bound=_Polled)


class PolledSource(Generic[SettingsT]):
    """What every source shares: its section's settings, their poll interval, the configured targets."""

    def __init__(self, config: Config, settings: SettingsT, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.settings = settings
        self._clock = clock

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    @property
    def targets(self) -> tuple[Target, ...]:
        return self.config.targets

    def _today(self) -> date:
        """Today by the source's clock, in UTC: the day GitHub's daily reports are dated by."""
        return datetime.fromtimestamp(self._clock(), UTC).date()


@contextmanager
def refusals_hinted(hint: str) -> Iterator[None]:
    """GitHub's refusal of a report (403, or Copilot unavailable) as an :class:`AccessError` with the
    source's own hint, which names the permission its reports need."""
    try:
        yield
    except (PermissionDeniedError, CopilotUnavailableError) as exc:
        raise AccessError(exc, hint) from None
