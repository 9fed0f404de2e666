"""The ``github_copilot_repository_*`` families, derived from repository-report snapshots.

Every value is a figure of the newest day with a repository report, so every family is a gauge.
Repositories beyond the top N are one ``repository="other"`` series per visibility: a sum over
``repository`` is the target's exact total. Every family is yielded on every call, empty when no
snapshot has data, so dashboards and alerts see a stable set of names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.sources.repositories.model import COUNTS, MEDIANS
from exporter.sources.repositories.snapshot import RepositoriesSnapshot

PREFIX = "github_copilot_repository_"
TARGET_LABELS = ["enterprise", "org"]
REPO_LABELS = [*TARGET_LABELS, "repository", "visibility"]
DAY = "of the newest day with a repository report (github_copilot_repository_report_day_timestamp_seconds)"
#: ``pull_requests`` count -> (family, what it counts).
COUNT_FAMILIES = {
    "total_created": ("pull_requests_created", "Pull requests created"),
    "total_reviewed": ("pull_requests_reviewed", "Pull requests reviewed"),
    "total_merged": ("pull_requests_merged", "Pull requests merged"),
    "total_created_by_copilot": ("pull_requests_created_by_copilot", "Pull requests Copilot created"),
    "total_reviewed_by_copilot": ("pull_requests_reviewed_by_copilot", "Pull requests Copilot reviewed"),
    "total_merged_created_by_copilot": (
        "pull_requests_merged_created_by_copilot",
        "Pull requests merged that Copilot created",
    ),
    "total_merged_reviewed_by_copilot": (
        "pull_requests_merged_reviewed_by_copilot",
        "Pull requests merged that Copilot reviewed",
    ),
    "total_suggestions": ("pull_request_suggestions", "Review suggestions made on pull requests"),
    "total_applied_suggestions": ("pull_request_applied_suggestions", "Review suggestions applied"),
    "total_copilot_suggestions": ("pull_request_copilot_suggestions", "Review suggestions Copilot made"),
    "total_copilot_applied_suggestions": (
        "pull_request_copilot_applied_suggestions",
        "Review suggestions by Copilot that were applied",
    ),
}
#: Median field -> value of the ``pull_requests`` label.
MEDIAN_KINDS = {
    "median_minutes_to_merge": "all",
    "median_minutes_to_merge_copilot_authored": "copilot_authored",
    "median_minutes_to_merge_copilot_reviewed": "copilot_reviewed",
}
assert set(COUNT_FAMILIES) == set(COUNTS)
assert set(MEDIAN_KINDS) == set(MEDIANS)


def repository_families(snapshots: Sequence[RepositoriesSnapshot]) -> Iterator[Metric]:
    day = GaugeMetricFamily(
        f"{PREFIX}report_day_timestamp_seconds",
        "Start (00:00 UTC) of the newest day with a Copilot repository report, as a Unix timestamp.",
        labels=TARGET_LABELS,
    )
    reported = GaugeMetricFamily(
        f"{PREFIX}reported_repositories",
        f"Repositories with pull-request activity in the report {DAY}, before the top-N cut.",
        labels=TARGET_LABELS,
    )
    for snap in snapshots:
        day.add_metric([*snap.target.labels], snap.day_timestamp)
        reported.add_metric([*snap.target.labels], snap.reported)
    yield day
    yield reported
    for index, key in enumerate(COUNTS):
        name, what = COUNT_FAMILIES[key]
        family = GaugeMetricFamily(
            f"{PREFIX}{name}",
            f'{what} in the repository, {DAY}; repository="other" sums those beyond the top N.',
            labels=REPO_LABELS,
        )
        for snap in snapshots:
            for repo in snap.repositories:
                family.add_metric([*snap.target.labels, repo.repository, repo.visibility], repo.counts[index])
        yield family
    median = GaugeMetricFamily(
        f"{PREFIX}pull_request_median_merge_seconds",
        f"Median time from creation to merge of the repository's pull requests merged, {DAY}; absent "
        'when none was merged, and for repository="other" (a median does not sum). Never sum or '
        "average it across repositories.",
        labels=[*REPO_LABELS, "pull_requests"],
    )
    for snap in snapshots:
        for repo in snap.repositories:
            for key, kind in MEDIAN_KINDS.items():
                minutes = repo.medians.get(key)
                if minutes is not None:
                    median.add_metric(
                        [*snap.target.labels, repo.repository, repo.visibility, kind], minutes * 60.0
                    )
    yield median
