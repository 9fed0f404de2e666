"""Seats on answers nobody on this project wrote: GitHub's documented example and a peer project's samples.

Each scenario serves a recorded seat list (``../shared/recorded/``, skipped where that directory is
absent) or one of the project's fixtures reproducing its shape (``tests/fixtures/seats/``, always)
through the fake GitHub over HTTP, polls it with the exporter on a clock the test fixes, scrapes
``/metrics`` at that clock and compares every seat figure with a computation over the JSON itself
(grants merged per ``assignee.id``, GitHub's ISO time stamps read with ``datetime``).
"""

from __future__ import annotations

import copy
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.privacy import UserLabels
from exporter.sources.seats import SeatSource
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub, FakeOrg
from tests.inprocess import ManualClock, make_config, metrics, run_scenario
from tests.support import (
    SHARED,
    TOKEN,
    Labels,
    parse_exposition,
    serve_fake,
    start_exporter,
    value,
    wait_until,
)

REPO = Path(__file__).resolve().parent.parent
RECORDED = SHARED / "recorded"
FIXTURES = REPO / "tests" / "fixtures" / "seats"
#: The test's clock: a fixed instant, never today.
NOW = datetime(2026, 7, 31, 12, 0, 30, tzinfo=UTC)
WINDOWS = {"1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}
PRICES = {"business": 21.0, "enterprise": 41.0}
BILLING_STATES = (
    "total",
    "added_this_cycle",
    "pending_invitation",
    "pending_cancellation",
    "active_this_cycle",
    "inactive_this_cycle",
)
POLICIES = ("seat_management_setting", "ide_chat", "platform_chat", "cli", "public_code_suggestions")
pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    target: str
    seats: str
    #: GitHub's billing summary of an organization target.
    billing: str | None
    recorded: bool
    #: Shift every time stamp by whole days so that the newest activity is this many days before NOW.
    newest_activity_days_ago: int | None = None
    #: (seat index, new assignee.id): a labelled, modified variant of the recorded file.
    fix_ids: tuple[tuple[int, int], ...] = ()


ORG_DETAILS = "official/copilot-organization-details.json"
SCENARIOS = [
    Scenario("official-org-fixed", "org", "github", "official/copilot-seats-list.json", ORG_DETAILS, True,
             fix_ids=((1, 2),)),
    Scenario("official-enterprise-fixed", "enterprise", "github", "official/copilot-seats-list.json", None,
             True, newest_activity_days_ago=0, fix_ids=((1, 2),)),
    Scenario("cmv-org", "org", "octodemo", "cmv/public_mock-data_organization_seats_response_sample.json",
             ORG_DETAILS, True, newest_activity_days_ago=3),
    Scenario("cmv-org-unshifted", "org", "octodemo",
             "cmv/public_mock-data_organization_seats_response_sample.json", ORG_DETAILS, True),
    Scenario("cmv-enterprise", "enterprise", "octo-ent",
             "cmv/public_mock-data_enterprise_seats_response_sample.json", None, True),
    Scenario("cmv-enterprise-duplicates", "enterprise", "octo-ent",
             "cmv/public_mock-data_enterprise_seats_with_duplicates.json", None, True,
             newest_activity_days_ago=5),
    Scenario("fixture-org-mixed", "org", "fixture-org", "org-mixed-plans.json", "org-billing.json", False,
             newest_activity_days_ago=2),
    Scenario("fixture-enterprise-grants", "enterprise", "fixture-ent", "enterprise-two-grants.json", None,
             False, newest_activity_days_ago=10),
    Scenario("fixture-enterprise-grants-unshifted", "enterprise", "fixture-ent",
             "enterprise-two-grants.json", None, False),
]  # fmt: skip


def _read(recorded: bool, name: str) -> Any:
    base = RECORDED if recorded else FIXTURES
    if recorded and not base.is_dir():
        pytest.skip(f"no recorded answers at {base} (the project's shared directory beside the checkout)")
    return json.loads((base / name).read_text())


def _stamp(text: Any) -> float | None:
    """GitHub's time stamp (date-time with offset, ``Z``, or a date: midnight UTC) as Unix seconds."""
    if not isinstance(text, str) or not text:
        return None
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


TIME_FIELDS = ("created_at", "updated_at", "last_activity_at", "last_authenticated_at")


def _shifted(body: dict[str, Any], days_ago: int) -> dict[str, Any]:
    """Every seat time stamp moved by the same whole days: the newest activity ``days_ago`` before NOW."""
    newest = max(
        datetime.fromisoformat(s["last_activity_at"].replace("Z", "+00:00"))
        for s in body["seats"]
        if s.get("last_activity_at")
    )
    shift = timedelta(days=(NOW.date() - timedelta(days=days_ago) - newest.astimezone(UTC).date()).days)
    if newest + shift > NOW:  # the newest activity of today is still in the past
        shift -= timedelta(days=1)
    out = copy.deepcopy(body)
    for seat in out["seats"]:
        for key in TIME_FIELDS:
            if seat.get(key):
                moved = datetime.fromisoformat(seat[key].replace("Z", "+00:00")) + shift
                seat[key] = moved.isoformat()
        if seat.get("pending_cancellation_date"):
            seat["pending_cancellation_date"] = (
                date.fromisoformat(seat["pending_cancellation_date"]) + shift
            ).isoformat()
    return out


def load(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any] | None]:
    seats = _read(scenario.recorded, scenario.seats)
    billing = _read(scenario.recorded, scenario.billing) if scenario.billing else None
    for index, user_id in scenario.fix_ids:
        seats = copy.deepcopy(seats)
        seats["seats"][index]["assignee"]["id"] = user_id
    if scenario.newest_activity_days_ago is not None:
        seats = _shifted(seats, scenario.newest_activity_days_ago)
    return seats, billing


