"""The usage fields GitHub added in 2026, end to end: the exporter's wiring in-process reads the fake's
reports over HTTP, and every new family equals a computation made here over the NDJSON the fake served
(cloud agent, Copilot app, third-party agents, AI-adoption phases, language x model, IDE and plugin
versions, per-user flags). A day served as before those fields existed still publishes everything else.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.demo.usage_world import UsageWorld
from tests import usage_support
from tests.inprocess import ManualClock, metrics, usage_exporter
from tests.support import TOKEN, Labels, total, value
from tests.usage_support import Reports, Row, UsageFakes, usage_fakes

pytestmark = pytest.mark.e2e
START = datetime(2026, 7, 15, 10, 0, tzinfo=UTC).timestamp()
TOP_N = 3
TARGETS = (("org", DEMO_ORG), ("enterprise", DEMO_ENTERPRISE))
DAY = usage_support.newest_report_day(datetime.fromtimestamp(START, UTC))
Parsed = dict[str, dict[Labels, float]]


@dataclass
class Served:
    parsed: Parsed
    reports: dict[str, Reports]


async def _poll(fakes: UsageFakes, clock: ManualClock) -> Parsed:
    exporter = usage_exporter(
        fakes.api,
        [DEMO_ORG],
        [DEMO_ENTERPRISE],
        clock,
        usage={"top_n": TOP_N},
        download_url=fakes.download_url,
    )
    try:
        await exporter.poller.poll_once()
        return await metrics(exporter)
    finally:
        await exporter.client.aclose()


def _serve(world: UsageWorld) -> Iterator[Served]:
    clock = ManualClock(START)
    for fakes in usage_fakes(world, clock):
        parsed = asyncio.run(_poll(fakes, clock))
        reports = {
            kind: usage_support.fetch_reports(fakes.api, TOKEN, kind, name, DAY.isoformat())
            for kind, name in TARGETS
        }
        yield Served(parsed, reports)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    yield from _serve(demo_usage(START))


@pytest.fixture(scope="module")
def older() -> Iterator[Served]:
    world = demo_usage(START)
    world.older_days.add(DAY)
    yield from _serve(world)


def _target(kind: str, name: str) -> dict[str, str]:
    return {"enterprise": name if kind == "enterprise" else "", "org": name if kind == "org" else ""}


def _family(
    parsed: Parsed, name: str, target: dict[str, str], keys: tuple[str, ...]
) -> dict[tuple[str, ...], float]:
    return {
        tuple(dict(labels)[k] for k in keys): sample
        for labels, sample in parsed.get(f"github_copilot_{name}", {}).items()
        if set(target.items()) <= set(labels)
    }


def _top(volume: Counter[str], n: int) -> set[str]:
    return set(sorted(volume, key=lambda k: (-volume[k], k))[:n])


def _agents(entity: Row) -> dict[str, tuple[int, int]]:
    """Third-party agents' (interactions, sessions) by agent_name, cut to the top N by their sum."""
    items = entity.get("totals_by_3rd_party_agent", [])
    volume: Counter[str] = Counter()
    for item in items:
        volume[item["agent_name"]] += item["user_initiated_interaction_count"] + item["session_count"]
    kept = _top(volume, TOP_N)
    out: dict[str, tuple[int, int]] = {}
    for item in items:
        name = item["agent_name"] if item["agent_name"] in kept else "other"
        old = out.get(name, (0, 0))
        out[name] = (old[0] + item["user_initiated_interaction_count"], old[1] + item["session_count"])
    return out


def _versions(users: list[Row], block: str, name_key: str, version_key: str) -> Counter[tuple[str, str]]:
    """Users per (name, version) of ``totals_by_ide[].<block>``, counting each user once per pair."""
    pairs: Counter[tuple[str, str]] = Counter()
    for row in users:
        seen = set()
        for item in row.get("totals_by_ide", []):
            found = item.get(block)
            if not found or not (found.get("plugin", "x") or found.get(version_key)):
                continue
            name = item["ide"] if name_key == "ide" else found[name_key]
            seen.add((name, found[version_key]))
        pairs.update(seen)
    return pairs


