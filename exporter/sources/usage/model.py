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

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import msgspec

from exporter.errors import MalformedResponseError
from exporter.github.answers import (
    json_boolean,
    json_integer,
    json_list,
    json_number,
    json_object,
    json_string,
)

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
PULL_REQUEST_COUNTS = (
    "total_created",
    "total_reviewed",
    "total_merged",
    "total_suggestions",
    "total_applied_suggestions",
    "total_created_by_copilot",
    "total_reviewed_by_copilot",
    "total_merged_created_by_copilot",
    "total_merged_reviewed_by_copilot",
    "total_copilot_suggestions",
    "total_copilot_applied_suggestions",
)
PULL_REQUEST_MEDIANS = (
    "median_minutes_to_merge",
    "median_minutes_to_merge_copilot_authored",
    "median_minutes_to_merge_copilot_reviewed",
)
CLI_FIELDS = ("session_count", "request_count", "prompt_count")
TOKEN_FIELDS = ("prompt_tokens_sum", "output_tokens_sum")


@dataclass(frozen=True, slots=True)
class ReportLinks:
    """One 1-day report endpoint's answer: where its NDJSON files are."""

    day: date
    links: tuple[str, ...]


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
    #: :data:`ACTIVE_USER_FIELDS` -> count (absent fields are 0).
    active_users: Mapping[str, int]
    counters: Counters
    #: Breakdown name (a key of :data:`BREAKDOWNS`) -> its items.
    breakdowns: Mapping[str, tuple[BreakdownItem, ...]]
    #: :data:`CLI_FIELDS` and :data:`TOKEN_FIELDS` -> value; empty on days without CLI use.
    cli: Mapping[str, int]
    #: :data:`PULL_REQUEST_COUNTS` -> count; empty when the record has no ``pull_requests``.
    pull_requests: Mapping[str, int]
    #: :data:`PULL_REQUEST_MEDIANS` -> minutes, only those present.
    pull_request_medians: Mapping[str, float]
    #: comment type -> (suggestions, applied suggestions).
    suggestions_by_comment_type: Mapping[str, tuple[int, int]]


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


@dataclass(frozen=True, slots=True)
class UserTeam:
    """One ``user-teams-1-day`` record: a user's membership of one team on one day."""

    user_id: int
    day: date
    team_id: int
    slug: str


def _dimension(raw: Mapping[str, Any], key: str, where: str) -> str:
    """A breakdown key (IDE, feature, language, model, team slug), "unknown" when absent.

    The values repeat on every line of a report, so they are interned: one copy serves them all. The
    model breakdowns' item layout is undocumented, hence the lenient default for a missing key.
    """
    return sys.intern(json_string(raw, key, where, default="unknown"))


def _number(value: Any, where: str, key: str) -> float:
    return float(json_number(value, where, key))


def _count(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if value is None:
        return 0
    return round(json_number(value, where, key))


def _day(raw: Mapping[str, Any], key: str, where: str) -> date:
    value = raw.get(key)
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedResponseError(
            f"{where}.{key}: expected a YYYY-MM-DD date, got {value!r:.40}"
        ) from None


def parse_report_links(body: Any) -> ReportLinks | None:
    """A 1-day report endpoint's body; None for ``204 No Content`` (no report for that day)."""
    if body is None:
        return None
    where = "report"
    raw = json_object(body, where)
    links = json_list(raw.get("download_links"), f"{where}.download_links")
    for link in links:
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
            raise MalformedResponseError(f"{where}: a download link is not an http(s) URL")
    # A link listed twice is one file: read twice, its records would count twice.
    return ReportLinks(_day(raw, "report_day", where), tuple(dict.fromkeys(links)))


#: msgspec's decoder into plain dicts and lists: the lines of a users report decode in about half the
#: time of json.loads (benchmarks/parse_bench.py).
_decode = msgspec.json.Decoder().decode


def parse_line(line: bytes, where: str) -> Mapping[str, Any] | None:
    """One NDJSON line as an object; None for a blank line (a trailing newline, say)."""
    if not line.strip():
        return None
    try:
        value = _decode(line)
    except (msgspec.DecodeError, ValueError, RecursionError):  # a ValueError only from msgspec 0.19 on
        # msgspec refuses some lines json.loads reads: NaN and infinities, a number beyond a float,
        # a lone surrogate escape, a byte order mark. json.loads decides those, so a line means what
        # it always meant, and a number out of range is named by its field rather than the line.
        value = _decode_slowly(line, where)
    return json_object(value, where)


def _decode_slowly(line: bytes, where: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        raise MalformedResponseError(f"{where}: not a JSON line") from None


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


def _cli(raw: Mapping[str, Any], where: str) -> dict[str, int]:
    block = raw.get("totals_by_cli")
    if block is None:
        return {}
    block = json_object(block, f"{where}.totals_by_cli")
    tokens = json_object(block.get("token_usage", {}), f"{where}.totals_by_cli.token_usage")
    figures = {key: _count(block, key, where) for key in CLI_FIELDS}
    figures.update({key: _count(tokens, key, where) for key in TOKEN_FIELDS})
    return figures


def parse_entity_record(raw: Mapping[str, Any], where: str) -> EntityDay:
    prs = raw.get("pull_requests")
    prs = json_object(prs, f"{where}.pull_requests") if prs is not None else {}
    medians = {key: _number(prs[key], where, key) for key in PULL_REQUEST_MEDIANS if prs.get(key) is not None}
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
        active_users={key: _count(raw, key, where) for key in ACTIVE_USER_FIELDS},
        counters=parse_counters(raw, where),
        breakdowns={name: _breakdown(raw, name, where) for name in BREAKDOWNS},
        cli=_cli(raw, where),
        pull_requests={key: _count(prs, key, where) for key in PULL_REQUEST_COUNTS} if prs else {},
        pull_request_medians=medians,
        suggestions_by_comment_type=by_type,
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
    )


def parse_user_team_record(raw: Mapping[str, Any], where: str) -> UserTeam:
    return UserTeam(
        user_id=json_integer(raw, "user_id", where),
        day=_day(raw, "day", where),
        team_id=json_integer(raw, "team_id", where),
        slug=sys.intern(json_string(raw, "slug", where)),
    )
