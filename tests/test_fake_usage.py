"""The fake usage-metrics reports answer as GitHub's schemas and docs say."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from exporter.demo.fake_usage import (
    DEMO_ENTERPRISE,
    DEMO_ORG,
    SMALL_TEAMS,
    demo_usage,
    download_route,
    usage_route,
)
from exporter.demo.usage_world import DayRoll, UsageWorld, day_activity
from tests.clock import MOMENTS
from tests.support import SHARED

REPO = Path(__file__).resolve().parent.parent
VENDORED = REPO / "tests" / "schemas" / "usage-metrics-openapi.json"
SHARED_SCHEMA = SHARED / "github-api" / "usage-metrics-openapi.json"
NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
BASE = "https://copilot-reports.example"
ORG_REPORTS = ("organization-1-day", "users-1-day", "user-teams-1-day")
ENTERPRISE_REPORTS = ("enterprise-1-day", "users-1-day", "user-teams-1-day")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VENDORED.read_text())
    return data


@pytest.fixture
def world() -> UsageWorld:
    return demo_usage(NOW)


def _path(kind: str, name: str, report: str) -> str:
    prefix = "orgs" if kind == "org" else "enterprises"
    return f"/{prefix}/{name}/copilot/metrics/reports/{report}"


def _schema(spec: dict[str, Any], path: str, status: str) -> Draft202012Validator:
    template = path.replace(DEMO_ORG, "{org}", 1) if path.startswith("/orgs/") else path
    template = template.replace(DEMO_ENTERPRISE, "{enterprise}", 1)
    schema = spec["paths"][template]["get"]["responses"][status]["content"]["application/json"]["json_schema"]
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _download(world: UsageWorld, link: str) -> tuple[int, bytes]:
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    answer = download_route(world, parts.path, dict(parse_qsl(parts.query)))
    assert answer is not None
    return answer


def _rows(world: UsageWorld, kind: str, name: str, report: str, day: date) -> list[dict[str, Any]]:
    answer = usage_route(world, _path(kind, name, report), {"day": day.isoformat()}, BASE)
    assert answer is not None
    assert answer[0] == 200, answer
    rows = []
    for link in answer[1]["download_links"]:
        status, body = _download(world, link)
        assert status == 200
        rows += [json.loads(line) for line in body.splitlines() if line]
    return rows


def test_the_copy_of_the_schemas_in_tests_is_the_shared_one() -> None:
    if not SHARED_SCHEMA.exists():
        pytest.skip(f"no shared copy at {SHARED_SCHEMA} to compare with")
    copy = "copy ../shared/github-api/ into tests/schemas/"
    assert VENDORED.read_bytes() == SHARED_SCHEMA.read_bytes(), copy


def test_every_report_body_validates_against_the_published_schemas(
    spec: dict[str, Any], world: UsageWorld
) -> None:
    yesterday = (NOW - timedelta(days=1)).date().isoformat()
    for kind, name, reports in (
        ("org", DEMO_ORG, ORG_REPORTS),
        ("enterprise", DEMO_ENTERPRISE, ENTERPRISE_REPORTS),
    ):
        for report in reports:
            path = _path(kind, name, report)
            answer = usage_route(world, path, {"day": yesterday}, BASE)
            assert answer is not None
            assert answer[0] == 200
            assert not list(_schema(spec, path, "200").iter_errors(answer[1]))
            missing = usage_route(world, _path(kind, "nobody", report), {"day": yesterday}, BASE)
            assert missing is not None
            assert missing[0] == 404
            assert not list(_schema(spec, path, "404").iter_errors(missing[1]))


def test_a_day_without_a_report_is_204_for_orgs_and_404_for_enterprises(world: UsageWorld) -> None:
    today = NOW.date().isoformat()
    too_old = (NOW - timedelta(days=40)).date().isoformat()
    for day in (today, too_old):
        assert usage_route(world, _path("org", DEMO_ORG, "users-1-day"), {"day": day}, BASE) == (204, None)
        answer = usage_route(
            world, _path("enterprise", DEMO_ENTERPRISE, "enterprise-1-day"), {"day": day}, BASE
        )
        assert answer is not None
        assert answer[0] == 404


def test_the_demo_has_a_report_for_every_day_of_the_last_month(world: UsageWorld) -> None:
    for back in range(1, 31):
        day = (NOW - timedelta(days=back)).date().isoformat()
        for kind, name, report in (
            ("org", DEMO_ORG, "organization-1-day"),
            ("enterprise", DEMO_ENTERPRISE, "enterprise-1-day"),
        ):
            answer = usage_route(world, _path(kind, name, report), {"day": day}, BASE)
            assert answer is not None
            assert answer[0] == 200, (name, day)


def test_other_paths_are_not_answered_and_a_bad_day_is_refused(world: UsageWorld) -> None:
    assert usage_route(world, "/orgs/octodemo/copilot/billing/seats", {}, BASE) is None
    assert usage_route(world, _path("org", DEMO_ORG, "organization-28-day"), {}, BASE) is None
    answer = usage_route(world, _path("org", DEMO_ORG, "users-1-day"), {"day": "last tuesday"}, BASE)
    assert answer is not None
    assert answer[0] == 400
    assert download_route(world, "/elsewhere", {}) is None


def _documented(fields: dict[str, Any]) -> set[str]:
    return {key.removesuffix("[]") for key in fields if not key.startswith(("x-", "_"))}


def test_records_carry_the_documented_fields(spec: dict[str, Any], world: UsageWorld) -> None:
    documented = spec["ndjson_record_fields"]
    day = (NOW - timedelta(days=2)).date()
    entity = _rows(world, "org", DEMO_ORG, "organization-1-day", day)
    assert len(entity) == 1
    expected = _documented(documented["enterprise_1_day / organization_1_day"]["one record per entity-day"])
    # enterprise_id belongs to enterprise reports only.
    assert expected - {"enterprise_id"} <= set(entity[0])
    assert set(entity[0]["pull_requests"]) == _documented(
        documented["enterprise_1_day / organization_1_day"]["one record per entity-day"]["pull_requests"]
    )
    user_fields = _documented(
        documented["users_1_day / organization_users_1_day"]["one record per (user_id, day, entity)"]
    )
    users = _rows(world, "org", DEMO_ORG, "users-1-day", day)
    assert users
    optional = {"enterprise_id", "totals_by_cli"}  # totals_by_cli is omitted on days without CLI use
    for row in users:
        assert user_fields - optional <= set(row), user_fields - set(row)
        assert set(row["totals_by_ide"][0]) >= {"ide", "last_known_ide_version", "last_known_plugin_version"}
    assert any("totals_by_cli" in row for row in users)
    team_fields = _documented(documented["enterprise_user_teams_1_day / organization_user_teams_1_day"])
    for row in _rows(world, "enterprise", DEMO_ENTERPRISE, "user-teams-1-day", day):
        assert team_fields - {"organization_id"} <= set(row)


def test_totals_are_the_sums_of_their_breakdowns(world: UsageWorld) -> None:
    day = (NOW - timedelta(days=3)).date()
    (entity,) = _rows(world, "org", DEMO_ORG, "organization-1-day", day)
    users = _rows(world, "org", DEMO_ORG, "users-1-day", day)
    for counter in ("code_generation_activity_count", "loc_added_sum", "user_initiated_interaction_count"):
        assert entity[counter] == sum(item[counter] for item in entity["totals_by_feature"])
        assert entity[counter] == sum(item[counter] for item in entity["totals_by_ide"])
        assert entity[counter] == sum(row[counter] for row in users)
    languages = {item["language"] for item in entity["totals_by_language_feature"]}
    assert {"unknown", "Unknown"} & languages
    assert len(languages) > 20
    assert entity["daily_active_users"] == sum(
        1 for row in users if row["user_initiated_interaction_count"] > 0
    )


def test_user_teams_leave_out_small_teams_and_list_a_user_once_per_team(world: UsageWorld) -> None:
    day = (NOW - timedelta(days=2)).date()
    rows = _rows(world, "org", DEMO_ORG, "user-teams-1-day", day)
    slugs = {row["slug"] for row in rows}
    assert not slugs & {slug for slug, _ in SMALL_TEAMS}
    assert Counter(row["slug"] for row in rows).most_common()[-1][1] >= 5
    teams_of = Counter(row["user_id"] for row in rows)
    assert max(teams_of.values()) >= 2
    assert len({(row["user_id"], row["team_id"]) for row in rows}) == len(rows)


def test_a_day_changes_until_it_is_final_and_links_keep_their_content(world: UsageWorld) -> None:
    recent, old = (NOW - timedelta(days=1)).date(), (NOW - timedelta(days=6)).date()
    answer = usage_route(
        world, _path("org", DEMO_ORG, "organization-1-day"), {"day": recent.isoformat()}, BASE
    )
    assert answer is not None
    issued_link = answer[1]["download_links"][0]
    before = {day: _rows(world, "org", DEMO_ORG, "organization-1-day", day)[0] for day in (recent, old)}
    first_body = _download(world, issued_link)
    world.now += timedelta(minutes=50)
    assert _download(world, issued_link) == first_body
    world.now += timedelta(hours=12)
    after = {day: _rows(world, "org", DEMO_ORG, "organization-1-day", day)[0] for day in (recent, old)}
    assert after[old] == before[old]
    assert after[recent]["code_generation_activity_count"] > before[recent]["code_generation_activity_count"]


def test_links_are_signed_and_expire(world: UsageWorld) -> None:
    answer = usage_route(world, _path("org", DEMO_ORG, "users-1-day"), {"day": "2026-07-13"}, BASE)
    assert answer is not None
    link = urlsplit(answer[1]["download_links"][0])
    query = dict(parse_qsl(link.query))
    assert download_route(world, link.path, query)[0] == 200  # type: ignore[index]
    assert download_route(world, link.path, query | {"sig": "0" * 32})[0] == 403  # type: ignore[index]
    assert download_route(world, link.path.replace("part-0", "part-1"), query)[0] == 403  # type: ignore[index]
    world.now += timedelta(hours=3)  # links last two to three hours (whole hours, like a cache)
    assert download_route(world, link.path, query)[0] == 403  # type: ignore[index]


def test_large_reports_are_split_over_several_files(world: UsageWorld) -> None:
    world.rows_per_file = 40
    day = (NOW - timedelta(days=2)).date()
    answer = usage_route(world, _path("org", DEMO_ORG, "users-1-day"), {"day": day.isoformat()}, BASE)
    assert answer is not None
    assert len(answer[1]["download_links"]) > 2
    rows = _rows(world, "org", DEMO_ORG, "users-1-day", day)
    assert len({row["user_id"] for row in rows}) == len(rows) > 80


def test_the_same_seed_and_time_give_the_same_reports() -> None:
    day = (NOW - timedelta(days=2)).date()
    first = _rows(demo_usage(NOW), "enterprise", DEMO_ENTERPRISE, "users-1-day", day)
    second = _rows(demo_usage(NOW.timestamp()), "enterprise", DEMO_ENTERPRISE, "users-1-day", day)
    assert first == second


def _active(world: UsageWorld, day: date) -> dict[str, list[tuple[str, DayRoll]]]:
    return {
        entity.name: [(a.user.login, a.roll) for a in day_activity(world, entity, day)]
        for entity in world.entities.values()
    }


def test_the_demo_activity_is_the_same_relative_to_any_date(moment: datetime) -> None:
    """The demo world made at any moment shows who did what how many days back as at the fixed one, so
    what the dashboards and tests see does not depend on the calendar."""
    reference, world = demo_usage(MOMENTS["mid-month"]), demo_usage(moment)
    for back in range(1, 32):
        then = _active(reference, MOMENTS["mid-month"].date() - timedelta(days=back))
        assert _active(world, moment.date() - timedelta(days=back)) == then, back
        assert any(then.values())


def test_a_final_day_keeps_its_numbers_as_the_clock_moves(moment: datetime) -> None:
    world = demo_usage(moment)
    day = moment.date() - timedelta(days=4)
    entity = world.entities[("org", DEMO_ORG)]
    before = day_activity(world, entity, day)
    later = dataclasses.replace(world, now=moment + timedelta(days=2, hours=13))
    assert day_activity(later, entity, day) == before
