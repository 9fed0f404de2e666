"""The metric families of every data source, derived at scrape time from the snapshots being served.

Each source computes its own families (``exporter/sources/<source>/metrics.py``); this collector only
hands each the snapshots the poller published for it. ``collect()`` reads the state once (an atomic
reference) and does no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter.sources.base import Source
from exporter.state import ExporterState


class SourcesCollector(Collector):
    def __init__(
        self, sources: Sequence[Source], state: ExporterState, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.sources = tuple(sources)
        self.state = state
        self._clock = clock

    def describe(self) -> Iterator[Metric]:
        # An empty describe keeps registration free of any dependence on the state at start-up.
        return iter(())

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        statuses = self.state.statuses
        for source in self.sources:
            snapshots = [
                status.snapshot
                for (name, _), status in statuses.items()
                if name == source.name and status.snapshot is not None
            ]
            yield from source.families(snapshots, now)
