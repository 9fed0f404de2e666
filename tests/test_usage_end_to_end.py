"""The installed exporter reading the fake's usage reports over HTTP, from an API host and a download host.

The fake API is served on 127.0.0.1 and the report files on 127.0.0.2 (another loopback address and
port: another origin), which records every request's headers. Every usage series is compared with a
computation over the same NDJSON made here (tests/usage_support.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from tests import usage_support
from tests.clock import today as real_today
from tests.support import (
    TOKEN,
    RunningExporter,
    need_binary,
    parse_exposition,
    start_exporter,
    value,
    wait_until,
)
from tests.usage_support import UsageFakes, usage_fakes

pytestmark = pytest.mark.e2e
# The fake's clock stands still, so its reports and links are the same for the exporter and the test;
# the exporter walks back from its own (real) today to the fake's newest day.
FIXED = real_today().timestamp()
TOP_N = 5
HASH_KEY = "usage-test-hash-key-0123456789"
TARGETS = (("org", DEMO_ORG), ("enterprise", DEMO_ENTERPRISE))


@pytest.fixture(scope="module")
def fakes() -> Iterator[UsageFakes]:
    world = demo_usage(FIXED)
    world.rows_per_file = 60  # several files per users report
    yield from usage_fakes(world, lambda: FIXED)


def _exporter(
    fakes: UsageFakes, tmp: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[RunningExporter]:
    config = tmp / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "organizations": [DEMO_ORG],
                "enterprises": [DEMO_ENTERPRISE],
                "usage": {"top_n": TOP_N, "allowed_download_hosts": [fakes.download_url]},
            }
        )
    )
    args = ["--config", str(config), "--github.api-url", fakes.api, "--usage.enabled=true", *extra]
    with start_exporter(args, {"GITHUB_TOKEN": TOKEN, **(env or {})}) as running:
        wait_until(
            lambda: all(
                value(
                    parse_exposition(running.metrics()),
                    "github_copilot_up",
                    source="usage",
                    org=org,
                    enterprise=ent,
                )
                == 1
                for org, ent in ((DEMO_ORG, ""), ("", DEMO_ENTERPRISE))
            ),
            30,
            what="the usage polls",
        )
        yield running


@pytest.fixture(scope="module")
def exporter(fakes: UsageFakes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningExporter]:
    yield from _exporter(fakes, tmp_path_factory.mktemp("usage"))


def _labels(kind: str, name: str) -> dict[str, str]:
    return {"enterprise": name if kind == "enterprise" else "", "org": name if kind == "org" else ""}


def _served_day(parsed: dict[str, dict[frozenset[tuple[str, str]], float]], kind: str, name: str) -> str:
    stamp = value(parsed, "github_copilot_usage_report_day_timestamp_seconds", **_labels(kind, name))
    assert stamp is not None
    return datetime.fromtimestamp(stamp, UTC).date().isoformat()


def _family(
    parsed: dict[str, dict[frozenset[tuple[str, str]], float]],
    name: str,
    target: dict[str, str],
    keys: tuple[str, ...],
) -> dict[tuple[str, ...], float]:
    out = {}
    for labels, sample in parsed.get(name, {}).items():
        found = dict(labels)
        if all(found[k] == v for k, v in target.items()):
            out[tuple(found[k] for k in keys)] = sample
    return out


@pytest.mark.parametrize(("kind", "name"), TARGETS)
def test_every_usage_aggregate_matches_a_computation_over_the_same_ndjson(
    exporter: RunningExporter, fakes: UsageFakes, kind: str, name: str
) -> None:
    parsed = parse_exposition(exporter.metrics())
    target = _labels(kind, name)
    day = _served_day(parsed, kind, name)
    assert day == usage_support.newest_report_day(datetime.fromtimestamp(FIXED, UTC)).isoformat()
    assert value(parsed, "github_copilot_usage_report_day_final", **target) == 0
    reports = usage_support.fetch_reports(fakes.api, TOKEN, kind, name, day)
    (entity,) = reports.entity

    for field, (family, window) in {
        "daily_active_users": ("active_users", "1d"),
        "weekly_active_users": ("active_users", "7d"),
        "monthly_active_users": ("active_users", "28d"),
        "monthly_active_chat_users": ("chat_active_users", "28d"),
        "monthly_active_agent_users": ("agent_active_users", "28d"),
        "daily_active_cli_users": ("cli_active_users", "1d"),
    }.items():
        got = value(parsed, f"github_copilot_usage_{family}", window=window, **target)
        assert got == entity.get(field, 0), field

    for family, field in usage_support.COUNTERS.items():
        assert value(parsed, f"github_copilot_usage_{family}", **target) == entity[field], family
        for breakdown, suffix, keys, top_n in (
            ("totals_by_ide", "by_ide", ("ide",), TOP_N),
            ("totals_by_feature", "by_feature", ("feature",), TOP_N),
            ("totals_by_language_feature", "by_language_feature", ("language", "feature"), TOP_N),
            ("totals_by_model_feature", "by_model_feature", ("model", "feature"), TOP_N),
        ):
            if family == "interactions" and breakdown == "totals_by_language_feature":
                continue
            expected = usage_support.breakdown(entity, breakdown, keys, field, top_n)
            family_values = _family(parsed, f"github_copilot_usage_{family}_{suffix}", target, keys)
            assert family_values == expected, (family, breakdown)
    languages = {
        k[0]
        for k in _family(
            parsed,
            "github_copilot_usage_code_generations_by_language_feature",
            target,
            ("language", "feature"),
        )
    }
    assert "other" in languages
    assert len(languages) == TOP_N + 1

    cli = entity["totals_by_cli"]
    assert value(parsed, "github_copilot_usage_cli_sessions", **target) == cli["session_count"]
    assert value(parsed, "github_copilot_usage_cli_requests", **target) == cli["request_count"]
    assert value(parsed, "github_copilot_usage_cli_prompts", **target) == cli["prompt_count"]
    assert (
        value(parsed, "github_copilot_usage_cli_tokens", type="output", **target)
        == cli["token_usage"]["output_tokens_sum"]
    )
    prs = entity["pull_requests"]
    assert value(parsed, "github_copilot_usage_pull_requests_merged", **target) == prs["total_merged"]
    assert (
        value(parsed, "github_copilot_usage_pull_requests_created_by_copilot", **target)
        == prs["total_created_by_copilot"]
    )
    assert value(parsed, "github_copilot_usage_pull_request_merge_median_seconds", **target) == pytest.approx(
        prs["median_minutes_to_merge"] * 60
    )

    teams = usage_support.teams(reports)
    assert teams, "the fake reports teams"
    assert set(_family(parsed, "github_copilot_usage_team_users", target, ("team",))) == {(t,) for t in teams}
    for slug, figures in teams.items():
        labels = {**target, "team": slug}
        assert value(parsed, "github_copilot_usage_team_users", **labels) == figures.users
        assert value(parsed, "github_copilot_usage_team_active_users", **labels) == figures.active_users
        assert value(parsed, "github_copilot_usage_team_interactions", **labels) == figures.interactions
        assert value(parsed, "github_copilot_usage_team_code_acceptances", **labels) == figures.acceptances
        assert value(parsed, "github_copilot_usage_team_ai_credits_used", **labels) == pytest.approx(
            figures.ai_credits_used
        )

    assert value(parsed, "github_copilot_usage_users_reported", **target) == len(reports.users)
    for row in reports.users:
        labels = {**target, "user": row["user_login"]}
        assert value(parsed, "github_copilot_user_ai_credits_used", **labels) == pytest.approx(
            row["ai_credits_used"]
        )
        assert (
            value(parsed, "github_copilot_user_interactions", **labels)
            == row["user_initiated_interaction_count"]
        )
        assert (
            value(parsed, "github_copilot_user_code_acceptances", **labels)
            == row["code_acceptance_activity_count"]
        )
        flags = {"used_chat": row["used_chat"], "used_agent": row["used_agent"], "used_cli": row["used_cli"]}
        info = {k: str(v).lower() for k, v in flags.items()}
        assert value(parsed, "github_copilot_user_usage_info", **labels, **info) == 1


def test_teams_under_five_users_are_absent_and_a_user_in_two_teams_counts_in_both(
    exporter: RunningExporter, fakes: UsageFakes
) -> None:
    parsed = parse_exposition(exporter.metrics())
    teams = {k[0] for k in _family(parsed, "github_copilot_usage_team_users", {"org": DEMO_ORG}, ("team",))}
    assert "design" not in teams
    assert "release-managers" not in teams
    entity = fakes.world.entities[("org", DEMO_ORG)]
    assert any(len(user.team_ids) >= 2 for user in entity.users)
    team_sum = sum(
        v for k, v in _family(parsed, "github_copilot_usage_team_users", {"org": DEMO_ORG}, ("team",)).items()
    )
    # Members of two teams count in each: team sums are not a partition of the users.
    assert team_sum != value(parsed, "github_copilot_usage_users_reported", org=DEMO_ORG, enterprise="")


def test_the_token_never_reaches_the_download_host(exporter: RunningExporter, fakes: UsageFakes) -> None:
    downloads = [r for r in fakes.downloads.requests if r.status == 200]
    assert len(downloads) >= 6
    assert fakes.downloads.authorized_requests == []
    reports = [r for r in fakes.github.requests if "/copilot/metrics/reports/" in r.path]
    assert reports
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in reports)
    assert TOKEN not in exporter.log()


def test_promtool_check_metrics_is_clean_with_the_usage_series(exporter: RunningExporter) -> None:
    promtool = need_binary("promtool")
    text = exporter.metrics()
    assert "github_copilot_user_ai_credits_used{" in text
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hashed_user_labels_join_seat_and_usage_series_and_hide_logins(
    fakes: UsageFakes, tmp_path: Path
) -> None:
    env = {"GITHUB_COPILOT_EXPORTER_HASH_KEY": HASH_KEY}
    for running in _exporter(fakes, tmp_path, "--seat-metrics", "hashed", env=env):
        text = running.metrics()
    parsed = parse_exposition(text)
    assert "demo-user-" not in text
    assert "ent-user-" not in text
    usage_users = {dict(k)["user"] for k in parsed["github_copilot_user_ai_credits_used"]}
    seat_users = {dict(k)["user"] for k in parsed["github_copilot_seat_info"]}
    assert usage_users
    assert all(u.startswith("u") and len(u) == 17 for u in usage_users)
    # Every user with usage also holds a seat in the fake: the hashed labels must meet.
    assert usage_users <= seat_users
