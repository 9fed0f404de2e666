"""Parsing of usage-metrics report links and NDJSON records: strict where it matters, total otherwise."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from exporter.errors import MalformedResponseError
from exporter.github.text import MAX_TEXT_CHARS, clean_text
from exporter.sources.usage.model import (
    ACTIVE_USER_FIELDS,
    Counters,
    parse_entity_record,
    parse_line,
    parse_report_links,
    parse_user_record,
    parse_user_team_record,
)


def test_a_report_body_gives_its_day_and_links() -> None:
    body = {
        "download_links": ["https://dl.example/a.ndjson?sig=1", "https://dl.example/b"],
        "report_day": "2026-07-01",
    }
    links = parse_report_links(body)
    assert links is not None
    assert links.day == date(2026, 7, 1)
    assert links.links == ("https://dl.example/a.ndjson?sig=1", "https://dl.example/b")


def test_no_content_means_no_report() -> None:
    assert parse_report_links(None) is None


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"report_day": "2026-07-01"},
        {"download_links": "https://dl.example/a", "report_day": "2026-07-01"},
        {"download_links": [7], "report_day": "2026-07-01"},
        {"download_links": ["ftp://dl.example/a"], "report_day": "2026-07-01"},
        {"download_links": ["/relative"], "report_day": "2026-07-01"},
        {"download_links": []},
        {"download_links": [], "report_day": "2026-7-1"},
        {"download_links": [], "report_day": "yesterday"},
    ],
)
def test_a_report_body_of_another_shape_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponseError):
        parse_report_links(body)


def test_blank_lines_are_skipped_and_others_must_be_objects() -> None:
    assert parse_line(b"\n", "x") is None
    assert parse_line(b'{"a": 1}\n', "x") == {"a": 1}
    with pytest.raises(MalformedResponseError):
        parse_line(b"[1]\n", "x")
    with pytest.raises(MalformedResponseError):
        parse_line(b'{"a": 1', "x")


def test_absent_figures_count_as_zero() -> None:
    record = parse_entity_record({"day": "2026-07-01"}, "x")
    assert record.counters == Counters()
    assert record.active_users == dict.fromkeys(ACTIVE_USER_FIELDS, 0)
    assert record.cli == {}
    assert record.pull_requests == {}
    assert all(items == () for items in record.breakdowns.values())


@pytest.mark.parametrize(
    "value", [-1, "3", True, None, float("inf"), float("nan"), -0.5, 2**53 + 1, 1e308, 10**400]
)
def test_a_figure_that_is_not_a_finite_non_negative_number_is_malformed(value: Any) -> None:
    raw = {"day": "2026-07-01", "code_acceptance_activity_count": value}
    if value is None:
        assert parse_entity_record(raw, "x").counters.acceptances == 0  # null = absent
        return
    with pytest.raises(MalformedResponseError):
        parse_entity_record(raw, "x")


def test_nan_from_the_wire_is_refused() -> None:
    raw = parse_line(b'{"day": "2026-07-01", "user_id": 1, "user_login": "a", "ai_credits_used": NaN}', "x")
    assert raw is not None
    with pytest.raises(MalformedResponseError):
        parse_user_record(raw, "x")


def test_integral_floats_are_counts() -> None:
    assert parse_entity_record({"day": "2026-07-01", "loc_added_sum": 12.0}, "x").counters.loc_added == 12


def test_label_strings_are_encodable_and_bounded() -> None:
    raw = json.loads('{"day": "2026-07-01", "totals_by_ide": [{"ide": "vs\\ud800code"}]}')
    item = parse_entity_record(raw, "x").breakdowns["totals_by_ide"][0]
    item.keys[0].encode("utf-8")
    assert item.keys[0] == "vs\\ud800code"
    assert len(clean_text("x" * 1000)) == MAX_TEXT_CHARS
    assert clean_text("\U0001f600") == "\U0001f600"


def test_an_undocumented_model_item_without_a_key_is_unknown() -> None:
    raw = {
        "day": "2026-07-01",
        "totals_by_model_feature": [{"feature": "agent", "user_initiated_interaction_count": 3}],
    }
    item = parse_entity_record(raw, "x").breakdowns["totals_by_model_feature"][0]
    assert item.keys == ("unknown", "agent")
    assert item.counters.interactions == 3


@pytest.mark.parametrize(
    "raw",
    [
        {"day": "2026-07-01", "totals_by_ide": {}},
        {"day": "2026-07-01", "totals_by_ide": [1]},
        {"day": "2026-07-01", "totals_by_ide": [{"ide": 3}]},
        {"day": "2026-07-01", "totals_by_cli": []},
        {"day": "2026-07-01", "pull_requests": {"median_minutes_to_merge": "soon"}},
        {"day": "2026-07-01", "pull_requests": {"copilot_suggestions_by_comment_type": {}}},
        {"day": "07/01/2026"},
    ],
)
def test_an_entity_record_of_another_shape_is_malformed(raw: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        parse_entity_record(raw, "x")


def test_an_entity_record_keeps_cli_pull_requests_and_comment_types() -> None:
    raw = {
        "day": "2026-07-01",
        "daily_active_cli_users": 4,
        "totals_by_cli": {
            "session_count": 2,
            "request_count": 9,
            "prompt_count": 5,
            "token_usage": {"output_tokens_sum": 10, "prompt_tokens_sum": 20, "avg_tokens_per_request": 3.3},
        },
        "pull_requests": {
            "total_created": 3,
            "median_minutes_to_merge": 90.5,
            "copilot_suggestions_by_comment_type": [
                {
                    "comment_type": "security",
                    "total_copilot_suggestions": 4,
                    "total_copilot_applied_suggestions": 1,
                },
                {
                    "comment_type": "security",
                    "total_copilot_suggestions": 1,
                    "total_copilot_applied_suggestions": 1,
                },
            ],
        },
    }
    record = parse_entity_record(raw, "x")
    assert record.active_users["daily_active_cli_users"] == 4
    assert record.cli == {
        "session_count": 2,
        "request_count": 9,
        "prompt_count": 5,
        "output_tokens_sum": 10,
        "prompt_tokens_sum": 20,
    }
    assert record.pull_requests["total_created"] == 3
    assert record.pull_requests["total_merged"] == 0
    assert record.pull_request_medians == {"median_minutes_to_merge": 90.5}
    assert record.suggestions_by_comment_type == {"security": (5, 2)}


def test_a_user_record() -> None:
    raw = {
        "user_id": 7,
        "user_login": "mona",
        "day": "2026-07-01",
        "user_initiated_interaction_count": 3,
        "code_acceptance_activity_count": 2,
        "used_chat": True,
        "used_copilot_code_review_passive": True,
        "ai_credits_used": 12.5,
    }
    user = parse_user_record(raw, "x")
    assert (user.user_id, user.login, user.day) == (7, "mona", date(2026, 7, 1))
    assert (user.counters.interactions, user.counters.acceptances, user.ai_credits_used) == (3, 2, 12.5)
    assert (user.used_chat, user.used_agent, user.used_code_review_passive) == (True, False, True)


@pytest.mark.parametrize(
    "change",
    [
        {"user_id": "7"},
        {"user_id": True},
        {"user_login": None},
        {"used_chat": "yes"},
        {"ai_credits_used": -1},
        {"day": None},
    ],
)
def test_a_user_record_of_another_shape_is_malformed(change: dict[str, Any]) -> None:
    raw = {"user_id": 7, "user_login": "mona", "day": "2026-07-01"} | change
    with pytest.raises(MalformedResponseError):
        parse_user_record(raw, "x")


def test_a_user_team_record() -> None:
    team = parse_user_team_record(
        {"user_id": 7, "user_login": "mona", "day": "2026-07-01", "team_id": 3, "slug": "backend"}, "x"
    )
    assert (team.user_id, team.team_id, team.slug, team.day) == (7, 3, "backend", date(2026, 7, 1))
    with pytest.raises(MalformedResponseError):
        parse_user_team_record({"user_id": 7, "day": "2026-07-01", "slug": "backend"}, "x")
