"""The usage families of the fields GitHub added in 2026: the cloud agent, the Copilot app and CLI
totals, third-party agents, AI-adoption phases, users per IDE and plugin version, unknown fields.

As in :mod:`~exporter.sources.usage.metrics`, every family is yielded on every call. A nullable count
GitHub did not send is an absent series, never a zero. The adoption-phase averages are averages per
engaged user of the phase: summing them over phases or targets means nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.sources.usage.fields import REPORTS
from exporter.sources.usage.gauges import DAY, gauge
from exporter.sources.usage.snapshot import UsageSnapshot

#: Nullable entity field -> (family, window).
NULLABLE_ACTIVE_USERS = {
    "daily_active_copilot_cloud_agent_users": ("cloud_agent_active_users", "1d"),
    "weekly_active_copilot_cloud_agent_users": ("cloud_agent_active_users", "7d"),
    "monthly_active_copilot_cloud_agent_users": ("cloud_agent_active_users", "28d"),
    "daily_active_copilot_app_users": ("copilot_app_active_users", "1d"),
}
NULLABLE_HELP = {
    "cloud_agent_active_users": "Users of the Copilot cloud agent (coding agent) within the window ending "
    "on the report day; absent when GitHub reports none (the count is nullable).",
    "copilot_app_active_users": "Users of the Copilot app within the window ending on the report day; "
    "absent when GitHub reports none.",
}
#: Tool totals field -> (family suffix, what it counts).
TOOL_FAMILIES = (
    ("session_count", "sessions", "sessions"),
    ("request_count", "requests", "requests made to models"),
    ("prompt_count", "prompts", "prompts users sent"),
)
#: ``totals_by_ai_adoption_phase[]`` average -> (family, HELP subject, factor to the base unit).
PHASE_AVERAGES = {
    "avg_user_initiated_interactions": ("interactions", "prompts sent", 1.0),
    "avg_code_generation_activities": ("code_generations", "code generation events", 1.0),
    "avg_code_acceptance_activities": ("code_acceptances", "suggestions accepted", 1.0),
    "avg_loc_added": ("lines_added", "lines of code added by Copilot", 1.0),
    "avg_loc_deleted": ("lines_deleted", "lines of code deleted by Copilot", 1.0),
    "avg_pull_requests_created": ("pull_requests_created", "pull requests created", 1.0),
    "avg_pull_requests_reviewed": ("pull_requests_reviewed", "pull requests reviewed", 1.0),
    "avg_pull_requests_merged": ("pull_requests_merged", "pull requests merged", 1.0),
    "avg_pull_requests_median_minutes_to_merge": (
        "pull_request_merge_median_seconds",
        "median time from opening to merge of the user's pull requests, in seconds",
        60.0,
    ),
    "avg_pull_requests_minutes_to_review": (
        "pull_request_review_seconds",
        "time until the user's pull requests were reviewed, in seconds",
        60.0,
    ),
    "avg_pull_requests_review_cycles": ("pull_request_review_cycles", "review cycles per pull request", 1.0),
}
PER_USER = "Average per engaged user of the AI-adoption phase (never sum over phases or targets)"


def tool_families(snapshots: Sequence[UsageSnapshot], tool: str, title: str) -> Iterator[Metric]:
    """``usage_{tool}_sessions``, ``_requests``, ``_prompts`` and ``_tokens{type}`` of the entity's
    ``totals_by_cli`` (tool "cli") or ``totals_by_copilot_app`` (tool "copilot_app")."""
    families = [
        (field, gauge(f"usage_{tool}_{name}", f"{title} {what}. {DAY}."))
        for field, name, what in TOOL_FAMILIES
    ]
    tokens = gauge(f"usage_{tool}_tokens", f"Tokens of {title} requests, by type. {DAY}.", ["type"])
    for snap in snapshots:
        totals: Mapping[str, int] = {}
        if snap.entity is not None:
            totals = snap.entity.cli if tool == "cli" else snap.entity.copilot_app
        if not totals:
            continue
        for field, family in families:
            family.add_metric(snap.target.labels, totals.get(field, 0))
        tokens.add_metric([*snap.target.labels, "prompt"], totals.get("prompt_tokens_sum", 0))
        tokens.add_metric([*snap.target.labels, "output"], totals.get("output_tokens_sum", 0))
    yield from (family for _, family in families)
    yield tokens


def agent_families(snapshots: Sequence[UsageSnapshot]) -> Iterator[Metric]:
    yield from _nullable_active_users(snapshots)
    yield from tool_families(snapshots, "copilot_app", "Copilot app")
    yield from _third_party_agents(snapshots)
    yield from _adoption_phases(snapshots)
    yield from _user_cohorts(snapshots)
    yield _unknown_fields(snapshots)


def _nullable_active_users(snapshots: Sequence[UsageSnapshot]) -> Iterator[Metric]:
    families = {
        name: gauge(f"usage_{name}", f"{text} {DAY}.", ["window"]) for name, text in NULLABLE_HELP.items()
    }
    for snap in snapshots:
        if snap.entity is None:
            continue
        for field, (name, window) in NULLABLE_ACTIVE_USERS.items():
            found = snap.entity.active_users.get(field)
            if found is not None:
                families[name].add_metric([*snap.target.labels, window], found)
    yield from families.values()


def _third_party_agents(snapshots: Sequence[UsageSnapshot]) -> Iterator[Metric]:
    note = "by agent_name (beyond the top N summed as other)"
    interactions = gauge(
        "usage_third_party_agent_interactions",
        f"Prompts users sent to third-party agents in Copilot, {note}. {DAY}.",
        ["agent"],
    )
    sessions = gauge(
        "usage_third_party_agent_sessions",
        f"Sessions of third-party agents in Copilot, {note}. {DAY}.",
        ["agent"],
    )
    for snap in snapshots:
        for item in snap.entity.third_party_agents if snap.entity is not None else ():
            interactions.add_metric([*snap.target.labels, item.name], item.interactions)
            sessions.add_metric([*snap.target.labels, item.name], item.sessions)
    yield from (interactions, sessions)


def _adoption_phases(snapshots: Sequence[UsageSnapshot]) -> Iterator[Metric]:
    phase = ["phase"]
    engaged = gauge(
        "usage_adoption_phase_engaged_users",
        f"Users engaged with Copilot, by AI-adoption phase. {DAY}.",
        phase,
    )
    merged = gauge(
        "usage_adoption_phase_pull_requests_merged",
        f"Pull requests merged by the users of an AI-adoption phase. {DAY}.",
        phase,
    )
    averages: dict[str, tuple[GaugeMetricFamily, float]] = {
        field: (
            gauge(f"usage_adoption_phase_average_{name}", f"{PER_USER}: {what}. {DAY}.", phase),
            factor,
        )
        for field, (name, what, factor) in PHASE_AVERAGES.items()
    }
    for snap in snapshots:
        for item in snap.entity.adoption_phases if snap.entity is not None else ():
            labels = [*snap.target.labels, item.phase]
            engaged.add_metric(labels, item.engaged_users)
            if item.pull_requests_merged is not None:
                merged.add_metric(labels, item.pull_requests_merged)
            for field, value in item.averages.items():
                family, factor = averages[field]
                family.add_metric(labels, value * factor)
    yield from (engaged, merged)
    yield from (family for family, _ in averages.values())


def _user_cohorts(snapshots: Sequence[UsageSnapshot]) -> Iterator[Metric]:
    by_phase = gauge(
        "usage_users_by_adoption_phase",
        f"Users of the users report, by their AI-adoption phase (users without one are not counted). {DAY}.",
        ["phase"],
    )
    cut = "top N names, top N versions of each, the rest as other; a user counts once per pair"
    by_ide = gauge(
        "usage_users_by_ide_version",
        f"Users by IDE and last known IDE version ({cut}). {DAY}.",
        ["ide", "version"],
    )
    by_plugin = gauge(
        "usage_users_by_plugin_version",
        f"Users by Copilot plugin and last known plugin version ({cut}). {DAY}.",
        ["plugin", "version"],
    )
    for snap in snapshots:
        for name, users in snap.users_by_phase.items():
            by_phase.add_metric([*snap.target.labels, name], users)
        for family, pairs in ((by_ide, snap.users_by_ide_version), (by_plugin, snap.users_by_plugin_version)):
            for keys, users in pairs:
                family.add_metric([*snap.target.labels, *keys], users)
    yield from (by_phase, by_ide, by_plugin)


def _unknown_fields(snapshots: Sequence[UsageSnapshot]) -> Metric:
    family = gauge(
        "usage_unknown_fields",
        "Distinct fields of the report's records the exporter does not know (GitHub sends something "
        "new; their names are logged at debug level). " + f"{DAY}.",
        ["report"],
    )
    for snap in snapshots:
        for report in REPORTS:
            family.add_metric([*snap.target.labels, report], len(snap.unknown_fields.get(report, ())))
    return family
