"""Parsing of the fields GitHub added to the usage records in 2026: agents, the Copilot app, AI-adoption
phases and the IDE and plugin versions users run (``CHANGES-2026.md``, "Fields added").

As everywhere in the usage records, an absent field is no error (older days do not have these), but a
present one must have its documented type. The cloud-agent counts are documented as nullable and the
Copilot app's as seen only: absent or null they stay None, an absent series rather than a zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.github.answers import json_boolean, json_list, json_object
from exporter.sources.usage.values import count, dimension, number, optional_count

#: Nullable entity-level user counts -> None when absent or null.
NULLABLE_ACTIVE_USER_FIELDS = (
    "daily_active_copilot_cloud_agent_users",
    "weekly_active_copilot_cloud_agent_users",
    "monthly_active_copilot_cloud_agent_users",
    "daily_active_copilot_app_users",
)
#: Counts of ``totals_by_cli`` and ``totals_by_copilot_app``, and of their ``token_usage``.
TOOL_FIELDS = ("session_count", "request_count", "prompt_count")
TOKEN_FIELDS = ("prompt_tokens_sum", "output_tokens_sum")
#: ``totals_by_ai_adoption_phase[]`` averages per engaged user; ``*_minutes_*`` ones are durations.
PHASE_AVERAGES = (
    "avg_user_initiated_interactions",
    "avg_code_generation_activities",
    "avg_code_acceptance_activities",
    "avg_loc_added",
    "avg_loc_deleted",
    "avg_pull_requests_created",
    "avg_pull_requests_reviewed",
    "avg_pull_requests_merged",
    "avg_pull_requests_median_minutes_to_merge",
    "avg_pull_requests_minutes_to_review",
    "avg_pull_requests_review_cycles",
)


@dataclass(frozen=True, slots=True)
class AgentItem:
    """One ``totals_by_3rd_party_agent[]`` item (several with one name are summed)."""

    name: str
    interactions: int
    sessions: int

    @property
    def volume(self) -> int:
        return self.interactions + self.sessions


@dataclass(frozen=True, slots=True)
class PhaseItem:
    """One ``totals_by_ai_adoption_phase[]`` item."""

    phase: str
    engaged_users: int
    pull_requests_merged: int | None
    #: :data:`PHASE_AVERAGES` -> average per engaged user, only those present (minutes as GitHub sends).
    averages: Mapping[str, float]


def tool_totals(raw: Mapping[str, Any], key: str, where: str) -> dict[str, int]:
    """``totals_by_cli`` or ``totals_by_copilot_app``: :data:`TOOL_FIELDS` and :data:`TOKEN_FIELDS`;
    empty when the record has no such block."""
    block = raw.get(key)
    if block is None:
        return {}
    block = json_object(block, f"{where}.{key}")
    tokens = json_object(block.get("token_usage") or {}, f"{where}.{key}.token_usage")
    figures = {field: count(block, field, where) for field in TOOL_FIELDS}
    figures.update({field: count(tokens, field, where) for field in TOKEN_FIELDS})
    return figures


def nullable_active_users(raw: Mapping[str, Any], where: str) -> dict[str, int]:
    """The :data:`NULLABLE_ACTIVE_USER_FIELDS` the record has a number for."""
    found = {key: optional_count(raw, key, where) for key in NULLABLE_ACTIVE_USER_FIELDS}
    return {key: value for key, value in found.items() if value is not None}


def third_party_agents(raw: Mapping[str, Any], where: str) -> tuple[AgentItem, ...]:
    here = f"{where}.totals_by_3rd_party_agent"
    items = []
    for index, item in enumerate(json_list(raw.get("totals_by_3rd_party_agent") or [], here)):
        item = json_object(item, f"{here}[{index}]")
        name = dimension(item, "agent_name", here)
        items.append(
            AgentItem(
                name,
                count(item, "user_initiated_interaction_count", here),
                count(item, "session_count", here),
            )
        )
    return tuple(items)


def adoption_phases(raw: Mapping[str, Any], where: str) -> tuple[PhaseItem, ...]:
    here = f"{where}.totals_by_ai_adoption_phase"
    items = []
    for index, item in enumerate(json_list(raw.get("totals_by_ai_adoption_phase") or [], here)):
        item = json_object(item, f"{here}[{index}]")
        averages = {key: number(item[key], here, key) for key in PHASE_AVERAGES if item.get(key) is not None}
        items.append(
            PhaseItem(
                phase=dimension(item, "phase", here),
                engaged_users=count(item, "total_engaged_users", here),
                pull_requests_merged=optional_count(item, "total_pull_requests_merged", here),
                averages=averages,
            )
        )
    return tuple(items)


@dataclass(frozen=True, slots=True)
class UserExtras:
    """What a ``users-1-day`` record adds in 2026 and the metrics use."""

    used_cloud_agent: bool
    used_copilot_app: bool
    #: ``ai_adoption_phase.phase``; None when the record has none.
    phase: str | None
    #: Distinct (IDE, IDE version) and (plugin, plugin version) of the record's ``totals_by_ide[]``.
    ide_versions: tuple[tuple[str, str], ...]
    plugin_versions: tuple[tuple[str, str], ...]


NO_EXTRAS = UserExtras(
    used_cloud_agent=False, used_copilot_app=False, phase=None, ide_versions=(), plugin_versions=()
)


def user_extras(raw: Mapping[str, Any], where: str) -> UserExtras:
    # GitHub renamed the coding agent the cloud agent and sends both names: either one set is the flag.
    cloud = json_boolean(raw, "used_copilot_cloud_agent", where, default=False) or json_boolean(
        raw, "used_copilot_coding_agent", where, default=False
    )
    phase_block = raw.get("ai_adoption_phase")
    phase = None
    if phase_block is not None:
        phase = dimension(json_object(phase_block, f"{where}.ai_adoption_phase"), "phase", where)
    ides: dict[tuple[str, str], None] = {}
    plugins: dict[tuple[str, str], None] = {}
    here = f"{where}.totals_by_ide"
    # The places in error messages are built only for a value that is not an object: this runs for
    # every IDE of every user of a report.
    for index, item in enumerate(json_list(raw.get("totals_by_ide") or [], here)):
        if type(item) is not dict:
            item = json_object(item, f"{here}[{index}]")
        ide_version = item.get("last_known_ide_version")
        if ide_version is not None:
            block = (
                ide_version
                if type(ide_version) is dict
                else json_object(ide_version, f"{here}[{index}].last_known_ide_version")
            )
            ides[(dimension(item, "ide", here), dimension(block, "ide_version", here))] = None
        plugin_version = item.get("last_known_plugin_version")
        if plugin_version is not None:
            block = (
                plugin_version
                if type(plugin_version) is dict
                else json_object(plugin_version, f"{here}[{index}].last_known_plugin_version")
            )
            if block.get("plugin") or block.get("plugin_version"):  # GitHub sends both empty for none
                plugins[(dimension(block, "plugin", here), dimension(block, "plugin_version", here))] = None
    return UserExtras(
        used_cloud_agent=cloud,
        used_copilot_app=json_boolean(raw, "used_copilot_app", where, default=False),
        phase=phase,
        ide_versions=tuple(ides),
        plugin_versions=tuple(plugins),
    )