def fake_github(scenario: Scenario, seats: dict[str, Any], billing: dict[str, Any] | None) -> FakeGitHub:
    clock = NOW.timestamp
    if scenario.kind == "org":
        recorded = {"seats": seats, **({"billing": billing} if billing else {})}
        return FakeGitHub([FakeOrg(scenario.target, 1, recorded=recorded)], token=TOKEN, clock=clock)
    enterprise = FakeEnterprise(scenario.target, 1, recorded={"seats": seats})
    return FakeGitHub(enterprises=[enterprise], token=TOKEN, clock=clock)


def poll(app: FakeGitHub, scenario: Scenario) -> dict[str, dict[Labels, float]]:
    clock = ManualClock(now=NOW.timestamp())
    out: dict[str, dict[Labels, float]] = {}
    with serve_fake(app) as fake:
        flags = {"api_url": fake.url, scenario.kind: [scenario.target]}
        config = make_config(flags, {"activity_windows": list(WINDOWS), "seat_prices_usd": PRICES})

        async def run(base: Exporter) -> None:
            source = SeatSource(config, base.client, UserLabels(config), clock=clock)
            exporter = Exporter(config, base.client, [source], clock=clock)
            await exporter.poller.poll_once()
            out.update(await metrics(exporter))

        run_scenario(fake.url, config, run, clock=clock)
    return out


# -- the expected side: GitHub's JSON read here, not by the exporter ------------------------------


@dataclass
class User:
    org: str
    team: str
    plan: str
    login: str
    created: float
    activity: float | None
    editor: str
    authenticated: float | None
    pending: float | None


def expected_users(scenario: Scenario, seats: dict[str, Any], billing: dict[str, Any] | None) -> list[User]:
    """One user per assignee.id: the earliest grant's org, team and plan, the latest activity of all."""
    grants: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for seat in seats["seats"]:
        grants[seat["assignee"]["id"]].append(seat)
    users = []
    for entries in grants.values():

        def where(seat: dict[str, Any]) -> tuple[str, str]:
            org = scenario.target if scenario.kind == "org" else (seat.get("organization") or {}).get("login")
            return org or "", (seat.get("assigning_team") or {}).get("slug") or ""

        first = min(entries, key=lambda s: (_stamp(s["created_at"]), *where(s)))
        active = [s for s in entries if s.get("last_activity_at")]
        latest = max(active, key=lambda s: _stamp(s["last_activity_at"]) or 0) if active else None
        authenticated = [_stamp(s.get("last_authenticated_at")) for s in entries]
        pending = [_stamp(s.get("pending_cancellation_date")) for s in entries]
        users.append(
            User(
                org=where(first)[0],
                team=where(first)[1],
                plan=first.get("plan_type") or "unknown",
                login=first["assignee"]["login"],
                created=_stamp(first["created_at"]) or 0.0,
                activity=_stamp(latest["last_activity_at"]) if latest else None,
                # The editor's name before the first "/", "unknown" when GitHub gives none.
                editor=(latest["last_activity_editor"] or "").split("/")[0].strip().lower() or "unknown"
                if latest
                else "none",
                authenticated=max((a for a in authenticated if a is not None), default=None),
                pending=None if None in pending else max(p for p in pending if p is not None),
            )
        )

    # A seat without a plan is billed at its organization's: GitHub's summary for an org, else the
    # plan most seats of that org (then of the list) show, the dearer on a tie.
    def majority(plans: Counter[str]) -> str:
        return max(plans, key=lambda p: (plans[p], p == "enterprise")) if plans else "unknown"

    known = [u for u in users if u.plan != "unknown"]
    overall = majority(Counter(u.plan for u in known))
    for user in users:
        if user.plan == "unknown":
            if billing is not None:
                user.plan = billing["plan_type"]
            else:
                same_org = Counter(u.plan for u in known if u.org == user.org)
                user.plan = majority(same_org) if same_org else overall
    return users


