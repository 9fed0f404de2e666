"""The metric families of every data source, derived at scrape time from the snapshots being served.

Each source computes its own families (``exporter/sources/<source>/metrics.py``); this collector only
hands each the snapshots the poller published for it. ``collect()`` reads the state once (an atomic
reference) and does no I/O.

The parsers reject numbers no sample can hold, but a scrape must not depend on every one of them
being right: a family with a value that cannot be rendered as a finite float, or a source whose
families raise, is left out of that scrape (logged, and counted by
``github_copilot_exposition_families_dropped_total``) so that the other families, and the other
sources, are still served.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.exposition import LaidOutFamily
from exporter.sources.base import Source
from exporter.state import ExporterState

log = logging.getLogger("exporter.collector")


class SourcesCollector(Collector):
    def __init__(
        self, sources: Sequence[Source[Any]], state: ExporterState, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.sources = tuple(sources)
        self.state = state
        self._clock = clock
        #: Source name -> families left out of scrapes since start (scrapes run in worker threads).
        self._dropped: Counter[str] = Counter()
        self._lock = threading.Lock()

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
            yield from self._checked(source, snapshots, now)
        dropped = CounterMetricFamily(
            "github_copilot_exposition_families_dropped",
            "Metric families left out of a scrape because a value could not be rendered as a finite "
            "number or the source failed to build them (a bug or unchecked data; see the log).",
            labels=["source"],
        )
        with self._lock:
            for source in self.sources:
                dropped.add_metric([source.name], self._dropped[source.name])
        yield dropped

    def _checked(self, source: Source[Any], snapshots: list[object], now: float) -> list[Metric]:
        try:
            families = list(source.families(snapshots, now))
        except Exception:
            log.exception("the source's metric families failed; left out of this scrape",
                          extra={"source": source.name})  # fmt: skip
            self._count(source.name, 1)
            return []
        bad = [family for family in families if not _renderable(family)]
        if not bad:
            return families
        for family in bad:
            log.error(
                "a metric family holds a value that is not a finite number; left out of this scrape",
                extra={"source": source.name, "family": family.name},
            )
        self._count(source.name, len(bad))
        return [family for family in families if all(family is not b for b in bad)]

    def _count(self, source: str, families: int) -> None:
        with self._lock:
            self._dropped[source] += families


def _renderable(family: Metric) -> bool:
    """Whether every sample value of ``family`` is a finite float (what the encoders can write).

    Laid-out families are rendered from values checked when they were laid out; checking them here
    would build their samples on every scrape, which their cache exists to avoid.
    """
    if isinstance(family, LaidOutFamily):
        return True
    try:
        # C loops: the conversion (an int too large for a float raises here), then a sum, finite
        # unless a value is not (or the sum overflows, when each value is looked at).
        values = array("d", [sample.value for sample in family.samples])
    except (OverflowError, TypeError, ValueError):
        return False
    return math.isfinite(sum(values)) or all(map(math.isfinite, values))
