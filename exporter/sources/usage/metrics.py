"""The ``github_copilot_usage_*`` and ``github_copilot_user_*`` families, derived from usage snapshots.

Every value is a figure of the newest reported day, so every family is a gauge. Each counter has one
family per GitHub breakdown (total, by IDE, by feature, by language and feature, by model and
feature): summing within a family never counts an event twice, summing across families would.
Every family is yielded on every call, empty when no snapshot has data for it, so dashboards and
alerts see a stable set of names.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import Metric

from exporter.privacy import unique_labels
from exporter.sources.usage.agent_metrics import agent_families, tool_families
from exporter.sources.usage.gauges import DAY
from exporter.sources.usage.gauges import gauge as _gauge
from exporter.sources.usage.model import PULL_REQUEST_COUNTS, PULL_REQUEST_MEDIANS
from exporter.sources.usage.snapshot import UsageSnapshot, UserFigures

#: Counter family base names in the order of ``Counters.values()``, with what each counts.
COUNTERS = (
    ("interactions", "prompts users actively sent to Copilot"),
    ("code_generations", "code generation events (suggestions shown, code produced)"),
    ("code_acceptances", "suggestions accepted, inserted or copied"),
    ("lines_suggested_added", "lines of code Copilot suggested adding"),
    ("lines_suggested_deleted", "lines of code Copilot suggested deleting"),
    ("lines_added", "lines of code added by Copilot (accepted suggestions and agent edits)"),
    ("lines_deleted", "lines of code deleted by Copilot agent edits"),
)
#: Breakdown name -> (family suffix, label names).
BREAKDOWN_FAMILIES = {
    "totals_by_ide": ("_by_ide", ["ide"]),
    "totals_by_feature": ("_by_feature", ["feature"]),
    "totals_by_language_feature": ("_by_language_feature", ["language", "feature"]),
    "totals_by_model_feature": ("_by_model_feature", ["model", "feature"]),
    "totals_by_language_model": ("_by_language_model", ["language", "model"]),
}
#: GitHub's entity field -> (family, window).
ACTIVE_USERS = {
    "daily_active_users": ("active_users", "1d"),
    "weekly_active_users": ("active_users", "7d"),
    "monthly_active_users": ("active_users", "28d"),
    "monthly_active_chat_users": ("chat_active_users", "28d"),
    "monthly_active_agent_users": ("agent_active_users", "28d"),
    "daily_active_cli_users": ("cli_active_users", "1d"),
    "daily_active_copilot_code_review_users": ("code_review_active_users", "1d"),
    "weekly_active_copilot_code_review_users": ("code_review_active_users", "7d"),
    "monthly_active_copilot_code_review_users": ("code_review_active_users", "28d"),
    "daily_passive_copilot_code_review_users": ("code_review_passive_users", "1d"),
    "weekly_passive_copilot_code_review_users": ("code_review_passive_users", "7d"),
    "monthly_passive_copilot_code_review_users": ("code_review_passive_users", "28d"),
}
ACTIVE_USER_HELP = {
    "active_users": "Users with Copilot activity within the window ending on the report day.",
    "chat_active_users": "Users of Copilot Chat within the window ending on the report day.",
    "agent_active_users": "Users of Copilot agent mode within the window ending on the report day.",
    "cli_active_users": "Users of Copilot CLI within the window ending on the report day.",
    "code_review_active_users": "Users who requested Copilot code review within the window.",
    "code_review_passive_users": "Users whose pull requests Copilot reviewed without their asking, "
    "within the window (users who also asked count as active only).",
}
#: ``pull_requests`` field -> family name.
PULL_REQUEST_FAMILIES = {
    "total_created": "pull_requests_created",
    "total_reviewed": "pull_requests_reviewed",
    "total_merged": "pull_requests_merged",
    "total_created_by_copilot": "pull_requests_created_by_copilot",
    "total_reviewed_by_copilot": "pull_requests_reviewed_by_copilot",
    "total_merged_created_by_copilot": "pull_requests_merged_created_by_copilot",
    "total_merged_reviewed_by_copilot": "pull_requests_merged_reviewed_by_copilot",
    "total_suggestions": "pull_request_suggestions",
    "total_applied_suggestions": "pull_request_applied_suggestions",
    "total_copilot_suggestions": "pull_request_copilot_suggestions",
    "total_copilot_applied_suggestions": "pull_request_copilot_applied_suggestions",
}
MEDIAN_FAMILIES = {
    "median_minutes_to_merge": "pull_request_merge_median_seconds",
    "median_minutes_to_merge_copilot_authored": "pull_request_copilot_authored_merge_median_seconds",
    "median_minutes_to_merge_copilot_reviewed": "pull_request_copilot_reviewed_merge_median_seconds",
}
assert set(PULL_REQUEST_FAMILIES) == set(PULL_REQUEST_COUNTS)
assert set(MEDIAN_FAMILIES) == set(PULL_REQUEST_MEDIANS)


def usage_families(
    snapshots: Iterable[UsageSnapshot], *, user_label: Callable[[str], str] | None, max_user_series: int
) -> Iterator[Metric]:
    """Every usage family from ``snapshots``; no per-user series when ``user_label`` is None."""
    snapshots = list(snapshots)
    yield from _report_families(snapshots)
    yield from _active_user_families(snapshots)
    yield from _counter_families(snapshots)
    yield from tool_families(snapshots, "cli", "Copilot CLI")
    yield from agent_families(snapshots)
    yield from _pull_request_families(snapshots)
    yield from _team_families(snapshots)
    yield from _user_families(snapshots, user_label, max_user_series)


def _report_families(snapshots: list[UsageSnapshot]) -> Iterator[Metric]:
    day = _gauge("usage_report_day_timestamp_seconds", "00:00 UTC of the newest day with a usage report.")
    final = _gauge(
        "usage_report_day_final",
        "1 when the report day is final (three full UTC days have passed), 0 while GitHub may revise it.",
    )
    users = _gauge("usage_users_reported", f"Users with a row in the users report. {DAY}.")
    for snap in snapshots:
        day.add_metric(snap.target.labels, snap.day_timestamp)
        final.add_metric(snap.target.labels, 1.0 if snap.final else 0.0)
        users.add_metric(snap.target.labels, len(snap.users))
    yield from (day, final, users)


def _active_user_families(snapshots: list[UsageSnapshot]) -> Iterator[Metric]:
    families = {
        name: _gauge(f"usage_{name}", f"{text} {DAY}.", ["window"]) for name, text in ACTIVE_USER_HELP.items()
    }
    for snap in snapshots:
        if snap.entity is None:
            continue
        for field, (name, window) in ACTIVE_USERS.items():
            families[name].add_metric([*snap.target.labels, window], snap.entity.active_users.get(field, 0))
    yield from families.values()


def _counter_families(snapshots: list[UsageSnapshot]) -> Iterator[Metric]:
    for index, (name, text) in enumerate(COUNTERS):
        total = _gauge(f"usage_{name}", f"Number of {text}. {DAY}.")
        for snap in snapshots:
            if snap.entity is not None:
                total.add_metric(snap.target.labels, snap.entity.counters.values()[index])
        yield total
        for breakdown, (suffix, labels) in BREAKDOWN_FAMILIES.items():
            if name == "interactions" and breakdown.startswith("totals_by_language_"):
                continue  # GitHub's language breakdowns have no interaction count.
            by = " and ".join(labels)
            family = _gauge(f"usage_{name}{suffix}", f"Number of {text}, by {by}. {DAY}.", labels)
            for snap in snapshots:
                if snap.entity is None:
                    continue
                for item in snap.entity.breakdowns.get(breakdown, ()):
                    family.add_metric([*snap.target.labels, *item.keys], item.counters.values()[index])
            yield family


def _pull_request_families(snapshots: list[UsageSnapshot]) -> Iterator[Metric]:
    counts = {
        field: _gauge(f"usage_{name}", f"Pull requests: {field.replace('_', ' ')}. {DAY}.")
        for field, name in PULL_REQUEST_FAMILIES.items()
    }
    medians = {
        field: _gauge(f"usage_{name}", f"Median time from opening to merge ({field}), in seconds. {DAY}.")
        for field, name in MEDIAN_FAMILIES.items()
    }
    by_type = _gauge(
        "usage_pull_request_copilot_suggestions_by_comment_type",
        f"Copilot code review suggestions, by comment type. {DAY}.",
        ["comment_type"],
    )
    applied_by_type = _gauge(
        "usage_pull_request_copilot_applied_suggestions_by_comment_type",
        f"Copilot code review suggestions applied, by comment type. {DAY}.",
        ["comment_type"],
    )
    for snap in snapshots:
        if snap.entity is None:
            continue
        for field, value in snap.entity.pull_requests.items():
            counts[field].add_metric(snap.target.labels, value)
        for field, minutes in snap.entity.pull_request_medians.items():
            medians[field].add_metric(snap.target.labels, minutes * 60.0)
        for kind, (suggested, applied) in sorted(snap.entity.suggestions_by_comment_type.items()):
            by_type.add_metric([*snap.target.labels, kind], suggested)
            applied_by_type.add_metric([*snap.target.labels, kind], applied)
    yield from counts.values()
    yield from medians.values()
    yield from (by_type, applied_by_type)


def _team_families(snapshots: list[UsageSnapshot]) -> Iterator[Metric]:
    team = ["team"]
    note = "GitHub leaves out teams with fewer than five seated users"
    families = (
        ("users", _gauge("usage_team_users", f"Team members in the users report ({note}). {DAY}.", team)),
        ("active_users", _gauge("usage_team_active_users", f"Team members who sent prompts. {DAY}.", team)),
        ("interactions", _gauge("usage_team_interactions", f"Prompts sent by team members. {DAY}.", team)),
        ("acceptances", _gauge("usage_team_code_acceptances", f"Suggestions accepted. {DAY}.", team)),
        ("ai_credits_used", _gauge("usage_team_ai_credits_used", f"AI credits used. {DAY}.", team)),
    )
    for snap in snapshots:
        for figures in snap.teams:
            for field, family in families:
                family.add_metric([*snap.target.labels, figures.team], getattr(figures, field))
    yield from (family for _, family in families)


def _user_families(
    snapshots: list[UsageSnapshot], user_label: Callable[[str], str] | None, max_user_series: int
) -> Iterator[Metric]:
    user = ["user"]
    credits = _gauge(
        "user_ai_credits_used",
        f"AI credits the user's Copilot activity used (a usage signal, not the billed amount). {DAY}.",
        user,
    )
    interactions = _gauge("user_interactions", f"Prompts the user sent to Copilot. {DAY}.", user)
    acceptances = _gauge("user_code_acceptances", f"Suggestions the user accepted. {DAY}.", user)
    flags = [
        "used_chat",
        "used_agent",
        "used_cli",
        "used_code_review",
        "used_code_review_passive",
        "used_cloud_agent",
        "used_copilot_app",
    ]
    info = _gauge("user_usage_info", f"Which Copilot features the user used (always 1). {DAY}.", user + flags)
    dropped = _gauge(
        "usage_user_series_dropped",
        "Users left without per-user series by the cap on their number (those with the fewest AI credits).",
    )
    kept: dict[tuple[str, str], int] = {}
    if user_label is not None:
        for snap, figures, user_value in _capped(snapshots, max_user_series, user_label):
            labels = [*snap.target.labels, user_value]
            credits.add_metric(labels, figures.ai_credits_used)
            interactions.add_metric(labels, figures.interactions)
            acceptances.add_metric(labels, figures.acceptances)
            used = [getattr(figures, flag) for flag in flags]
            info.add_metric([*labels, *("true" if flag else "false" for flag in used)], 1.0)
            kept[snap.target.labels] = kept.get(snap.target.labels, 0) + 1
    for snap in snapshots:
        # With per-user series switched off nothing is dropped: there is no cap to report on.
        dropped.add_metric(
            snap.target.labels, 0 if user_label is None else len(snap.users) - kept.get(snap.target.labels, 0)
        )
    yield from (credits, interactions, acceptances, info, dropped)


def _capped(
    snapshots: list[UsageSnapshot], limit: int, user_label: Callable[[str], str]
) -> Iterator[tuple[UsageSnapshot, UserFigures, str]]:
    """The ``limit`` users with the most AI credits over all targets (each snapshot is sorted so), each
    with its ``user`` label: unique within the target, as the seats' (see :func:`unique_labels`)."""
    streams = [_paired(snap, user_label) for snap in snapshots]
    merged = heapq.merge(
        *streams, key=lambda pair: (-pair[1].ai_credits_used, -pair[1].interactions, pair[1].login)
    )
    for count, pair in enumerate(merged):
        if count >= limit:
            return
        yield pair


def _paired(
    snap: UsageSnapshot, user_label: Callable[[str], str]
) -> Iterator[tuple[UsageSnapshot, UserFigures, str]]:
    # A function, not a nested generator expression, which would see only the last snapshot.
    labels = unique_labels([(snap.target.labels, u.login, u.user_id) for u in snap.users], user_label)
    for user, label in zip(snap.users, labels, strict=True):
        yield snap, user, label