def check_seats(scenario: Scenario, parsed: dict[str, dict[Labels, float]], users: list[User]) -> None:
    enterprise = scenario.target if scenario.kind == "enterprise" else ""
    now = NOW.timestamp()
    groups: dict[tuple[str, str, str], list[User]] = defaultdict(list)
    for user in users:
        groups[(user.org, user.team, user.plan)].append(user)

    def family(name: str) -> dict[Labels, float]:
        return parsed.get(name, {})

    def labels(org: str, team: str, plan: str, **more: str) -> Labels:
        return frozenset(
            {"enterprise": enterprise, "org": org, "team": team, "plan_type": plan, **more}.items()
        )

    seats, active, without, pending, cost, idle_cost = ({} for _ in range(6))
    for (org, team, plan), members in groups.items():
        key = labels(org, team, plan)
        price = PRICES.get(plan, PRICES["business"])
        seats[key] = len(members)
        without[key] = sum(1 for u in members if u.activity is None)
        pending[key] = sum(1 for u in members if u.pending is not None)
        cost[key] = len(members) * price
        for window, seconds in WINDOWS.items():
            n = sum(1 for u in members if u.activity is not None and u.activity >= now - seconds)
            active[labels(org, team, plan, window=window)] = n
            idle_cost[labels(org, team, plan, window=window)] = (len(members) - n) * price
    assert family("github_copilot_seats") == seats
    assert family("github_copilot_seats_active") == active
    assert family("github_copilot_seats_without_activity") == without
    assert family("github_copilot_seats_pending_cancellation") == pending
    assert family("github_copilot_estimated_monthly_cost_usd") == pytest.approx(cost)
    assert family("github_copilot_idle_seats_monthly_cost_usd") == pytest.approx(idle_cost)
    editors = Counter((u.org, u.editor) for u in users)
    assert family("github_copilot_seats_by_editor") == {
        frozenset({"enterprise": enterprise, "org": org, "editor": editor}.items()): n
        for (org, editor), n in editors.items()
    }

    def per_user(get: Any) -> dict[Labels, float]:
        return {
            frozenset({"enterprise": enterprise, "org": u.org, "user": u.login}.items()): get(u)
            for u in users
            if get(u) is not None
        }

    assert family("github_copilot_seat_created_timestamp_seconds") == per_user(lambda u: u.created)
    assert family("github_copilot_seat_last_activity_timestamp_seconds") == per_user(lambda u: u.activity)
    assert family("github_copilot_seat_last_authenticated_timestamp_seconds") == per_user(
        lambda u: u.authenticated
    )
    assert family("github_copilot_seat_pending_cancellation_timestamp_seconds") == per_user(
        lambda u: u.pending
    )
    assert family("github_copilot_seat_idle_seconds") == per_user(
        lambda u: math.floor(now) - math.floor(u.activity if u.activity is not None else u.created)
    )
    info = {
        frozenset(
            {
                "enterprise": enterprise,
                "org": u.org,
                "user": u.login,
                "team": u.team,
                "plan_type": u.plan,
                "editor": u.editor,
                "pending_cancellation": "true" if u.pending is not None else "false",
            }.items()
        ): 1.0
        for u in users
    }
    assert family("github_copilot_seat_info") == info


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_published_seat_figure_equals_the_files(scenario: Scenario) -> None:
    seats, billing = load(scenario)
    parsed = poll(fake_github(scenario, seats, billing), scenario)
    target = {scenario.kind: scenario.target}
    assert value(parsed, "github_copilot_up", source="seats", **target) == 1
    users = expected_users(scenario, seats, billing)
    assert len(users) == seats["total_seats"]
    check_seats(scenario, parsed, users)
    if billing is None:
        assert parsed.get("github_copilot_billing_seats", {}) == {}
        return
    # GitHub's own breakdown as it gives it, even where it does not add up (its example: 12 + 11 of 12).
    breakdown = billing["seat_breakdown"]
    assert parsed["github_copilot_billing_seats"] == {
        frozenset({"org": scenario.target, "state": state}.items()): breakdown[state]
        for state in BILLING_STATES
        if state in breakdown
    }
    policies = {name: billing.get(name, "") for name in POLICIES}
    info = {"org": scenario.target, "plan_type": billing["plan_type"], **policies}
    assert parsed["github_copilot_organization_info"] == {frozenset(info.items()): 1.0}


