"""Strict parsing of the repository report's NDJSON records (``repos-1-day``), one per repository.

A record carries the repository (``repo_owner_name``/``repo_name``, ``repo_visibility``) and the
``pull_requests`` object of the aggregate reports. As there, an absent count is zero, but a present
one must be a number of the documented kind, or the whole report fails rather than skewing a sum. A
median that is absent or null (no pull request merged) is no series at all, never a zero.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from exporter.github.answers import json_integer, json_string
from exporter.github.reports import (
    PULL_REQUEST_COUNTS,
    PULL_REQUEST_MEDIANS,
    pull_request_counts,
    pull_request_medians,
    pull_requests,
    report_day,
)
from exporter.github.text import clean_text

#: The ``pull_requests`` counts a repository record carries, in the order of :attr:`RepoDay.counts`.
COUNTS = PULL_REQUEST_COUNTS
#: What ranks repositories for the top-N cut: pull requests created, reviewed and merged.
ACTIVITY = ("total_created", "total_reviewed", "total_merged")
MEDIANS = PULL_REQUEST_MEDIANS
VISIBILITIES = ("public", "internal", "private")


@dataclass(frozen=True, slots=True)
class RepoDay:
    day: date
    repo_id: int
    #: "owner/name".
    repository: str
    #: "public", "internal", "private", or "unknown" when GitHub sends none or another value.
    visibility: str
    #: :data:`COUNTS`' values, in that order.
    counts: tuple[int, ...]
    #: :data:`MEDIANS` -> minutes, only those present and not null.
    medians: Mapping[str, float]

    @property
    def activity(self) -> int:
        return sum(self.counts[COUNTS.index(key)] for key in ACTIVITY)


def parse_repo_record(raw: Mapping[str, Any], where: str) -> RepoDay:
    prs = pull_requests(raw, where)
    owner = clean_text(json_string(raw, "repo_owner_name", where))
    name = clean_text(json_string(raw, "repo_name", where))
    visibility = json_string(raw, "repo_visibility", where, default="unknown").lower()
    return RepoDay(
        day=report_day(raw, "day", where),
        repo_id=json_integer(raw, "repo_id", where),
        repository=f"{owner}/{name}",
        visibility=sys.intern(visibility if visibility in VISIBILITIES else "unknown"),
        counts=pull_request_counts(prs, where),
        medians=pull_request_medians(prs, where),
    )
