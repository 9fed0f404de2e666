"""The immutable result of reading one target's repository report for one day, cut to the top N.

The N most active repositories (pull requests created, reviewed and merged) keep their own figures;
the rest are summed per visibility into ``other``, so that every total over the repositories is
exact. ``other`` has no medians: a median of medians is no median.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from exporter.config import Target
from exporter.sources.repositories.model import COUNTS, RepoDay

OTHER = "other"


@dataclass(frozen=True, slots=True)
class RepoFigures:
    #: "owner/name", or :data:`OTHER`.
    repository: str
    visibility: str
    #: :data:`~exporter.sources.repositories.model.COUNTS`' values, in that order.
    counts: tuple[int, ...]
    #: Minutes, by :data:`~exporter.sources.repositories.model.MEDIANS` name; empty for ``other``.
    medians: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class RepositoriesSnapshot:
    target: Target
    day: date
    final: bool
    #: Repositories the report holds, ``other`` included in :attr:`repositories`' count of none.
    reported: int
    #: The top N by activity, then the ``other`` rows (one per visibility with any).
    repositories: tuple[RepoFigures, ...]
    #: A digest of the download links read (the links themselves grant access, so never kept).
    source_digest: str = ""

    @property
    def day_timestamp(self) -> float:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC).timestamp()


def top_repositories(records: Iterable[RepoDay], top_n: int) -> tuple[RepoFigures, ...]:
    """The ``top_n`` most active repositories, then the rest summed per visibility as ``other``."""
    rows = list(records)
    kept = heapq.nsmallest(top_n, rows, key=lambda r: (-r.activity, r.repository, r.repo_id))
    kept_ids = {id(r) for r in kept}
    others: dict[str, list[int]] = {}
    for row in rows:
        if id(row) not in kept_ids:
            sums = others.setdefault(row.visibility, [0] * len(COUNTS))
            for i, count in enumerate(row.counts):
                sums[i] += count
    figures = [RepoFigures(r.repository, r.visibility, r.counts, r.medians) for r in kept]
    figures += [RepoFigures(OTHER, vis, tuple(sums), {}) for vis, sums in sorted(others.items())]
    return tuple(figures)
