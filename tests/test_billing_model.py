from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from exporter.errors import MalformedResponseError
from exporter.github.text import MAX_TEXT_CHARS
from exporter.sources.billing.model import (
    parse_ai_credit_usage,
    parse_budgets_page,
    parse_cost_centers,
    parse_usage_summary,
)

ITEM = {
    "product": "Copilot",
    "sku": "Copilot AI Credits",
    "model": "GPT-5",
    "unitType": "credits",
    "pricePerUnit": 0.01,
    "grossQuantity": 100,
    "grossAmount": 1.0,
    "discountQuantity": 40,
    "discountAmount": 0.4,
    "netQuantity": 60,
    "netAmount": 0.6,
}
AI_BODY: dict[str, Any] = {
    "timePeriod": {"year": 2026, "month": 6},
    "organization": "acme",
    "usageItems": [ITEM],
}
BUDGET = {
    "id": "b1",
    "budget_type": "ProductPricing",
    "budget_product_sku": "copilot",
    "budget_scope": "organization",
    "budget_entity_name": "acme",
    "budget_amount": 100,
    "prevent_further_usage": True,
    "budget_alerting": {"will_alert": True, "alert_recipients": ["mona"]},
}
CENTER = {
    "id": "cc1",
    "name": "web",
    "state": "active",
    "resources": [{"type": "User", "name": "mona"}],
    "ai_credit_pool_enabled": True,
    "ai_credit_pool_state": {"target_amount": 21000, "current_amount": 7250.5},
}


def test_an_ai_credit_report_keeps_every_figure_of_its_items() -> None:
    report = parse_ai_credit_usage(AI_BODY)
    assert report.time_period.year == 2026
    assert report.time_period.month == 6
    assert report.time_period.day is None
    assert report.cost_center is None
    (item,) = report.items
    assert (item.model, item.gross_quantity, item.discount_amount, item.net_amount) == (
        "GPT-5",
        100,
        0.4,
        0.6,
    )


def test_a_summary_has_no_model_and_may_name_its_cost_center() -> None:
    item = {k: v for k, v in ITEM.items() if k != "model"}
    body = {"timePeriod": {"year": 2026}, "enterprise": "e", "costCenter": {"id": "c", "name": "web"},
            "usageItems": [item]}  # fmt: skip
    report = parse_usage_summary(body)
    assert report.items[0].model == ""
    assert report.cost_center is not None
    assert report.cost_center.name == "web"


def test_budgets_and_cost_centers_parse() -> None:
    user_budget = {**BUDGET, "id": "b2", "budget_scope": "user", "user": "mona", "consumed_amount": 12.5}
    page = parse_budgets_page({"budgets": [BUDGET, user_budget], "has_next_page": False, "total_count": 2})
    assert [b.id for b in page.budgets] == ["b1", "b2"]
    assert page.budgets[0].consumed_usd is None
    assert page.budgets[1].consumed_usd == 12.5
    assert page.budgets[1].user == "mona"
    assert page.has_next_page is False
    (center,) = parse_cost_centers({"costCenters": [CENTER]})
    assert (center.pool_target_credits, center.pool_current_credits) == (21000, 7250.5)
    bare = parse_cost_centers({"costCenters": [{"id": "x", "name": "y", "resources": []}]})[0]
    assert (bare.pool_enabled, bare.pool_target_credits, bare.state) == (False, None, "active")
    assert parse_cost_centers({}) == ()


def _without(body: dict[str, Any], *path: str | int) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return changed


