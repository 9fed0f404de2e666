"""The 2026 usage fields as units: parsing (nullable counts, the coding-agent alias, phases), the top-N
cuts that keep totals exact, the unknown-field check, and the families they give."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from exporter.config import Target
from exporter.errors import MalformedResponseError
from exporter.sources.usage.agents import AgentItem, PhaseItem
from exporter.sources.usage.aggregate import UsageAggregator
from exporter.sources.usage.cohorts import cut_agents, cut_pairs, cut_phases
from exporter.sources.usage.fields import unknown_fields
from exporter.sources.usage.metrics import usage_families
from exporter.sources.usage.model import parse_entity_record, parse_user_record
from tests.support import SHARED

REPO = Path(__file__).resolve().parent.parent
RECORDED = SHARED / "recorded"
DAY = "2026-08-10"


def _entity(**fields: Any) -> dict[str, Any]:
    return {"day": DAY, "daily_active_users": 3, **fields}


def _user(user_id: int = 1, **fields: Any) -> dict[str, Any]:
    return {"day": DAY, "user_id": user_id, "user_login": f"u{user_id}", **fields}


def test_cloud_agent_counts_are_absent_when_null_or_missing_and_kept_when_zero() -> None:
    record = parse_entity_record(
        _entity(daily_active_copilot_cloud_agent_users=None, weekly_active_copilot_cloud_agent_users=0),
        "x",
    )
    assert "daily_active_copilot_cloud_agent_users" not in record.active_users
    assert "monthly_active_copilot_cloud_agent_users" not in record.active_users
    assert record.active_users["weekly_active_copilot_cloud_agent_users"] == 0
    with pytest.raises(MalformedResponseError, match="monthly_active_copilot_cloud_agent_users"):
        parse_entity_record(_entity(monthly_active_copilot_cloud_agent_users=-1), "x")


def test_an_older_record_parses_with_none_of_the_new_fields() -> None:
    record = parse_entity_record(_entity(), "x")
    assert record.copilot_app == {}
    assert record.third_party_agents == ()
    assert record.adoption_phases == ()
    user = parse_user_record(_user(), "x")
    assert (user.extras.used_cloud_agent, user.extras.used_copilot_app, user.extras.phase) == (
        False,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"used_copilot_cloud_agent": True}, True),
        ({"used_copilot_coding_agent": True}, True),
        ({"used_copilot_cloud_agent": False, "used_copilot_coding_agent": True}, True),
        ({"used_copilot_cloud_agent": False, "used_copilot_coding_agent": False}, False),
    ],
)
def test_the_coding_agent_flag_is_the_cloud_agent_flag(fields: dict[str, Any], expected: bool) -> None:
    assert parse_user_record(_user(**fields), "x").extras.used_cloud_agent is expected


def test_copilot_app_agents_and_phases_are_read_from_an_entity_record() -> None:
    record = parse_entity_record(
        _entity(
            totals_by_copilot_app={
                "session_count": 2,
                "request_count": 9,
                "prompt_count": 4,
                "token_usage": {
                    "prompt_tokens_sum": 100,
                    "output_tokens_sum": 30,
                    "avg_tokens_per_request": 14.4,
                },
            },
            totals_by_3rd_party_agent=[
                {
                    "agent_id": 1,
                    "agent_name": "Claude (Anthropic)",
                    "user_initiated_interaction_count": 5,
                    "session_count": 2,
                }
            ],
            totals_by_ai_adoption_phase=[
                {
                    "phase": "Phase 1",
                    "phase_number": 1,
                    "total_engaged_users": 4,
                    "avg_pull_requests_minutes_to_review": 12.5,
                }
            ],
        ),
        "x",
    )
    assert record.copilot_app == {
        "session_count": 2,
        "request_count": 9,
        "prompt_count": 4,
        "prompt_tokens_sum": 100,
        "output_tokens_sum": 30,
    }
    assert record.third_party_agents == (AgentItem("Claude (Anthropic)", 5, 2),)
    assert record.adoption_phases == (
        PhaseItem("Phase 1", 4, None, {"avg_pull_requests_minutes_to_review": 12.5}),
    )


def test_ide_and_plugin_versions_are_distinct_pairs_and_empty_plugins_are_none() -> None:
    ide = {"ide_version": "1.104.0", "sampled_at": "x"}
    items = [
        {
            "ide": "vscode",
            "last_known_ide_version": ide,
            "last_known_plugin_version": {"plugin": "copilot-chat", "plugin_version": "0.31.0"},
        },
        {"ide": "vscode", "last_known_ide_version": ide},
        {
            "ide": "xcode",
            "last_known_plugin_version": {"plugin": "", "plugin_version": "", "sampled_at": "x"},
        },
    ]
    extras = parse_user_record(_user(totals_by_ide=items), "x").extras
    assert extras.ide_versions == (("vscode", "1.104.0"),)
    assert extras.plugin_versions == (("copilot-chat", "0.31.0"),)


def test_agent_and_version_cuts_keep_the_totals_exact() -> None:
    agents = [AgentItem(f"agent-{i}", i, 1) for i in range(6)] + [AgentItem("agent-5", 4, 0)]
    cut = cut_agents(agents, 2)
    assert [a.name for a in cut] == ["agent-4", "agent-5", "other"]
    assert sum(a.interactions for a in cut) == sum(a.interactions for a in agents)
    assert sum(a.sessions for a in cut) == sum(a.sessions for a in agents)
    pairs = {
        ("vscode", "1.0"): 5,
        ("vscode", "1.1"): 3,
        ("vscode", "0.9"): 1,
        ("vim", "9"): 2,
        ("emacs", "29"): 1,
    }
    got = dict(cut_pairs(pairs, 2))
    assert got == {
        ("vscode", "1.0"): 5,
        ("vscode", "1.1"): 3,
        ("vscode", "other"): 1,
        ("vim", "9"): 2,
        ("other", "other"): 1,
    }
    assert sum(got.values()) == sum(pairs.values())


def test_folded_phases_average_weighted_by_engaged_users() -> None:
    phases = [
        PhaseItem("a", 30, 10, {"avg_loc_added": 10.0}),
        PhaseItem("b", 10, None, {"avg_loc_added": 50.0}),
        PhaseItem("c", 1, 2, {"avg_loc_added": 99.0}),
    ]
    a, other = cut_phases(phases, 1)
    assert a == phases[0]
    assert other.phase == "other"
    assert other.engaged_users == 11
    assert other.pull_requests_merged == 2
    assert other.averages["avg_loc_added"] == pytest.approx((50.0 * 10 + 99.0) / 11)


def test_unknown_fields_are_named_one_level_down() -> None:
    raw = _entity(
        brand_new=1,
        pull_requests={"total_merged": 1, "total_reverted": 2},
        totals_by_ide=[{"ide": "x", "tokens": 3}],
    )
    assert unknown_fields("entity", raw) == {
        "brand_new",
        "pull_requests.total_reverted",
        "totals_by_ide[].tokens",
    }


@pytest.mark.parametrize(
    ("report", "name"),
    [
        ("users", "docs/example-schema-user-level.json"),
        ("entity", "cmv/public_mock-data_new-api_organization-1-day-report.json"),
        ("users", "cmv/public_mock-data_new-api_organization-users-1-day-report.json"),
        ("entity", "docs/example-schema-enterprise-level.json"),
    ],
)
def test_every_field_of_the_recorded_records_is_known(report: str, name: str) -> None:
    path = RECORDED / name
    if not path.exists():
        pytest.skip(f"no recorded answers at {RECORDED}")
    data = json.loads(path.read_text())
    records = data if isinstance(data, list) else data["day_totals"]
    records = [day for r in records for day in r.get("day_totals", [r])]
    assert records
    for record in records:
        assert unknown_fields(report, record) == set()


def test_an_unknown_field_is_logged_by_name_never_value_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    aggregator = UsageAggregator(date.fromisoformat(DAY))
    aggregator.feed_entity_line(json.dumps(_entity(secret_thing="value-0123")).encode())
    for user_id in (1, 2):
        aggregator.feed_user_line(json.dumps(_user(user_id, new_flag="private-value")).encode())
    with caplog.at_level(logging.DEBUG, logger="exporter.sources.usage.aggregate"):
        snapshot = aggregator.finish(Target("org", "acme"), final=False)
    assert snapshot.unknown_fields == {"entity": ("secret_thing",), "users": ("new_flag",), "user_teams": ()}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("new_flag" in m for m in messages) == 1, "once per poll, not once per line"
    assert any("secret_thing" in m for m in messages)
    assert not any("value-0123" in m or "private-value" in m for m in messages)
    families = {f.name: f for f in usage_families([snapshot], user_label=None, max_user_series=0)}
    samples = {s.labels["report"]: s.value for s in families["github_copilot_usage_unknown_fields"].samples}
    assert samples == {"entity": 1, "users": 1, "user_teams": 0}
    # No cloud-agent number, no series: absent, not zero.
    assert families["github_copilot_usage_cloud_agent_active_users"].samples == []
