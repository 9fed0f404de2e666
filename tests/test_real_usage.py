"""Usage reports on answers nobody on this project wrote: GitHub Docs' examples and a peer project's data.

Each scenario serves recorded report rows (``../shared/recorded/``, skipped where that directory is
absent) or the project's fixtures reproducing their shapes (``tests/fixtures/usage/``, always): the
report endpoints answer a recorded link answer, the links (on another origin) the rows as NDJSON. A
viewer's wrapper is unwrapped (each ``day_totals[i]`` one line) and every ``day`` is rewritten to the
served day, two days before a clock the test fixes. The exporter polls them in-process over HTTP and
every usage figure is compared with a computation over the rows (tests/usage_support.py helpers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exporter.privacy import UserLabels
from exporter.sources.usage.source import UsageSource
from exporter.web.server import Exporter
from tests import usage_support
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.fake_recorded_usage import RecordedReports
from tests.inprocess import ManualClock, make_config, metrics, run_scenario
from tests.support import SHARED, TOKEN, Labels, ServedApp, value

REPO = Path(__file__).resolve().parent.parent
RECORDED = SHARED / "recorded"
FIXTURES = REPO / "tests" / "fixtures" / "usage"
NOW = datetime(2026, 3, 1, 0, 40, tzinfo=UTC)  # 40 minutes into the 1st; the served day is 28 February
SERVED = NOW.date() - timedelta(days=2)
TOP_N = 3
pytestmark = pytest.mark.e2e
Parsed = dict[str, dict[Labels, float]]


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    target: str
    #: report ("entity", "users", "user_teams") -> file, relative to RECORDED or FIXTURES.
    files: Mapping[str, str]
    recorded: bool
    links: str = ""
    #: For a file holding several entity records: the one served.
    entity_index: int = 0


OFFICIAL_LINKS = "official/copilot-usage-metrics-1-day-report.json"
CMV = "cmv/public_mock-data_new-api_"
DOCS_ENTERPRISE = {
    "entity": "docs/example-schema-enterprise-level.json",
    "users": "docs/example-schema-user-level.json",
}
SCENARIOS = [
    Scenario("docs-enterprise-1", "enterprise", "docs-ent", DOCS_ENTERPRISE, True, OFFICIAL_LINKS),
    Scenario("docs-enterprise-2", "enterprise", "docs-ent", DOCS_ENTERPRISE, True, OFFICIAL_LINKS,
             entity_index=1),
    Scenario("docs-org-teams", "org", "docs-org",
             {"entity": f"{CMV}organization-1-day-report.json", "users": "docs/team-level-users.ndjson",
              "user_teams": "docs/team-level-user-teams.ndjson"},
             True, f"{CMV}download-links-organization-1-day.json"),
    Scenario("cmv-org", "org", "cmv-org",
             {"entity": f"{CMV}organization-1-day-report.json",
              "users": f"{CMV}organization-users-1-day-report.json",
              "user_teams": f"{CMV}organization-user-teams-1-day-report.json"},
             True, OFFICIAL_LINKS),
    Scenario("fixture-org", "org", "fixture-org",
             {"entity": "organization-1-day.json", "users": "users-1-day.json",
              "user_teams": "user-teams-1-day.ndjson"},
             False, "report-links.json"),
    Scenario("fixture-enterprise", "enterprise", "fixture-ent",
             {"entity": "enterprise-day-totals.json", "users": "users-1-day.json"}, False,
             "report-links.json", entity_index=1),
]  # fmt: skip


def _records(text: str, name: str) -> list[dict[str, Any]]:
    """NDJSON lines, or JSON: a record, a list of records, or a viewer's ``day_totals`` wrapper of them."""
    if name.endswith(".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    found = json.loads(text)
    out: list[dict[str, Any]] = []
    for record in found if isinstance(found, list) else [found]:
        out += record.get("day_totals", [record])
    return out


def load(scenario: Scenario) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    base = RECORDED if scenario.recorded else FIXTURES
    if scenario.recorded and not base.is_dir():
        pytest.skip(f"no recorded answers at {base} (the project's shared directory beside the checkout)")
    reports = {report: _records((base / name).read_text(), name) for report, name in scenario.files.items()}
    reports["entity"] = [reports["entity"][scenario.entity_index]]
    for rows in reports.values():
        for row in rows:
            row["day"] = SERVED.isoformat()
    links = json.loads((base / scenario.links).read_text())
    return reports, links


@dataclass
class Served:
    parsed: Parsed
    reports: RecordedReports
    api: FakeGitHub


def _serve(scenario: Scenario) -> Served:
    rows, links = load(scenario)
    reports = RecordedReports(
        SERVED, {(scenario.kind, scenario.target, r): v for r, v in rows.items()}, links
    )
    app = FakeGitHub(token=TOKEN, clock=NOW.timestamp)
    app.usage = reports
    clock = ManualClock(now=NOW.timestamp())
    out: Parsed = {}
    with ServedApp(reports, "127.0.0.2").running() as downloads, ServedApp(app).running() as api:
        reports.download_base = downloads.url
        flags = {"api_url": api.url, scenario.kind: [scenario.target], "usage_enabled": "true"}
        config = make_config(flags, {"usage": {"top_n": TOP_N, "allowed_download_hosts": [downloads.url]}})

        async def run(base: Exporter) -> None:
            source = UsageSource(config, base.client, UserLabels(config), clock=clock)
            exporter = Exporter(config, base.client, [source], clock=clock)
            await exporter.poller.poll_once()
            out.update(await metrics(exporter))

        run_scenario(api.url, config, run, clock=clock)
    return Served(out, reports, app)


def _family(parsed: Parsed, name: str, keys: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    return {tuple(dict(labels)[k] for k in keys): sample for labels, sample in parsed.get(name, {}).items()}


ACTIVE = {
    "daily_active_users": ("active_users", "1d"),
    "weekly_active_users": ("active_users", "7d"),
    "monthly_active_users": ("active_users", "28d"),
    "monthly_active_chat_users": ("chat_active_users", "28d"),
    "monthly_active_agent_users": ("agent_active_users", "28d"),
    "daily_active_cli_users": ("cli_active_users", "1d"),
    "daily_active_copilot_code_review_users": ("code_review_active_users", "1d"),
    "weekly_active_copilot_code_review_users": ("code_review_active_users", "7d"),
    "monthly_active_copilot_code_review_users": ("code_review_active_users", "28d"),
    "daily_passive_copilot_code_review_users": ("code_review_passive_users", "1d"),
    "weekly_passive_copilot_code_review_users": ("code_review_passive_users", "7d"),
    "monthly_passive_copilot_code_review_users": ("code_review_passive_users", "28d"),
}
BREAKDOWNS = {
    "totals_by_ide": ("by_ide", ("ide",), None),
    "totals_by_feature": ("by_feature", ("feature",), None),
    "totals_by_language_feature": ("by_language_feature", ("language", "feature"), TOP_N),
    "totals_by_model_feature": ("by_model_feature", ("model", "feature"), TOP_N),
}
MEDIANS = {
    "median_minutes_to_merge": "pull_request_merge_median_seconds",
    "median_minutes_to_merge_copilot_authored": "pull_request_copilot_authored_merge_median_seconds",
    "median_minutes_to_merge_copilot_reviewed": "pull_request_copilot_reviewed_merge_median_seconds",
}
PULL_REQUESTS = {
    "total_created": "pull_requests_created",
    "total_reviewed": "pull_requests_reviewed",
    "total_merged": "pull_requests_merged",
    "total_created_by_copilot": "pull_requests_created_by_copilot",
    "total_reviewed_by_copilot": "pull_requests_reviewed_by_copilot",
    "total_merged_created_by_copilot": "pull_requests_merged_created_by_copilot",
    "total_merged_reviewed_by_copilot": "pull_requests_merged_reviewed_by_copilot",
    "total_suggestions": "pull_request_suggestions",
    "total_applied_suggestions": "pull_request_applied_suggestions",
    "total_copilot_suggestions": "pull_request_copilot_suggestions",
    "total_copilot_applied_suggestions": "pull_request_copilot_applied_suggestions",
}


def _one(parsed: Parsed, name: str) -> float | None:
    series = parsed.get(f"github_copilot_{name}", {})
    assert len(series) <= 1, name
    return next(iter(series.values()), None)


def check_entity(parsed: Parsed, entity: dict[str, Any]) -> None:
    for field_name, (family, window) in ACTIVE.items():
        got = _family(parsed, f"github_copilot_usage_{family}", ("window",)).get((window,))
        assert got == (entity.get(field_name) or 0), field_name
    for family, field_name in usage_support.COUNTERS.items():
        assert _one(parsed, f"usage_{family}") == entity.get(field_name, 0), family
        for breakdown, (suffix, keys, top_n) in BREAKDOWNS.items():
            if family == "interactions" and breakdown == "totals_by_language_feature":
                continue  # GitHub's language breakdown has no interaction count
            expected = usage_support.breakdown(entity, breakdown, keys, field_name, top_n)
            assert _family(parsed, f"github_copilot_usage_{family}_{suffix}", keys) == expected, (
                family,
                suffix,
            )
    cli = entity.get("totals_by_cli")
    tokens = _family(parsed, "github_copilot_usage_cli_tokens", ("type",))
    if cli:
        assert _one(parsed, "usage_cli_sessions") == cli.get("session_count", 0)
        assert _one(parsed, "usage_cli_requests") == cli.get("request_count", 0)
        assert _one(parsed, "usage_cli_prompts") == cli.get("prompt_count", 0)
        usage = cli.get("token_usage", {})
        assert tokens == {
            ("prompt",): usage.get("prompt_tokens_sum", 0),
            ("output",): usage.get("output_tokens_sum", 0),
        }
    else:
        assert _one(parsed, "usage_cli_sessions") is None
        assert tokens == {}
    prs = entity.get("pull_requests") or {}
    for field_name, family in PULL_REQUESTS.items():
        assert _one(parsed, f"usage_{family}") == (prs.get(field_name, 0) if prs else None), field_name
    for field_name, family in MEDIANS.items():
        minutes = prs.get(field_name)
        assert _one(parsed, f"usage_{family}") == (None if minutes is None else pytest.approx(minutes * 60))
    by_type = {
        (item["comment_type"],): (
            item["total_copilot_suggestions"],
            item["total_copilot_applied_suggestions"],
        )
        for item in prs.get("copilot_suggestions_by_comment_type", [])
    }
    suggested = _family(
        parsed, "github_copilot_usage_pull_request_copilot_suggestions_by_comment_type", ("comment_type",)
    )
    applied = _family(
        parsed,
        "github_copilot_usage_pull_request_copilot_applied_suggestions_by_comment_type",
        ("comment_type",),
    )
    assert suggested == {k: v[0] for k, v in by_type.items()}
    assert applied == {k: v[1] for k, v in by_type.items()}


def check_users_and_teams(parsed: Parsed, rows: dict[str, list[dict[str, Any]]]) -> None:
    users: dict[int, dict[str, Any]] = {}
    for row in rows.get("users", []):
        users[row["user_id"]] = row
    assert _one(parsed, "usage_users_reported") == len(users)
    flags = ("used_chat", "used_agent", "used_cli")
    expected_info = {
        (row["user_login"], *(str(bool(row.get(f))).lower() for f in flags),
         str(bool(row.get("used_copilot_code_review_active"))).lower()): 1.0
        for row in users.values()
    }  # fmt: skip
    assert (
        _family(parsed, "github_copilot_user_usage_info", ("user", *flags, "used_code_review"))
        == expected_info
    )
    by_login = {row["user_login"]: row for row in users.values()}
    assert _family(parsed, "github_copilot_user_ai_credits_used", ("user",)) == pytest.approx(
        {(login,): row.get("ai_credits_used", 0) for login, row in by_login.items()}
    )
    assert _family(parsed, "github_copilot_user_interactions", ("user",)) == {
        (login,): row.get("user_initiated_interaction_count", 0) for login, row in by_login.items()
    }
    assert _family(parsed, "github_copilot_user_code_acceptances", ("user",)) == {
        (login,): row.get("code_acceptance_activity_count", 0) for login, row in by_login.items()
    }
    assert _one(parsed, "usage_user_series_dropped") == 0

    reports = usage_support.Reports(rows["entity"], list(users.values()), rows.get("user_teams", []))
    teams = usage_support.teams(reports)
    for family, attribute in (
        ("users", "users"),
        ("active_users", "active_users"),
        ("interactions", "interactions"),
        ("code_acceptances", "acceptances"),
        ("ai_credits_used", "ai_credits_used"),
    ):
        got = _family(parsed, f"github_copilot_usage_team_{family}", ("team",))
        assert got == pytest.approx({(s,): getattr(t, attribute) for s, t in teams.items()}), family


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_published_usage_figure_equals_the_files(scenario: Scenario) -> None:
    rows, links = load(scenario)
    served = _serve(scenario)
    parsed = served.parsed
    target = {scenario.kind: scenario.target}
    assert value(parsed, "github_copilot_up", source="usage", **target) == 1, parsed.get("github_copilot_up")
    day = datetime(SERVED.year, SERVED.month, SERVED.day, tzinfo=UTC).timestamp()
    assert _one(parsed, "usage_report_day_timestamp_seconds") == day
    assert _one(parsed, "usage_report_day_final") == 0  # two days old: GitHub may still revise it
    check_entity(parsed, rows["entity"][0])
    check_users_and_teams(parsed, rows)
    # Every file of every report was read, from the download host, without the token.
    files = {r.path.rsplit("/", 2)[-2:][0] + "/" + r.path.rsplit("/", 1)[1] for r in served.reports.requests}
    parts = [f"part-{n}.ndjson" for n in range(len(links["download_links"]))]
    assert files == {f"{report}/{part}" for report in rows for part in parts}
    assert all("authorization" not in r.headers for r in served.reports.requests)
    # The exporter walked back from the test's today to the served day; those days had no report.
    asked = [
        r.query for r in served.api.requests if r.path.endswith(("organization-1-day", "enterprise-1-day"))
    ]
    assert asked == [f"day={d}" for d in (NOW.date(), NOW.date() - timedelta(days=1), SERVED)]
