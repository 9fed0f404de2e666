"""The fields the exporter knows in each usage report, and the names of those it does not.

GitHub keeps adding fields to the records (``CHANGES-2026.md``). A field the exporter does not know is
not an error, and a known field missing is none either, but a new one should not go unnoticed: its
name (never its value, which may be a login or a repository) is logged once per poll at debug level
and the number of distinct such names is a metric. Top-level fields are checked, and the fields of
the objects and array items the exporter reads, one level down (``pull_requests.x``,
``totals_by_ide[].x``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from exporter.sources.usage.model import COUNTER_FIELDS, PULL_REQUEST_COUNTS, PULL_REQUEST_MEDIANS

_COUNTERS = frozenset(COUNTER_FIELDS)
_TOOL = frozenset({"session_count", "request_count", "prompt_count", "token_usage", "last_known_cli_version"})
_IDE = _COUNTERS | {"ide", "last_known_ide_version", "last_known_plugin_version"}
_BREAKDOWNS: dict[str, frozenset[str] | None] = {
    "totals_by_ide": _IDE,
    "totals_by_feature": _COUNTERS | {"feature"},
    "totals_by_language_feature": _COUNTERS | {"language", "feature"},
    "totals_by_language_model": _COUNTERS | {"language", "model"},
    "totals_by_model_feature": _COUNTERS | {"model", "feature"},
    "totals_by_cli": _TOOL,
    "totals_by_copilot_app": _TOOL,
    "totals_by_3rd_party_agent": frozenset(
        {"agent_id", "agent_name", "user_initiated_interaction_count", "session_count"}
    ),
}
#: Fields every record may carry: ids, the day, and the partition columns of GitHub's UI exports.
_COMMON: dict[str, frozenset[str] | None] = dict.fromkeys(
    ("day", "organization_id", "enterprise_id", "etl_id", "day_partition", "entity_id_partition")
)
_PULL_REQUESTS = frozenset(
    (*PULL_REQUEST_COUNTS, *PULL_REQUEST_MEDIANS, "copilot_suggestions_by_comment_type")
)
_PHASE = frozenset(
    {
        "phase",
        "phase_number",
        "total_engaged_users",
        "total_pull_requests_merged",
        *(f"avg_{name}" for name in ("user_initiated_interactions", "code_generation_activities")),
        *(f"avg_{name}" for name in ("code_acceptance_activities", "loc_added", "loc_deleted")),
        *(f"avg_pull_requests_{name}" for name in ("created", "reviewed", "merged", "review_cycles")),
        "avg_pull_requests_median_minutes_to_merge",
        "avg_pull_requests_minutes_to_review",
    }
)
_WINDOWS = ("daily", "weekly", "monthly")
#: Report -> known field -> the known fields of its objects or array items (None: not looked into).
KNOWN: dict[str, dict[str, frozenset[str] | None]] = {
    "entity": {
        **_COMMON,
        **dict.fromkeys(_COUNTERS),
        **_BREAKDOWNS,
        **dict.fromkeys(("daily_active_users", "weekly_active_users", "monthly_active_users")),
        **dict.fromkeys(
            ("monthly_active_chat_users", "monthly_active_agent_users", "daily_active_cli_users")
        ),
        **dict.fromkeys(
            f"{w}_{m}_copilot_code_review_users" for w in _WINDOWS for m in ("active", "passive")
        ),
        **dict.fromkeys(f"{w}_active_copilot_cloud_agent_users" for w in _WINDOWS),
        "daily_active_copilot_app_users": None,
        "pull_requests": _PULL_REQUESTS,
        "totals_by_ai_adoption_phase": _PHASE,
    },
    "users": {
        **_COMMON,
        **dict.fromkeys(_COUNTERS),
        **_BREAKDOWNS,
        **dict.fromkeys(("user_id", "user_login", "ai_credits_used", "used_chat", "used_agent", "used_cli")),
        **dict.fromkeys(("used_copilot_code_review_active", "used_copilot_code_review_passive")),
        **dict.fromkeys(("used_copilot_cloud_agent", "used_copilot_coding_agent", "used_copilot_app")),
        "ai_adoption_phase": frozenset({"phase", "phase_number", "version"}),
    },
    "user_teams": {**_COMMON, **dict.fromkeys(("user_id", "user_login", "team_id", "slug"))},
}
#: Reports in the order their metric lists them.
REPORTS = tuple(KNOWN)


#: Per report, the known fields whose objects (or lists of objects) have known fields of their own.
_NESTED = {report: frozenset(name for name, children in known.items() if children is not None)
           for report, known in KNOWN.items()}  # fmt: skip


def unknown_fields(report: str, raw: Mapping[str, Any]) -> set[str]:
    """The names of ``raw``'s fields (one level into the known objects) that ``report`` does not know."""
    known = KNOWN[report]
    # Set operations on the names, in C, then a look into the few nested fields the record has: this
    # runs for every row of a 100,000-user report.
    found: set[str] = raw.keys() - known.keys()
    for name in _NESTED[report].intersection(raw):
        value = raw[name]
        children = known[name]
        assert children is not None
        if isinstance(value, list):
            # Every item an object of known fields, decided in C; an item not an object (a TypeError
            # from issuperset, or a string's letters) is looked at one by one below.
            with contextlib.suppress(TypeError):
                if all(map(children.issuperset, value)):
                    continue
            for item in value:
                if isinstance(item, Mapping) and not children.issuperset(item):
                    found.update(f"{name}[].{child}" for child in item if child not in children)
        elif isinstance(value, Mapping) and not children.issuperset(value):
            found.update(f"{name}.{child}" for child in value if child not in children)
    return found
