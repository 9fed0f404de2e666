"""Strict parsing of Copilot usage-metrics reports: the link endpoints and the NDJSON records behind them.

The report endpoints answer ``{"download_links": [...], "report_day": "YYYY-MM-DD"}``; the links lead to
newline-delimited JSON, one record per line. GitHub documents the records only by example, so a field
that is absent counts as zero (GitHub omits e.g. ``daily_active_cli_users`` on days without CLI use), but
a field that is present must have the documented type: a number that is negative, beyond 2**53 (see
:func:`~exporter.github.answers.json_number`), infinite or not a number at all fails the whole report
rather than skewing a sum.

Every string that becomes a label value goes through :func:`~exporter.github.text.clean_text` here, once.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from exporter.github.answers import (
    json_boolean,
    json_integer,
    json_list,
    json_object,
    json_string,
)
from exporter.github.reports import PULL_REQUEST_COUNTS as PULL_REQUEST_COUNTS
from exporter.github.reports import PULL_REQUEST_MEDIANS as PULL_REQUEST_MEDIANS
from exporter.github.reports import ReportLinks as ReportLinks
from exporter.github.reports import parse_line as parse_line
from exporter.github.reports import parse_report_links as parse_report_links
from exporter.github.reports import pull_request_counts, pull_request_medians, pull_requests
from exporter.github.reports import report_day as _day
from exporter.sources.usage.agents import (
    NO_EXTRAS,
    AgentItem,
    PhaseItem,
    UserExtras,
    adoption_phases,
    nullable_active_users,
    third_party_agents,
    tool_totals,
    user_extras,
)
from exporter.sources.usage.values import count as _count
from exporter.sources.usage.values import dimension as _dimension
from exporter.sources.usage.values import number as _number

#: The activity counters of every level and breakdown item, in the order of :class:`Counters`.
COUNTER_FIELDS = (
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
)
#: Breakdown array -> the dimension keys of its items.
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "totals_by_ide": ("ide",),
    "totals_by_feature": ("feature",),
    "totals_by_language_feature": ("language", "feature"),
    "totals_by_model_feature": ("model", "feature"),
    "totals_by_language_model": ("language", "model"),
}
#: Entity-level user counts, each the number of distinct users in a window.
ACTIVE_USER_FIELDS = (
    "daily_active_users",
    "weekly_active_users",
    "monthly_active_users",
    "monthly_active_chat_users",
    "monthly_active_agent_users",
    "daily_active_cli_users",
    "daily_active_copilot_code_review_users",
    "weekly_active_copilot_code_review_users",
    "monthly_active_copilot_code_review_users",
    "daily_passive_copilot_code_review_users",
    "weekly_passive_copilot_code_review_users",
    "monthly_passive_copilot_code_review_users",
)


@dataclass(frozen=True, slots=True)
class Counters:
    """The seven activity counters, named as in :data:`COUNTER_FIELDS` (``loc`` = lines of code)."""

    interactions: int = 0
    generations: int = 0
    acceptances: int = 0
    loc_suggested_added: int = 0
    loc_suggested_deleted: int = 0
    loc_added: int = 0
    loc_deleted: int = 0

    def plus(self, other: Counters) -> Counters:
        return Counters(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def values(self) -> tuple[int, ...]:
        return (
            self.interactions,
            self.generations,
            self.acceptances,
            self.loc_suggested_added,
            self.loc_suggested_deleted,
            self.loc_added,
            self.loc_deleted,
        )

    @property
    def volume(self) -> int:
        """Activity events (not lines): what ranks IDEs, features, languages and models for the top-N cut."""
        return self.interactions + self.generations + self.acceptances


@dataclass(frozen=True, slots=True)
class BreakdownItem:
    #: Values of the breakdown's dimension keys, in the order of :data:`BREAKDOWNS`.
    keys: tuple[str, ...]
    counters: Counters


@dataclass(frozen=True, slots=True)
class EntityDay:
    """One ``organization-1-day`` or ``enterprise-1-day`` record (the entity's figures of one day)."""

    day: date
    #: :data:`ACTIVE_USER_FIELDS` -> count (absent fields are 0), and those of
    #: :data:`~exporter.sources.usage.agents.NULLABLE_ACTIVE_USER_FIELDS` the record has a number for.
    active_users: Mapping[str, int]
    counters: Counters
    #: Breakdown name (a key of :data:`BREAKDOWNS`) -> its items.
    breakdowns: Mapping[str, tuple[BreakdownItem, ...]]
    #: ``TOOL_FIELDS`` and ``TOKEN_FIELDS`` (of :mod:`~exporter.sources.usage.agents`) -> value; empty
    #: on days without CLI use.
    cli: Mapping[str, int]
    #: :data:`PULL_REQUEST_COUNTS` -> count; empty when the record has no ``pull_requests``.
    pull_requests: Mapping[str, int]
    #: :data:`PULL_REQUEST_MEDIANS` -> minutes, only those present.
    pull_request_medians: Mapping[str, float]
    #: comment type -> (suggestions, applied suggestions).
    suggestions_by_comment_type: Mapping[str, tuple[int, int]]
    #: ``totals_by_copilot_app`` as :attr:`cli`; empty when the record has none.
    copilot_app: Mapping[str, int] = dataclasses.field(default_factory=dict)
    third_party_agents: tuple[AgentItem, ...] = ()
    adoption_phases: tuple[PhaseItem, ...] = ()


@dataclass(frozen=True, slots=True)
class UserDay:
    """The part of a ``users-1-day`` record the metrics use; the per-user breakdowns are not kept."""

    user_id: int
    login: str
    day: date
    counters: Counters
    ai_credits_used: float
    used_chat: bool
    used_agent: bool
    used_cli: bool
    used_code_review_active: bool
    used_code_review_passive: bool
    extras: UserExtras = NO_EXTRAS


@dataclass(frozen=True, slots=True)
class UserTeam:
    """One ``user-teams-1-day`` record: a user's membership of one team on one day."""

    user_id: int
    day: date
    team_id: int
    slug: str


def parse_counters(raw: Mapping[str, Any], where: str) -> Counters:
    return Counters(*(_count(raw, key, where) for key in COUNTER_FIELDS))


def _breakdown(raw: Mapping[str, Any], name: str, where: str) -> tuple[BreakdownItem, ...]:
    items = json_list(raw.get(name, []), f"{where}.{name}")
    dimensions = BREAKDOWNS[name]
    parsed = []
    for index, item in enumerate(items):
        here = f"{where} {name}[{index}]"
        item = json_object(item, here)
        keys = tuple(_dimension(item, key, here) for key in dimensions)
        parsed.append(BreakdownItem(keys, parse_counters(item, here)))
    return tuple(parsed)


def parse_entity_record(raw: Mapping[str, Any], where: str) -> EntityDay:
    prs = pull_requests(raw, where)
    medians = pull_request_medians(prs, where)
    by_type: dict[str, tuple[int, int]] = {}
    comment_types = json_list(
        prs.get("copilot_suggestions_by_comment_type", []), f"{where}.copilot_suggestions_by_comment_type"
    )
    for item in comment_types:
        item = json_object(item, f"{where} comment type")
        kind = _dimension(item, "comment_type", where)
        old = by_type.get(kind, (0, 0))
        by_type[kind] = (
            old[0] + _count(item, "total_copilot_suggestions", where),
            old[1] + _count(item, "total_copilot_applied_suggestions", where),
        )
    return EntityDay(
        day=_day(raw, "day", where),
        active_users={key: _count(raw, key, where) for key in ACTIVE_USER_FIELDS}
        | nullable_active_users(raw, where),
        counters=parse_counters(raw, where),
        breakdowns={name: _breakdown(raw, name, where) for name in BREAKDOWNS},
        cli=tool_totals(raw, "totals_by_cli", where),
        pull_requests=dict(zip(PULL_REQUEST_COUNTS, pull_request_counts(prs, where), strict=True))
        if prs
        else {},
        pull_request_medians=medians,
        suggestions_by_comment_type=by_type,
        copilot_app=tool_totals(raw, "totals_by_copilot_app", where),
        third_party_agents=third_party_agents(raw, where),
        adoption_phases=adoption_phases(raw, where),
    )


def parse_user_record(raw: Mapping[str, Any], where: str) -> UserDay:
    credits = raw.get("ai_credits_used")
    return UserDay(
        user_id=json_integer(raw, "user_id", where),
        login=json_string(raw, "user_login", where),
        day=_day(raw, "day", where),
        counters=parse_counters(raw, where),
        ai_credits_used=0.0 if credits is None else _number(credits, where, "ai_credits_used"),
        used_chat=json_boolean(raw, "used_chat", where, default=False),
        used_agent=json_boolean(raw, "used_agent", where, default=False),
        used_cli=json_boolean(raw, "used_cli", where, default=False),
        used_code_review_active=json_boolean(raw, "used_copilot_code_review_active", where, default=False),
        used_code_review_passive=json_boolean(raw, "used_copilot_code_review_passive", where, default=False),
        extras=user_extras(raw, where),
    )


def parse_user_team_record(raw: Mapping[str, Any], where: str) -> UserTeam:
    return UserTeam(
        user_id=json_integer(raw, "user_id", where),
        day=_day(raw, "day", where),
        team_id=json_integer(raw, "team_id", where),
        slug=sys.intern(json_string(raw, "slug", where)),
    )