def test_a_shift_keeps_the_activity_windows_meaningful() -> None:
    """The shifted scenarios put seats inside the short windows, so those are tested with seats in them."""
    (scenario,) = [s for s in SCENARIOS if s.name == "fixture-org-mixed"]
    seats, billing = load(scenario)
    parsed = poll(fake_github(scenario, seats, billing), scenario)
    active = parsed["github_copilot_seats_active"]
    by_window = Counter({w: sum(v for k, v in active.items() if dict(k)["window"] == w) for w in WINDOWS})
    assert 0 < by_window["7d"] < by_window["90d"] <= len(seats["seats"])


SAME_ID = [
    Scenario("official", "org", "github", "official/copilot-seats-list.json", ORG_DETAILS, True),
    Scenario("fixture", "org", "fixture-org", "same-id-two-logins.json", "org-billing.json", False),
]


@pytest.mark.parametrize("scenario", SAME_ID, ids=[s.name for s in SAME_ID])
def test_two_logins_with_one_id_are_rejected_with_a_log_line_naming_them(
    scenario: Scenario, tmp_path: Path
) -> None:
    seats, billing = load(scenario)
    by_id: dict[int, list[str]] = defaultdict(list)
    for seat in seats["seats"]:
        by_id[seat["assignee"]["id"]].append(seat["assignee"]["login"])
    ((user_id, logins),) = [(i, names) for i, names in by_id.items() if len(set(names)) > 1]
    app = fake_github(scenario, seats, billing)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"organizations": [scenario.target], "billing": {"enabled": "false"}}))
    with serve_fake(app) as fake:
        args = ["--config", str(config), "--github.api-url", fake.url]
        with start_exporter(args, {"GITHUB_TOKEN": TOKEN}, wait_ready=False) as running:
            wait_until(lambda: "poll failed" in running.log(), 30, what="the failed seat poll")
            parsed = parse_exposition(running.metrics())
            log = running.log()
    assert f"assignee.id {user_id} is given to both {logins[0]} and {logins[1]}" in log
    assert value(parsed, "github_copilot_up", source="seats", org=scenario.target) == 0
    assert parsed.get("github_copilot_seats", {}) == {}
    assert TOKEN not in log


@pytest.mark.parametrize("mode", ["hashed", "off"])
def test_two_logins_with_one_id_are_not_named_by_login_when_logins_are_private(
    mode: str, tmp_path: Path
) -> None:
    scenario = SAME_ID[1]
    seats, billing = load(scenario)
    by_id: dict[int, list[str]] = defaultdict(list)
    for seat in seats["seats"]:
        by_id[seat["assignee"]["id"]].append(seat["assignee"]["login"])
    ((user_id, logins),) = [(i, names) for i, names in by_id.items() if len(set(names)) > 1]
    key = "same-id-test-hash-key-0123456789"
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "organizations": [scenario.target],
                "billing": {"enabled": "false"},
                "seat_metrics": {"mode": mode},
            }
        )
    )
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_COPILOT_EXPORTER_HASH_KEY": key}
    with serve_fake(fake_github(scenario, seats, billing)) as fake:
        args = ["--config", str(config), "--github.api-url", fake.url]
        with start_exporter(args, env, wait_ready=False) as running:
            wait_until(lambda: "poll failed" in running.log(), 30, what="the failed seat poll")
            log = running.log()
    assert f"assignee.id {user_id} is given to" in log
    for login in logins:
        assert login not in log
    if mode == "hashed":
        label = UserLabels(
            make_config(
                {"org": ["acme"], "seat_metrics": "hashed"}, env={"GITHUB_COPILOT_EXPORTER_HASH_KEY": key}
            )
        )
        assert f"is given to both {label(logins[0])} and {label(logins[1])}" in log
    else:
        assert f"assignee.id {user_id} is given to two different logins" in log