def _with(body: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        None,
        _without(AI_BODY, "timePeriod"),
        _without(AI_BODY, "usageItems"),
        _without(AI_BODY, "timePeriod", "year"),
        _with(AI_BODY, "2026", "timePeriod", "year"),
        _with(AI_BODY, True, "timePeriod", "month"),
        _with(AI_BODY, {"a": 1}, "usageItems"),
        _with(AI_BODY, [1], "usageItems"),
        _without(AI_BODY, "usageItems", 0, "model"),
        _without(AI_BODY, "usageItems", 0, "netAmount"),
        _with(AI_BODY, "1.0", "usageItems", 0, "netAmount"),
        _with(AI_BODY, True, "usageItems", 0, "grossQuantity"),
        _with(AI_BODY, float("nan"), "usageItems", 0, "netAmount"),
        _with(AI_BODY, float("inf"), "usageItems", 0, "grossAmount"),
        _with(AI_BODY, 10**400, "usageItems", 0, "grossAmount"),
        _with(AI_BODY, -1e300, "usageItems", 0, "netAmount"),
        _with(AI_BODY, 5, "usageItems", 0, "sku"),
        _with(AI_BODY, {"id": "x"}, "costCenter"),
    ],
)
def test_a_usage_report_without_its_documented_shape_is_rejected(body: Any) -> None:
    with pytest.raises(MalformedResponseError, match="ai credit usage"):
        parse_ai_credit_usage(body)


def test_nan_read_from_json_text_is_rejected() -> None:
    body = json.loads(json.dumps(AI_BODY).replace('"netAmount": 0.6', '"netAmount": NaN'))
    with pytest.raises(MalformedResponseError, match=r"usageItems\[0\]\.netAmount"):
        parse_ai_credit_usage(body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"budgets": {}},
        {"budgets": [BUDGET], "has_next_page": "no"},
        {"budgets": [BUDGET], "total_count": 1.5},
        {"budgets": [_without(BUDGET, "id")]},
        {"budgets": [_without(BUDGET, "budget_product_sku")]},
        {"budgets": [_without(BUDGET, "budget_alerting")]},
        {"budgets": [_with(BUDGET, {}, "budget_alerting")]},
        {"budgets": [_with(BUDGET, "yes", "prevent_further_usage")]},
        {"budgets": [_with(BUDGET, float("-inf"), "budget_amount")]},
        {"budgets": [_with(BUDGET, float("nan"), "consumed_amount")]},
    ],
)
def test_a_budget_page_without_its_documented_shape_is_rejected(body: Any) -> None:
    with pytest.raises(MalformedResponseError, match="budgets"):
        parse_budgets_page(body)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"costCenters": "x"},
        {"costCenters": [_without(CENTER, "resources")]},
        {"costCenters": [_without(CENTER, "name")]},
        {"costCenters": [_with(CENTER, "yes", "ai_credit_pool_enabled")]},
        {"costCenters": [_with(CENTER, [], "ai_credit_pool_state")]},
        {"costCenters": [_with(CENTER, float("nan"), "ai_credit_pool_state", "target_amount")]},
    ],
)
def test_a_cost_center_list_without_its_documented_shape_is_rejected(body: Any) -> None:
    with pytest.raises(MalformedResponseError, match="cost centers"):
        parse_cost_centers(body)


def test_lone_surrogates_are_escaped_and_long_strings_are_cut() -> None:
    body = json.loads(json.dumps(AI_BODY).replace('"GPT-5"', '"GPT\\ud800-5"'))
    body["usageItems"][0]["sku"] = "x" * 10_000
    (item,) = parse_ai_credit_usage(body).items
    assert item.model == "GPT\\ud800-5"
    item.model.encode("utf-8")
    assert item.sku == "x" * MAX_TEXT_CHARS
    budget = parse_budgets_page({"budgets": [_with(BUDGET, "\udfff" * 300, "budget_entity_name")]}).budgets[0]
    assert budget.entity_name == ("\\udfff" * 300)[:MAX_TEXT_CHARS]


def test_a_surrogate_pair_survives_as_the_character_it_encodes() -> None:
    body = json.loads(json.dumps(AI_BODY).replace('"GPT-5"', '"GPT-\\ud83d\\ude00"'))
    assert parse_ai_credit_usage(body).items[0].model == "GPT-\N{GRINNING FACE}"