def _cut_versions(pairs: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
    names: Counter[str] = Counter()
    for (name, _), users in pairs.items():
        names[name] += users
    kept = _top(names, TOP_N)
    out: Counter[tuple[str, str]] = Counter()
    for name in kept:
        versions: Counter[str] = Counter({v: c for (n, v), c in pairs.items() if n == name})
        top = _top(versions, TOP_N)
        for version, users in versions.items():
            out[(name, version if version in top else "other")] += users
    out[("other", "other")] += sum(c for (n, _), c in pairs.items() if n not in kept)
    return {k: v for k, v in out.items() if v or k != ("other", "other")}


@pytest.mark.parametrize(("kind", "name"), TARGETS)
def test_every_2026_family_matches_a_computation_over_the_same_ndjson(
    served: Served, kind: str, name: str
) -> None:
    parsed, reports = served.parsed, served.reports[kind]
    target = _target(kind, name)
    (entity,) = reports.entity
    assert entity["day"] == DAY.isoformat()

    for field, family, window in (
        ("daily_active_copilot_cloud_agent_users", "cloud_agent_active_users", "1d"),
        ("weekly_active_copilot_cloud_agent_users", "cloud_agent_active_users", "7d"),
        ("monthly_active_copilot_cloud_agent_users", "cloud_agent_active_users", "28d"),
        ("daily_active_copilot_app_users", "copilot_app_active_users", "1d"),
    ):
        # A null count is an absent series, never a zero.
        assert value(parsed, f"github_copilot_usage_{family}", window=window, **target) == entity.get(
            field
        ), field
    assert entity["monthly_active_copilot_cloud_agent_users"] > 0

    app = entity["totals_by_copilot_app"]
    for field, family in (
        ("session_count", "sessions"),
        ("request_count", "requests"),
        ("prompt_count", "prompts"),
    ):
        assert value(parsed, f"github_copilot_usage_copilot_app_{family}", **target) == app[field]
    for kind_, field in (("prompt", "prompt_tokens_sum"), ("output", "output_tokens_sum")):
        tokens = value(parsed, "github_copilot_usage_copilot_app_tokens", type=kind_, **target)
        assert tokens == app["token_usage"][field]

    agents = _agents(entity)
    assert "other" in agents, "the fake names more agents than the top N"
    got_interactions = _family(parsed, "usage_third_party_agent_interactions", target, ("agent",))
    got_sessions = _family(parsed, "usage_third_party_agent_sessions", target, ("agent",))
    assert got_interactions == {(k,): v[0] for k, v in agents.items()}
    assert got_sessions == {(k,): v[1] for k, v in agents.items()}
    assert sum(got_interactions.values()) == sum(
        i["user_initiated_interaction_count"] for i in entity["totals_by_3rd_party_agent"]
    )

    phases = {item["phase"]: item for item in entity["totals_by_ai_adoption_phase"]}
    assert len(phases) >= 3
    assert _family(parsed, "usage_adoption_phase_engaged_users", target, ("phase",)) == {
        (p,): item["total_engaged_users"] for p, item in phases.items()
    }
    for phase, item in phases.items():
        labels = {**target, "phase": phase}
        for field, family, factor in (
            ("avg_user_initiated_interactions", "interactions", 1),
            ("avg_loc_added", "lines_added", 1),
            ("avg_pull_requests_merged", "pull_requests_merged", 1),
            ("avg_pull_requests_median_minutes_to_merge", "pull_request_merge_median_seconds", 60),
            ("avg_pull_requests_minutes_to_review", "pull_request_review_seconds", 60),
            ("avg_pull_requests_review_cycles", "pull_request_review_cycles", 1),
        ):
            average = value(parsed, f"github_copilot_usage_adoption_phase_average_{family}", **labels)
            assert average == pytest.approx(item[field] * factor), (phase, field)
        merged = value(parsed, "github_copilot_usage_adoption_phase_pull_requests_merged", **labels)
        assert merged == item["total_pull_requests_merged"]
    by_phase = Counter(row["ai_adoption_phase"]["phase"] for row in reports.users)
    assert _family(parsed, "usage_users_by_adoption_phase", target, ("phase",)) == {
        (p,): c for p, c in by_phase.items()
    }

    for family, field in usage_support.COUNTERS.items():
        if family == "interactions":
            continue  # the language breakdowns have no interaction count
        expected = usage_support.breakdown(
            entity, "totals_by_language_model", ("language", "model"), field, TOP_N
        )
        got = _family(parsed, f"usage_{family}_by_language_model", target, ("language", "model"))
        assert got == expected, family
        assert sum(got.values()) == sum(i.get(field, 0) for i in entity["totals_by_language_model"])

    for family, block, key, version in (
        ("usage_users_by_ide_version", "last_known_ide_version", "ide", "ide_version"),
        ("usage_users_by_plugin_version", "last_known_plugin_version", "plugin", "plugin_version"),
    ):
        pairs = _versions(reports.users, block, key, version)
        got = _family(parsed, family, target, (key, "version"))
        assert got == _cut_versions(pairs), family
        assert ("other", "other") in got or any(k[1] == "other" for k in got)
        assert sum(got.values()) == sum(pairs.values()), "the top-N cut keeps the totals exact"

    cloud_rows = 0
    for row in reports.users:
        cloud = bool(row.get("used_copilot_cloud_agent", row.get("used_copilot_coding_agent", False)))
        cloud_rows += "used_copilot_cloud_agent" not in row and cloud
        flags = {
            "used_cloud_agent": cloud,
            "used_copilot_app": row["used_copilot_app"],
            "used_code_review_passive": row["used_copilot_code_review_passive"],
        }
        info = {k: str(v).lower() for k, v in flags.items()}
        assert value(parsed, "github_copilot_user_usage_info", user=row["user_login"], **target, **info) == 1
    assert cloud_rows, "some rows carry the flag only as used_copilot_coding_agent"

    for report in ("entity", "users", "user_teams"):
        assert value(parsed, "github_copilot_usage_unknown_fields", report=report, **target) == 0


@pytest.mark.parametrize(("kind", "name"), TARGETS)
def test_a_day_without_the_2026_fields_still_publishes_everything_else(
    older: Served, kind: str, name: str
) -> None:
    parsed, reports = older.parsed, older.reports[kind]
    target = _target(kind, name)
    (entity,) = reports.entity
    assert "totals_by_ai_adoption_phase" not in entity
    assert "ai_adoption_phase" not in reports.users[0]
    for family in (
        "usage_cloud_agent_active_users",
        "usage_copilot_app_active_users",
        "usage_copilot_app_sessions",
        "usage_third_party_agent_interactions",
        "usage_adoption_phase_engaged_users",
        "usage_adoption_phase_average_pull_request_review_seconds",
        "usage_users_by_adoption_phase",
    ):
        assert not _family(parsed, family, target, ()), family
    assert value(parsed, "github_copilot_up", source="usage", **target) == 1
    assert (
        value(parsed, "github_copilot_usage_active_users", window="1d", **target)
        == entity["daily_active_users"]
    )
    assert (
        value(parsed, "github_copilot_usage_interactions", **target)
        == entity["user_initiated_interaction_count"]
    )
    assert value(parsed, "github_copilot_usage_users_reported", **target) == len(reports.users)
    assert total(parsed, "github_copilot_usage_code_generations_by_language_model", **target) == sum(
        i["code_generation_activity_count"] for i in entity["totals_by_language_model"]
    )
    # The versions were there before 2026: still counted, one user per pair.
    assert total(parsed, "github_copilot_usage_users_by_ide_version", **target) == sum(
        _versions(reports.users, "last_known_ide_version", "ide", "ide_version").values()
    )
    row = reports.users[0]
    assert (
        value(
            parsed,
            "github_copilot_user_usage_info",
            user=row["user_login"],
            used_cloud_agent="false",
            **target,
        )
        == 1
    )
    for report in ("entity", "users", "user_teams"):
        assert value(parsed, "github_copilot_usage_unknown_fields", report=report, **target) == 0
