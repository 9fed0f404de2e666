"""Pure logic: lenient parsing, grant merging, completeness checks, windows and cost."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.config import Target
from exporter.errors import InconsistentDataError, MalformedResponseError
from exporter.github.timestamps import parse_timestamp
from exporter.sources.seats.model import editor_family, parse_org_billing, parse_seat, parse_seat_page
from exporter.sources.seats.snapshot import build_snapshot, merge_grants

PRICES = {"business": 19.0, "enterprise": 39.0}


def seat(login: str, uid: int, created: str, **extra: Any) -> dict[str, Any]:
    return {"created_at": created, "assignee": {"login": login, "id": uid}, **extra}


def test_lenient_parsing_of_optional_fields() -> None:
    parsed = parse_seat({"created_at": "2026-01-02T03:04:05Z"})
    assert (parsed.login, parsed.org, parsed.team, parsed.plan_type) == ("", "", "", "unknown")
    assert parsed.last_activity_at is None
    assert parsed.editor == "none"
    odd = parse_seat(
        {
            "created_at": "2026-01-02T03:04:05+02:00",
            "assignee": {"login": "x", "id": True},  # wrong type: ignored, not fatal
            "assigning_team": {"slug": "t"},  # GitHub's own example lacks `type`
            "plan_type": "premium-ultra",
            "last_activity_at": "not a date",
            "last_activity_editor": 42,
            "pending_cancellation_date": "2026-02-01",
            "surprise": {"new": "field"},
        }
    )
    assert odd.user_id is None
    assert odd.team == "t"
    assert odd.plan_type == "unknown"
    assert odd.last_activity_at is None
    assert odd.created_at == parse_timestamp("2026-01-02T01:04:05Z")
    assert odd.pending_cancellation_date == parse_timestamp("2026-02-01T00:00:00Z")


def test_a_seat_without_created_at_or_a_broken_envelope_is_rejected() -> None:
    with pytest.raises(MalformedResponseError):
        parse_seat({"assignee": {"login": "x"}})
    with pytest.raises(MalformedResponseError):
        parse_seat_page({"seats": []})
    with pytest.raises(MalformedResponseError):
        parse_seat_page({"total_seats": 1, "seats": "nope"})
    with pytest.raises(MalformedResponseError):
        parse_seat_page(["not", "an", "object"])
    with pytest.raises(MalformedResponseError):
        parse_org_billing({"plan_type": "business"})


def test_editor_family() -> None:
    assert editor_family("vscode/1.77.3/copilot/1.86.82") == "vscode"
    assert editor_family("JetBrains-IU/2024.1/copilot/1.0") == "jetbrains-iu"
    assert editor_family("copilot_pr_review") == "copilot_pr_review"
    assert editor_family("") == "unknown"


def test_grants_merge_to_the_earliest_with_the_latest_activity() -> None:
    entries = [
        parse_seat(
            seat(
                "a",
                1,
                "2026-03-01T00:00:00Z",
                organization={"login": "late"},
                last_activity_at="2026-06-01T00:00:00Z",
                last_activity_editor="vscode/1",
            )
        ),
        parse_seat(
            seat(
                "a",
                1,
                "2026-01-01T00:00:00Z",
                organization={"login": "early"},
                assigning_team={"slug": "t1"},
                pending_cancellation_date="2026-07-01",
            )
        ),
        parse_seat(seat("b", 2, "2026-01-01T00:00:00Z", pending_cancellation_date="2026-07-01")),
    ]
    merged = {s.login: s for s in merge_grants(entries)}
    assert merged["a"].org == "early"
    assert merged["a"].team == "t1"
    assert merged["a"].last_activity_at == parse_timestamp("2026-06-01T00:00:00Z")
    assert merged["a"].editor == "vscode"
    assert merged["a"].pending_cancellation_date is None  # one grant stays
    assert merged["b"].pending_cancellation_date is not None


def test_incomplete_or_inconsistent_lists_are_refused() -> None:
    one = parse_seat_page({"total_seats": 2, "seats": [seat("a", 1, "2026-01-01T00:00:00Z")]})
    with pytest.raises(InconsistentDataError):
        build_snapshot(Target("org", "o"), [one], None, PRICES, 0.0)
    twice = parse_seat_page({"total_seats": 2, "seats": [seat("a", 1, "2026-01-01T00:00:00Z")] * 2})
    with pytest.raises(InconsistentDataError):
        build_snapshot(Target("org", "o"), [twice], None, PRICES, 0.0)
    # Enterprise lists repeat users by design; total_seats counts them once.
    ent = parse_seat_page({"total_seats": 1, "seats": [seat("a", 1, "2026-01-01T00:00:00Z")] * 2})
    assert len(build_snapshot(Target("enterprise", "e"), [ent], None, PRICES, 0.0).seats) == 1
    p1 = parse_seat_page({"total_seats": 2, "seats": [seat("a", 1, "2026-01-01T00:00:00Z")]})
    p2 = parse_seat_page({"total_seats": 3, "seats": [seat("b", 2, "2026-01-01T00:00:00Z")]})
    with pytest.raises(InconsistentDataError):
        build_snapshot(Target("org", "o"), [p1, p2], None, PRICES, 0.0)


def test_windows_and_costs_from_the_snapshot() -> None:
    now = parse_timestamp("2026-06-30T00:00:00Z") or 0.0
    page = parse_seat_page(
        {
            "total_seats": 3,
            "seats": [
                seat(
                    "a",
                    1,
                    "2026-01-01T00:00:00Z",
                    last_activity_at="2026-06-29T12:00:00Z",
                    plan_type="business",
                ),
                seat(
                    "b",
                    2,
                    "2026-01-01T00:00:00Z",
                    last_activity_at="2026-06-10T00:00:00Z",
                    plan_type="business",
                ),
                seat("c", 3, "2026-01-01T00:00:00Z"),
            ],
        }
    )
    billing = parse_org_billing({"seat_breakdown": {"total": 3}, "plan_type": "enterprise"})
    snap = build_snapshot(Target("org", "o"), [page], billing, PRICES, now)
    groups = {g.key.plan_type: g for g in snap.groups}
    business, enterprise = groups["business"], groups["enterprise"]  # c: unknown -> the org's plan
    assert business.active_since(now - 86400) == 1
    assert business.active_since(now - 30 * 86400) == 2
    assert enterprise.without_activity == 1
    assert business.monthly_cost_usd + enterprise.monthly_cost_usd == 19 * 2 + 39
    assert all(s.org == "o" for s in snap.seats)


def test_unknown_plans_of_enterprise_seats_take_their_organizations_plan() -> None:
    def granted(login: str, uid: int, org: str | None, plan: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"organization": {"login": org, "id": uid} if org else None}
        if plan is not None:
            extra["plan_type"] = plan
        return seat(login, uid, "2026-01-01T00:00:00Z", **extra)

    page = parse_seat_page(
        {
            "total_seats": 6,
            "seats": [
                granted("a", 1, "big", "enterprise"),
                granted("b", 2, "big", "enterprise"),
                granted("c", 3, "big", "unknown"),
                granted("d", 4, "small", "business"),
                granted("e", 5, "small", None),  # missing: as unknown
                granted("f", 6, None, None),  # granted by the enterprise: its majority plan
            ],
        }
    )
    snap = build_snapshot(Target("enterprise", "e"), [page], None, PRICES, 0.0)
    plans = {s.login: s.plan_type for s in snap.seats}
    assert plans == {
        "a": "enterprise",
        "b": "enterprise",
        "c": "enterprise",
        "d": "business",
        "e": "business",
        "f": "enterprise",
    }
    assert sum(g.monthly_cost_usd for g in snap.groups) == 39 * 4 + 19 * 2
    # No seat says: the plan stays unknown, priced as business (the configured fallback).
    bare = parse_seat_page({"total_seats": 1, "seats": [granted("g", 7, "x", None)]})
    (only,) = build_snapshot(Target("enterprise", "e2"), [bare], None, PRICES, 0.0).groups
    assert only.key.plan_type == "unknown"
    assert only.monthly_cost_usd == 19
