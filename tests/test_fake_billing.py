from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from exporter.demo.fake_billing import (
    DEMO_ENTERPRISE,
    DEMO_ENTERPRISE_ORGS,
    DEMO_ORG,
    FakeBillingWorld,
    billing_route,
    demo_billing,
)
from tests.support import SHARED

REPO = Path(__file__).resolve().parent.parent
#: The shared copy beside the checkout when there is one, else the vendored copy (a test keeps them equal).
VENDORED_SPEC = REPO / "tests" / "github-api" / "billing-openapi.json"
SHARED_SPEC = SHARED / "github-api" / "billing-openapi.json"
SPEC_PATH = SHARED_SPEC if SHARED_SPEC.exists() else VENDORED_SPEC
NOW = datetime(2026, 7, 18, 15, 30, tzinfo=UTC).timestamp()
ORG_PATH = f"/organizations/{DEMO_ORG}/settings/billing"
ENT_PATH = f"/enterprises/{DEMO_ENTERPRISE}/settings/billing"


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return spec


def _validate(template: str, body: Any) -> None:
    schema = _spec()["paths"][template]["get"]["responses"]["200"]["content"]["application/json"][
        "json_schema"
    ]
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


def _get(world: FakeBillingWorld, path: str, **params: str) -> Any:
    answer = billing_route(world, path, params)
    assert answer is not None
    status, body, _ = answer
    assert status == 200, body
    return body


@pytest.fixture(scope="module")
def world() -> FakeBillingWorld:
    return demo_billing(NOW)


def test_the_vendored_schema_equals_the_shared_one() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip(f"no shared copy at {SHARED_SPEC} to compare with")
    assert VENDORED_SPEC.read_bytes() == SHARED_SPEC.read_bytes(), "copy ../shared/github-api/ into tests/"


