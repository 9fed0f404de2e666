"""What a data source is: one GitHub API read per target, all or nothing, into an immutable snapshot.

The poller schedules every (source, target) pair on the source's own interval and publishes each
complete snapshot atomically; the collector asks each source for its metric families over the
snapshots being served. A source never sees the web layer, and the poller never sees metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from prometheus_client.core import Metric

from exporter.config import Target

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
