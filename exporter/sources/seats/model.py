"""Lenient parsing of GitHub's Copilot billing answers into plain, immutable records.

GitHub documents every seat field but ``created_at`` as optional and nullable, and its own examples do
not validate against its schema, so anything unexpected in an optional field is ignored; only a body
that is not the documented envelope, or a seat without a usable ``created_at``, is rejected.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.errors import MalformedResponseError
from exporter.github.answers import json_integer, json_list, json_number, json_object
from exporter.github.text import clean_text, quoted
from exporter.github.timestamps import parse_timestamp

PLAN_TYPES = frozenset({"business", "enterprise"})
BILLING_STATES = (
    "total",
    "added_this_cycle",
    "pending_invitation",
    "pending_cancellation",
    "active_this_cycle",
    "inactive_this_cycle",
)
POLICY_FIELDS = ("seat_management_setting", "ide_chat", "platform_chat", "cli", "public_code_suggestions")


@dataclass(frozen=True, slots=True)
class Seat:
    """One Copilot seat as GitHub lists it (one grant; enterprises list a user once per grant)."""

    user_id: int | None
    login: str
    org: str
    team: str
    plan_type: str
    created_at: float
    last_activity_at: float | None
    last_activity_editor: str
    last_authenticated_at: float | None
    pending_cancellation_date: float | None
    #: The granting team's kind: "organization", "enterprise" (an enterprise team), "" (no team).
    team_kind: str = ""

    @property
    def editor(self) -> str:
        return editor_family(self.last_activity_editor) if self.last_activity_at is not None else "none"


@dataclass(frozen=True, slots=True)
class SeatPage:
    total_seats: int
    seats: tuple[Seat, ...]


@dataclass(frozen=True, slots=True)
class OrgBilling:
    """``GET /orgs/{org}/copilot/billing``: GitHub's own seat breakdown and the organization's policies."""

    plan_type: str
    seat_breakdown: Mapping[str, int]
    policies: Mapping[str, str]


def editor_family(raw: str) -> str:
    """``vscode/1.77.3/copilot/1.86.82`` -> ``vscode``; opaque values such as ``copilot_pr_review`` stay."""
    family = raw.split("/", 1)[0].strip().lower()
    return family or "unknown"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _shared(value: Any) -> str:
    """A string that repeats across seats (org, team, plan, editor), stored once for all of them.

    A 100,000-seat enterprise has a few hundred distinct values of each; without interning every seat
    would hold its own copy, decoded afresh from each page.
    """
    return sys.intern(clean_text(value))


def team_kind(team: Mapping[str, Any]) -> str:
    """An org team or an enterprise team: ``type`` when given (GitHub's own examples omit it), else the
    fields only enterprise teams carry."""
    if not team:
        return ""
    kind = team.get("type")
    if kind in ("organization", "enterprise"):
        return "enterprise" if kind == "enterprise" else "organization"
    url = team.get("html_url")
    if "group_id" in team or (isinstance(url, str) and "/enterprises/" in url):
        return "enterprise"
    return "organization"


def parse_seat(raw: Any, *, where: str = "seat") -> Seat:
    raw = json_object(raw, where)
    created_at = parse_timestamp(raw.get("created_at"))
    if created_at is None:
        raise MalformedResponseError(f"{where} has no valid created_at ({quoted(raw.get('created_at'))})")
    assignee = _mapping(raw.get("assignee"))
    user_id = assignee.get("id")
    plan = raw.get("plan_type")
    editor = raw.get("last_activity_editor")
    return Seat(
        user_id=user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None,
        login=clean_text(assignee.get("login")),
        org=_shared(_mapping(raw.get("organization")).get("login")),
        team=_shared(_mapping(raw.get("assigning_team")).get("slug")),
        plan_type=_shared(plan) if plan in PLAN_TYPES else "unknown",
        created_at=created_at,
        last_activity_at=parse_timestamp(raw.get("last_activity_at")),
        last_activity_editor=_shared(editor),
        last_authenticated_at=parse_timestamp(raw.get("last_authenticated_at")),
        pending_cancellation_date=parse_timestamp(raw.get("pending_cancellation_date")),
        team_kind=team_kind(_mapping(raw.get("assigning_team"))),
    )


def parse_seat_page(body: Any, *, where: str = "page") -> SeatPage:
    """One page of ``…/copilot/billing/seats``: ``{"total_seats": int, "seats": [...]}``."""
    body = json_object(body, where)
    total = json_integer(body, "total_seats", where)
    seats = json_list(body.get("seats"), f"{where}.seats")
    return SeatPage(total, tuple(parse_seat(s, where=f"{where} seat {i}") for i, s in enumerate(seats)))


def parse_org_billing(body: Any) -> OrgBilling:
    body = json_object(body, "billing")
    breakdown = json_object(body.get("seat_breakdown"), "billing.seat_breakdown")
    counts = {
        state: int(json_number(value, "billing: seat_breakdown", state, signed=True))
        for state in BILLING_STATES
        if isinstance(value := breakdown.get(state), int) and not isinstance(value, bool)
    }
    plan = body.get("plan_type")
    policies = {name: clean_text(value) for name in POLICY_FIELDS if isinstance(value := body.get(name), str)}
    return OrgBilling(
        plan_type=plan if plan in PLAN_TYPES else "unknown", seat_breakdown=counts, policies=policies
    )
