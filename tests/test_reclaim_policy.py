"""The reclaim policy and its configuration, as pure functions."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from exporter.config import ReclaimConfig, Target
from exporter.errors import ConfigError
from exporter.reclaim.policy import capped, select, select_all, usage_activity
from exporter.reclaim.served import ServedReclaim
from exporter.sources.seats.model import Seat, SeatPage
from exporter.sources.seats.snapshot import TargetSnapshot, build_snapshot
from exporter.sources.usage.snapshot import UsageSnapshot, UserFigures
from exporter.state import ExporterState
from tests.inprocess import make_config

NOW = 1_780_000_000.0
DAY = 86400.0
PRICES = {"business": 19.0, "enterprise": 39.0}


def seat(
    login: str, n: int, last_days: float | None, *, org: str = "", team: str = "", kind: str = ""
) -> Seat:
    last = NOW - last_days * DAY if last_days is not None else None
    return Seat(n, login, org, team, "business", NOW - 400 * DAY, last, "vscode", last, None, kind)


def snapshot(target: Target, *seats: Seat) -> TargetSnapshot:
    users = len({s.user_id for s in seats})
    return build_snapshot(target, [SeatPage(users, seats)], None, PRICES, NOW)


def test_a_user_active_in_the_usage_reports_is_never_proposed() -> None:
    snap = snapshot(Target("org", "acme"), seat("stale", 1, 120), seat("idle", 2, 120))
    day = date.fromtimestamp(NOW - 2 * DAY)
    figures = UserFigures(1, "Stale", 1.0, 3, 1, False, False, False, False)
    usage = usage_activity([UsageSnapshot(Target("org", "acme"), day, True, None, (), (figures,))])
    selection = select([snap], ReclaimConfig(), usage)
    assert [c.login for c in selection.removals] == ["idle"]
    assert selection.left_out == {"active_in_usage": 1}


def test_enterprise_grants_and_team_grants_are_never_removals() -> None:
    target = Target("enterprise", "corp")
    snap = snapshot(
        target,
        seat("direct", 1, 120, org="web"),
        seat("both", 2, 120, org="web"),
        seat("both", 2, 130, org="data", team="platform", kind="organization"),
        seat("ent", 3, 120, team="all-engineers", kind="enterprise"),
        seat("twice", 4, 120, org="web"),
        seat("twice", 4, 125, org="data"),
    )
    selection = select([snap], ReclaimConfig())
    removals = {c.login: c.orgs for c in selection.removals}
    assert removals == {"direct": ("web",), "twice": ("data", "web")}
    assert [(c.login, c.team) for c in selection.team_grants] == [("both", "platform")]
    assert [(c.login, c.team) for c in selection.enterprise_grants] == [("ent", "all-engineers")]
    # Saved once per user, however many grants it takes.
    assert selection.monthly_saving_usd == 38.0


def test_max_removals_keeps_the_longest_idle() -> None:
    snap = snapshot(Target("org", "acme"), *(seat(f"u{i}", i, 100 + i) for i in range(5)))
    selection = select([snap], ReclaimConfig(max_removals=2))
    assert [c.login for c in selection.removals] == ["u4", "u3"]
    assert selection.left_out == {"over_max_removals": 3}


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"idle_days": "ghp_secretsecretsecret"}, "reclaim.idle_days"),
        ({"allowlist": {"logins": ["ghp_secret secret"]}}, "reclaim.allowlist.logins"),
        ({"allowlist": {"users": []}}, "reclaim.allowlist.users"),
        ({"max_removals": 0}, "reclaim.max_removals"),
        ({"min_plan_age": "ghp_secretsecretsecret"}, "reclaim.min_plan_age"),
        ({"token_file": 12}, "reclaim.token_file"),
        ({"app_installation_id": 5}, "reclaim.app_id"),
        ({"surprise": 1}, "reclaim.surprise"),
    ],
)
def test_configuration_errors_name_the_key_and_never_the_value(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config({"org": ["acme"]}, {"reclaim": section})
    assert caught.value.key == key
    assert "secret" not in str(caught.value)


def test_defaults() -> None:
    policy = make_config({"org": ["acme"]}).reclaim
    assert (policy.idle_days, policy.grace_days, policy.never_used) == (90, 30, True)
    assert (policy.max_removals, policy.min_plan_age, policy.token_file) == (50, 0.0, None)


def test_the_served_selection_waits_for_usage_and_is_made_once_per_poll() -> None:
    target = Target("org", "acme")
    config = make_config({"org": ["acme"]})
    state = ExporterState([("seats", target), ("usage", target)])
    served = ServedReclaim(config, state)
    snap = snapshot(target, seat("stale", 1, 120), seat("idle", 2, 120))
    state.publish("seats", target, snap, taken_at=NOW, duration=1.0, overran=False)
    # Without the usage reports "stale" would be proposed though a report shows the user at work.
    assert served.current() is None
    assert served.waiting() == ["usage of org=acme"]
    day = date.fromtimestamp(NOW - 2 * DAY)
    figures = UserFigures(1, "Stale", 1.0, 3, 1, False, False, False, False)
    usage = UsageSnapshot(Target("org", "acme"), day, True, None, (), (figures,))
    state.publish("usage", target, usage, taken_at=NOW, duration=1.0, overran=False)
    current = served.current()
    assert current is not None
    assert [c.login for c in current.selection.removals] == ["idle"]
    assert served.current() is current  # the same snapshots: the cached selection
    assert current.plan is current.plan
    state.publish(
        "usage", target, dataclasses.replace(usage, users=()), taken_at=NOW, duration=1.0, overran=False
    )
    again = served.current()
    assert again is not current
    assert again is not None
    assert sorted(c.login for c in again.selection.removals) == ["idle", "stale"]


def test_max_removals_cuts_a_run_and_counts_the_rest_as_left_out() -> None:
    snap = snapshot(Target("org", "acme"), *(seat(f"u{i}", i, 100 + i) for i in range(5)))
    everything = select_all([snap], ReclaimConfig(max_removals=2))
    assert len(everything.removals) == 5
    cut = capped(everything, 2)
    assert [c.login for c in cut.removals] == ["u4", "u3"]  # the longest idle first
    assert cut.left_out == {"over_max_removals": 3}
    assert select([snap], ReclaimConfig(max_removals=2)) == cut
