"""The streaming aggregation agrees with a plain computation over the same NDJSON, report by report."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ORG, demo_usage, report_files
from exporter.errors import MalformedResponseError
from exporter.sources.usage.aggregate import OTHER, UsageAggregator, top_n_with_other
from exporter.sources.usage.model import BreakdownItem, Counters
from exporter.sources.usage.snapshot import UsageSnapshot

NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
DAY = date(2026, 7, 12)
TARGET = Target("org", DEMO_ORG)
COUNTERS = (
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
)


@pytest.fixture(scope="module")
def files() -> dict[str, list[bytes]]:
    world = demo_usage(NOW)
    world.rows_per_file = 100
    entity = world.entities[("org", DEMO_ORG)]
    return {report: report_files(world, entity, report, DAY) for report in ("entity", "users", "user_teams")}


def _aggregate(files: dict[str, list[bytes]], *, top_n: int) -> UsageSnapshot:
    aggregator = UsageAggregator(DAY, top_n=top_n)
    feeds = {
        "entity": aggregator.feed_entity_line,
        "users": aggregator.feed_user_line,
        "user_teams": aggregator.feed_team_line,
    }
    for report, feed in feeds.items():
        for body in files[report]:
            for line in body.splitlines(keepends=True):
                feed(line)
    return aggregator.finish(TARGET, final=False)


def _rows(files: dict[str, list[bytes]], report: str) -> list[dict[str, Any]]:
    return [json.loads(line) for body in files[report] for line in body.splitlines() if line.strip()]


def _values(item: dict[str, Any]) -> tuple[int, ...]:
    return tuple(item.get(counter, 0) for counter in COUNTERS)


def test_entity_figures_are_the_entity_record(files: dict[str, list[bytes]]) -> None:
    (row,) = _rows(files, "entity")
    snapshot = _aggregate(files, top_n=20)
    assert snapshot.entity is not None
    assert snapshot.entity.counters.values() == _values(row)
    assert snapshot.entity.active_users["monthly_active_users"] == row["monthly_active_users"]
    assert snapshot.entity.active_users["daily_active_cli_users"] == row.get("daily_active_cli_users", 0)
    assert snapshot.entity.pull_requests["total_merged"] == row["pull_requests"]["total_merged"]
    for name, key in (("totals_by_ide", ("ide",)), ("totals_by_feature", ("feature",))):
        expected = {tuple(item[k] for k in key): _values(item) for item in row[name]}
        got = {item.keys: item.counters.values() for item in snapshot.entity.breakdowns[name]}
        assert got == expected


@pytest.mark.parametrize("top_n", [0, 3, 10, 100])
def test_languages_and_features_beyond_the_top_n_are_summed_as_other(
    files: dict[str, list[bytes]], top_n: int
) -> None:
    (row,) = _rows(files, "entity")
    top = {}
    for key in ("language", "feature"):
        volume: dict[str, int] = defaultdict(int)
        for item in row["totals_by_language_feature"]:
            volume[item[key]] += sum(_values(item)[:3])
        top[key] = sorted(volume, key=lambda name: (-volume[name], name))[:top_n]
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(COUNTERS))
    for item in row["totals_by_language_feature"]:
        language, feature = (item[key] if item[key] in top[key] else OTHER for key in ("language", "feature"))
        for index, value in enumerate(_values(item)):
            expected[(language, feature)][index] += value
    snapshot = _aggregate(files, top_n=top_n)
    assert snapshot.entity is not None
    got = {
        item.keys: list(item.counters.values())
        for item in snapshot.entity.breakdowns["totals_by_language_feature"]
    }
    assert got == dict(expected)
    assert len({keys[0] for keys in got} - {OTHER}) == len(top["language"])


def test_models_are_cut_the_same_way(files: dict[str, list[bytes]]) -> None:
    (row,) = _rows(files, "entity")
    snapshot = _aggregate(files, top_n=2)
    assert snapshot.entity is not None
    items = snapshot.entity.breakdowns["totals_by_model_feature"]
    assert {item.keys[0] for item in items} - {OTHER} == {
        model
        for model, _ in sorted(
            _model_volumes(row).items(),
            key=lambda pair: (-pair[1], pair[0]),
        )[:2]
    }
    assert sum(item.counters.interactions for item in items) == sum(
        item["user_initiated_interaction_count"] for item in row["totals_by_model_feature"]
    )


def _model_volumes(row: dict[str, Any]) -> dict[str, int]:
    volume: dict[str, int] = defaultdict(int)
    for item in row["totals_by_model_feature"]:
        volume[item["model"]] += sum(_values(item)[:3])
    return volume


def test_users_are_their_rows(files: dict[str, list[bytes]]) -> None:
    rows = _rows(files, "users")
    snapshot = _aggregate(files, top_n=20)
    expected = {
        row["user_login"]: (
            row["ai_credits_used"],
            row["user_initiated_interaction_count"],
            row["code_acceptance_activity_count"],
            (row["used_chat"], row["used_agent"], row["used_cli"], row["used_copilot_code_review_active"]),
        )
        for row in rows
    }
    got = {
        user.login: (
            user.ai_credits_used,
            user.interactions,
            user.acceptances,
            (user.used_chat, user.used_agent, user.used_cli, user.used_code_review),
        )
        for user in snapshot.users
    }
    assert got == expected
    order = [(-u.ai_credits_used, -u.interactions, u.login) for u in snapshot.users]
    assert order == sorted(order)


def test_teams_are_the_documented_join(files: dict[str, list[bytes]]) -> None:
    users = {row["user_id"]: row for row in _rows(files, "users")}
    members: dict[str, set[int]] = defaultdict(set)
    for row in _rows(files, "user_teams"):
        members[row["slug"]].add(row["user_id"])
    expected = {}
    for slug, ids in members.items():
        joined = [users[i] for i in ids if i in users]  # inner join on user (one day, one entity)
        expected[slug] = (
            len(joined),
            sum(1 for row in joined if row["user_initiated_interaction_count"] > 0),
            sum(row["user_initiated_interaction_count"] for row in joined),
            sum(row["code_acceptance_activity_count"] for row in joined),
            sum(row["ai_credits_used"] for row in joined),
        )
    snapshot = _aggregate(files, top_n=20)
    got = {
        t.team: (t.users, t.active_users, t.interactions, t.acceptances, t.ai_credits_used)
        for t in snapshot.teams
    }
    assert got.keys() == expected.keys()
    for slug, figures in expected.items():
        assert got[slug][:4] == figures[:4], slug
        assert math.isclose(got[slug][4], figures[4]), slug
    assert "design" not in got  # fewer than five users: GitHub leaves the team out


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _user(user_id: int, interactions: int, credits: float, day: date = DAY) -> bytes:
    return _line(
        {
            "user_id": user_id,
            "user_login": f"u{user_id}",
            "day": day.isoformat(),
            "user_initiated_interaction_count": interactions,
            "ai_credits_used": credits,
        }
    )


def _membership(user_id: int, team_id: int, slug: str, day: date = DAY) -> bytes:
    return _line({"user_id": user_id, "day": day.isoformat(), "team_id": team_id, "slug": slug})


def test_a_user_in_two_teams_counts_in_both_and_once_in_each() -> None:
    aggregator = UsageAggregator(DAY)
    for line in (
        _membership(1, 10, "a"),
        _membership(1, 20, "b"),
        _membership(2, 10, "a"),
        _membership(1, 10, "a"),
    ):
        aggregator.feed_team_line(line)
    aggregator.feed_user_line(_user(1, 5, 2.5))
    aggregator.feed_user_line(_user(2, 0, 1.0))
    aggregator.feed_user_line(_user(3, 7, 9.0))  # in no team
    teams = {t.team: t for t in aggregator.finish(TARGET, final=True).teams}
    assert (teams["a"].users, teams["a"].active_users, teams["a"].interactions) == (2, 1, 5)
    assert teams["a"].ai_credits_used == 3.5
    assert (teams["b"].users, teams["b"].active_users, teams["b"].ai_credits_used) == (1, 1, 2.5)


def test_teams_of_one_slug_in_two_organizations_stay_apart() -> None:
    aggregator = UsageAggregator(DAY)
    aggregator.feed_team_line(_membership(1, 10, "core"))
    aggregator.feed_team_line(_membership(2, 11, "core"))
    aggregator.feed_user_line(_user(1, 1, 1.0))
    aggregator.feed_user_line(_user(2, 1, 1.0))
    assert [t.team for t in aggregator.finish(TARGET, final=True).teams] == ["core#10", "core#11"]


def test_rows_of_another_day_are_left_out() -> None:
    aggregator = UsageAggregator(DAY)
    other = DAY - timedelta(days=1)
    aggregator.feed_entity_line(_line({"day": other.isoformat(), "loc_added_sum": 5}))
    aggregator.feed_user_line(_user(1, 5, 2.5, other))
    aggregator.feed_team_line(_membership(1, 10, "a", other))
    snapshot = aggregator.finish(TARGET, final=False)
    assert (snapshot.entity, snapshot.users, snapshot.teams) == (None, (), ())


def test_two_entity_records_of_the_day_are_malformed() -> None:
    aggregator = UsageAggregator(DAY)
    aggregator.feed_entity_line(_line({"day": DAY.isoformat()}))
    with pytest.raises(MalformedResponseError):
        aggregator.feed_entity_line(_line({"day": DAY.isoformat()}))


def test_a_user_split_over_rows_adds_up() -> None:
    aggregator = UsageAggregator(DAY)
    aggregator.feed_user_line(_user(1, 5, 2.5))
    aggregator.feed_user_line(_user(1, 2, 0.5))
    (user,) = aggregator.finish(TARGET, final=False).users
    assert (user.interactions, user.ai_credits_used) == (7, 3.0)


def test_the_order_of_the_reports_does_not_matter(files: dict[str, list[bytes]]) -> None:
    forward = _aggregate(files, top_n=5)
    aggregator = UsageAggregator(DAY, top_n=5)
    for body in reversed(files["user_teams"]):
        for line in body.splitlines():
            aggregator.feed_team_line(line)
    for body in files["users"]:
        for line in body.splitlines():
            aggregator.feed_user_line(line)
    for body in files["entity"]:
        for line in body.splitlines():
            aggregator.feed_entity_line(line)
    assert aggregator.finish(TARGET, final=False) == forward


def test_the_cut_keeps_every_sum_and_merges_repeated_keys() -> None:
    items = [
        BreakdownItem(("python", "chat"), Counters(1, 10, 5)),
        BreakdownItem(("go", "chat"), Counters(0, 3, 1)),
        BreakdownItem(("python", "chat"), Counters(1, 1, 1)),
        BreakdownItem(("zig", "code_completion"), Counters(0, 3, 1)),
        BreakdownItem(("cobol", "chat"), Counters(0, 1, 0)),
    ]
    cut = top_n_with_other(items, 2)
    assert {item.keys: item.counters for item in cut} == {
        ("python", "chat"): Counters(2, 11, 6),
        ("go", "chat"): Counters(0, 3, 1),  # ties with zig break by name
        (OTHER, "chat"): Counters(0, 1, 0),
        (OTHER, "code_completion"): Counters(0, 3, 1),
    }