def _requests(world: FakeBillingWorld) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(schema path, path, params) of every kind of request the exporter makes, and some it does not."""
    days = [{}, {"day": "17"}, {"day": "1"}, {"year": "2026", "month": "6", "day": "30"}]
    for prefix, template in ((ORG_PATH, "/organizations/{org}"), (ENT_PATH, "/enterprises/{enterprise}")):
        for extra in [*days, {"product": "copilot"}, {"product": "Actions", "sku": "actions_linux"}]:
            yield f"{template}/settings/billing/usage/summary", f"{prefix}/usage/summary", dict(extra)
        for extra in [*days, {"model": "GPT-5"}, {"product": "Copilot"}]:
            yield f"{template}/settings/billing/ai_credit/usage", f"{prefix}/ai_credit/usage", dict(extra)
        for extra in [{}, {"per_page": "2", "page": "2"}, {"scope": "user"}]:
            yield f"{template}/settings/billing/budgets", f"{prefix}/budgets", dict(extra)
    enterprise = world.accounts[("enterprise", DEMO_ENTERPRISE)]
    for center in [c.id for c in enterprise.cost_centers] + ["none"]:
        params = {"cost_center_id": center, "product": "copilot"}
        yield "/enterprises/{enterprise}/settings/billing/usage/summary", f"{ENT_PATH}/usage/summary", params
        yield (
            "/enterprises/{enterprise}/settings/billing/ai_credit/usage",
            f"{ENT_PATH}/ai_credit/usage",
            params,
        )
    for extra in [{}, {"state": "active"}]:
        yield "/enterprises/{enterprise}/settings/billing/cost-centers", f"{ENT_PATH}/cost-centers", extra


def test_every_body_the_fake_serves_validates_against_githubs_schema(world: FakeBillingWorld) -> None:
    count = 0
    for template, path, params in _requests(world):
        _validate(template, _get(world, path, **params))
        count += 1
    assert count >= 40


def _figures(body: Any, *key_fields: str) -> dict[tuple[str, ...], tuple[float, ...]]:
    return {
        tuple(item[k] for k in key_fields): (item["grossQuantity"], item["netAmount"], item["discountAmount"])
        for item in body["usageItems"]
    }


@pytest.mark.parametrize("prefix", [ORG_PATH, ENT_PATH])
@pytest.mark.parametrize("report", ["usage/summary", "ai_credit/usage"])
def test_a_months_figures_are_the_sum_of_its_days(world: FakeBillingWorld, prefix: str, report: str) -> None:
    keys = ("product", "sku", "model") if report == "ai_credit/usage" else ("product", "sku")
    month = _figures(_get(world, f"{prefix}/{report}"), *keys)
    totals: dict[tuple[str, ...], list[float]] = {}
    for day in range(1, 19):
        for key, figures in _figures(_get(world, f"{prefix}/{report}", day=str(day)), *keys).items():
            totals[key] = [a + b for a, b in zip(totals.get(key, [0.0, 0.0, 0.0]), figures, strict=True)]
    assert set(totals) == set(month)
    for key, figures in month.items():
        assert figures == pytest.approx(tuple(totals[key]), rel=1e-9, abs=1e-9)


def test_days_after_today_have_no_usage(world: FakeBillingWorld) -> None:
    assert _get(world, f"{ORG_PATH}/usage/summary", day="19")["usageItems"] == []


def test_cost_center_summaries_add_up_to_the_enterprise(world: FakeBillingWorld) -> None:
    whole = _figures(_get(world, f"{ENT_PATH}/usage/summary", product="copilot"), "sku")
    parts: dict[tuple[str, ...], float] = {}
    for center in ["cc-web", "cc-data", "cc-platform", "none"]:
        body = _get(world, f"{ENT_PATH}/usage/summary", product="copilot", cost_center_id=center)
        for key, figures in _figures(body, "sku").items():
            parts[key] = parts.get(key, 0.0) + figures[1]
    assert {k: v[1] for k, v in whole.items()} == pytest.approx(parts)


def test_included_credits_show_as_discounts_until_the_pool_is_spent(world: FakeBillingWorld) -> None:
    item = _get(world, f"{ORG_PATH}/usage/summary", sku="Copilot AI Credits")["usageItems"][0]
    assert item["discountQuantity"] == min(item["grossQuantity"], 320 * 1900)
    assert item["netQuantity"] == item["grossQuantity"] - item["discountQuantity"]


def test_budget_pages_link_to_the_next_and_the_last(world: FakeBillingWorld) -> None:
    answer = billing_route(world, f"{ORG_PATH}/budgets", {"per_page": "3"})
    assert answer is not None
    status, body, link = answer
    assert (status, len(body["budgets"]), body["has_next_page"], body["total_count"]) == (200, 3, True, 4)
    assert f'<https://api.github.com{ORG_PATH}/budgets?page=2&per_page=3>; rel="next"' in link
    last = billing_route(world, f"{ORG_PATH}/budgets", {"per_page": "3", "page": "2"})
    assert last is not None
    assert (len(last[1]["budgets"]), last[1]["has_next_page"], last[2]) == (1, False, "")


def test_one_budget_is_near_its_limit(world: FakeBillingWorld) -> None:
    budgets = _get(world, f"{ORG_PATH}/budgets", scope="user")["budgets"]
    assert any(0.85 <= b["consumed_amount"] / b["budget_amount"] < 1 for b in budgets)


def test_organizations_billed_through_their_enterprise_answer_404(world: FakeBillingWorld) -> None:
    for org in DEMO_ENTERPRISE_ORGS:
        answer = billing_route(world, f"/organizations/{org}/settings/billing/usage/summary", {})
        assert answer is not None
        assert answer[0] == 404
        assert set(answer[1]) >= {"message", "documentation_url"}


def test_without_billing_permission_the_fake_answers_403_with_githubs_error_body() -> None:
    world = demo_billing(NOW)
    world.accounts[("org", DEMO_ORG)].billing_forbidden = True
    answer = billing_route(world, f"{ORG_PATH}/budgets", {})
    assert answer is not None
    status, body, _ = answer
    assert status == 403
    assert isinstance(body["message"], str)
    assert body["documentation_url"].startswith("https://docs.github.com/")


def test_other_paths_are_not_billings_and_unknown_billing_paths_are_404(world: FakeBillingWorld) -> None:
    assert billing_route(world, "/orgs/octodemo/copilot/billing/seats", {}) is None
    for path in [
        f"{ORG_PATH}/cost-centers",
        f"{ORG_PATH}/nothing",
        "/organizations/nobody/settings/billing/budgets",
    ]:
        answer = billing_route(world, path, {})
        assert answer is not None
        assert answer[0] == 404


def test_bad_query_parameters_answer_400(world: FakeBillingWorld) -> None:
    for params in [{"year": "x"}, {"month": "13"}, {"day": "32"}, {"cost_center_id": "missing"}]:
        answer = billing_route(world, f"{ENT_PATH}/usage/summary", params)
        assert answer is not None
        assert answer[0] == 400


def test_the_world_is_the_same_for_the_same_seed_and_time() -> None:
    path = f"{ENT_PATH}/ai_credit/usage"
    assert _get(demo_billing(NOW), path) == _get(demo_billing(NOW), path)
    assert _get(demo_billing(NOW), path) != _get(demo_billing(NOW, seed=1), path)


def test_yesterday_in_the_previous_month_is_served_on_the_first() -> None:
    first = datetime(2026, 8, 1, 0, 5, tzinfo=UTC)
    world = demo_billing(first.timestamp())
    yesterday: date = (first - timedelta(days=1)).date()
    body = _get(world, f"{ORG_PATH}/ai_credit/usage", year="2026", month="7", day=str(yesterday.day))
    assert body["usageItems"]
