"""Billing on answers nobody on this project wrote: GitHub's documented examples and live captures.

Each scenario serves recorded bodies (``../shared/recorded/``, skipped where that directory is absent)
or the project's fixtures reproducing their shapes (``tests/fixtures/billing/``, always) through the fake
GitHub over HTTP, polls them with the exporter's billing source on a fixed clock, and compares every
published figure with a computation over the files themselves. The expected side classifies lines by
their unit (credits, requests), not by the SKU names the exporter's table knows, so the two are
independent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exporter.demo.fake_billing import FakeBillingAccount, FakeBillingWorld
from exporter.sources.billing.source import BillingSource
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import FakeGitHub
from tests.inprocess import ManualClock, make_config, metrics, run_scenario
from tests.support import SHARED, TOKEN, Labels, serve_fake, total, value

REPO = Path(__file__).resolve().parent.parent
RECORDED = SHARED / "recorded"
FIXTURES = REPO / "tests" / "fixtures" / "billing"
#: The last day of July 2026: the seat lines' month-to-date quantity is then the month's.
NOW = datetime(2026, 7, 31, 12, 0, tzinfo=UTC).timestamp()
CREDIT_UNITS = {"ai-credits", "ai-units", "credits"}
EMPTY_USAGE = {"timePeriod": {"year": 2026, "month": 7}, "usageItems": []}
EMPTY_BUDGETS = {"budgets": [], "has_next_page": False, "total_count": 0}
#: Budget SKUs that limit Copilot, as GitHub's docs name them.
COPILOT_BUDGET_SKUS = {"copilot", "ai_credits", "premium_requests"}
pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    target: str
    #: endpoint (as FakeBillingAccount.recorded) -> file, relative to RECORDED or FIXTURES.
    files: Mapping[str, str]
    recorded: bool


SCENARIOS = [
    Scenario("openusage-org-summary", "org", "acme",
             {"usage/summary": "openusage/org-usage-summary-issue-839.json",
              "budgets": "official/budgets-get-all.json"}, True),
    Scenario("cmv-live-ai-credits", "org", "mocked-org",
             {"ai_credit/usage": "cmv/billing-credits.e461876.live18.json",
              "budgets": "official/budgets-get-all-with-user-filter.json"}, True),
    Scenario("cmv-premium-requests-by-user", "org", "octodemo",
             {"ai_credit/usage": "cmv/public_mock-data_billing-credits.json"}, True),
    Scenario("cmv-overage-rows", "org", "mocked-org",
             {"ai_credit/usage": "cmv/public_mock-data_billing-credits.e461876.json"}, True),
    Scenario("official-enterprise", "enterprise", "github",
             {"usage/summary": "official/usage-summary-enterprise.json",
              "ai_credit/usage": "official/ai-credit-usage-enterprise.json",
              "cost-centers": "official/cost-centers.json"}, True),
    Scenario("fixture-org", "org", "fixture-org",
             {"usage/summary": "usage-summary-ai-units-and-seats.json",
              "ai_credit/usage": "ai-credit-report-with-premium-requests.json",
              "budgets": "budgets-array-form.json"}, False),
    Scenario("fixture-org-summary-only", "org", "fixture-org",
             {"usage/summary": "usage-summary-ai-units-and-seats.json"}, False),
    Scenario("fixture-enterprise-same-names", "enterprise", "fixture-ent",
             {"cost-centers": "cost-centers-same-names.json",
              "usage/summary?cost_center_id=cc-web-1": "usage-summary-ai-units-and-seats.json",
              "usage/summary?cost_center_id=cc-web-2": "usage-summary-ai-units-and-seats.json",
              "usage/summary?cost_center_id=cc-blank": "usage-summary-ai-units-and-seats.json",
              "ai_credit/usage": "ai-credit-report-with-premium-requests.json"}, False),
]  # fmt: skip


def _load(scenario: Scenario) -> dict[str, Any]:
    base = RECORDED if scenario.recorded else FIXTURES
    if scenario.recorded and not base.is_dir():
        pytest.skip(f"no recorded answers at {base} (the project's shared directory beside the checkout)")
    bodies: dict[str, Any] = {"usage/summary": EMPTY_USAGE, "ai_credit/usage": EMPTY_USAGE}
    bodies |= {"budgets": EMPTY_BUDGETS, "cost-centers": {"costCenters": []}}
    bodies |= {endpoint: json.loads((base / name).read_text()) for endpoint, name in scenario.files.items()}
    return bodies


def _unit_kind(item: Mapping[str, Any]) -> str:
    return {"requests": "requests"}.get(
        item["unitType"], "credits" if item["unitType"] in CREDIT_UNITS else ""
    )


def _expected_lines(
    bodies: Mapping[str, Any], centers: list[tuple[str, str]]
) -> dict[tuple[str, ...], list[float]]:
    """(period, cost_center_id, cost_center, sku, model, unit) -> [gross, net, discount, quantity,
    discount quantity]."""
    report = [i for i in bodies["ai_credit/usage"]["usageItems"] if _unit_kind(i)]
    in_report = {_unit_kind(i) for i in report}
    lines: dict[tuple[str, ...], list[float]] = {}

    def add(period: str, center: tuple[str, str], item: Mapping[str, Any]) -> None:
        key = (period, *center, item["sku"], item.get("model", ""), item["unitType"])
        figures = [item["grossAmount"], item["netAmount"], item["discountAmount"], item["grossQuantity"]]
        figures.append(item["discountQuantity"])
        lines[key] = [a + b for a, b in zip(lines.get(key, [0.0] * 5), figures, strict=True)]

    for center in centers:
        summary = bodies.get(f"usage/summary?cost_center_id={center[0] or 'none'}", bodies["usage/summary"])
        for item in summary["usageItems"]:
            if item["product"] == "Copilot" and _unit_kind(item) not in in_report:
                add("month", center, item)
    for item in report:
        add("month", ("", ""), item)
        add("day", ("", ""), item)  # the same recorded body answers the day's request
    return lines


def _published(parsed: dict[str, dict[Labels, float]]) -> dict[tuple[str, ...], list[float]]:
    families = ["gross_amount_usd", "net_amount_usd", "discount_amount_usd", "quantity"]
    lines: dict[tuple[str, ...], list[float]] = {}
    for index, family in enumerate(families):
        for labels, sample in parsed.get(f"github_copilot_billing_{family}", {}).items():
            d = dict(labels)
            key = (d["period"], d["cost_center_id"], d["cost_center"], d["sku"], d["model"], d["unit_type"])
            lines.setdefault(key, [0.0] * 4)[index] = sample
    return lines


def _poll(scenario: Scenario, bodies: dict[str, Any]) -> dict[str, dict[Labels, float]]:
    world = FakeBillingWorld(now=NOW, form="real")
    world.add(FakeBillingAccount(scenario.kind, scenario.target, recorded=bodies))
    app = FakeGitHub(token=TOKEN, billing=world)
    clock = ManualClock(now=NOW)
    out: dict[str, dict[Labels, float]] = {}
    with serve_fake(app) as fake:
        config = make_config({"api_url": fake.url, scenario.kind: [scenario.target]})

        async def poll(base: Exporter) -> None:
            exporter = Exporter(config, base.client, [BillingSource(config, base.client, clock=clock)])
            await exporter.poller.poll_once()
            out.update(await metrics(exporter))

        run_scenario(fake.url, config, poll, clock=clock)
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_published_billing_figure_equals_the_files(scenario: Scenario) -> None:
    bodies = _load(scenario)
    parsed = _poll(scenario, bodies)
    target = {scenario.kind: scenario.target}
    assert value(parsed, "github_copilot_up", source="billing", **target) == 1
    centers = [("", "")]
    if scenario.kind == "enterprise":
        listed = bodies["cost-centers"]["costCenters"]
        centers += [(c["id"], c["name"]) for c in listed]
    expected = _expected_lines(bodies, centers)
    published = _published(parsed)
    assert set(published) == set(expected)
    for key, figures in expected.items():
        assert published[key] == pytest.approx(figures[:4], rel=1e-9, abs=1e-9), key

    # The pools: each cost center's as GitHub reports it; the shared one from seats and GitHub's
    # included credits, never below what GitHub counted as included.
    pools = [c for c in bodies["cost-centers"]["costCenters"] if c.get("ai_credit_pool_enabled")]
    for center in pools:
        labels = {"cost_center_id": center["id"], "cost_center": center["name"]}
        state = center["ai_credit_pool_state"]
        assert value(parsed, "github_copilot_ai_credits_included", **labels) == state["target_amount"]
        assert value(parsed, "github_copilot_ai_credits_used", **labels) == state["current_amount"]
    month = {k: v for k, v in expected.items() if k[0] == "month" and k[5] in CREDIT_UNITS}
    used = sum(v[3] for v in month.values())
    included_by_github = sum(v[4] for v in month.values())
    seat_months = sum(
        i["grossQuantity"]
        for center in centers
        for i in bodies.get(f"usage/summary?cost_center_id={center[0] or 'none'}", bodies["usage/summary"])[
            "usageItems"
        ]
        if i["unitType"] == "user-months"
    )
    own = sum(c["ai_credit_pool_state"]["target_amount"] for c in pools)
    own_used = sum(
        min(c["ai_credit_pool_state"]["current_amount"], c["ai_credit_pool_state"]["target_amount"])
        for c in pools
    )
    shared = {"cost_center_id": "", "cost_center": "", **target}
    included = value(parsed, "github_copilot_ai_credits_included", **shared)
    assert included == pytest.approx(max(0.0, round(seat_months) * 1900 - own, included_by_github - own_used))
    assert value(parsed, "github_copilot_ai_credits_used", **shared) == pytest.approx(
        max(0.0, used - sum(c["ai_credit_pool_state"]["current_amount"] for c in pools))
    )
    # CopilotAICreditPoolExhausted's condition holds exactly when GitHub billed credits beyond the pool.
    paid = sum(v[1] for v in month.values())
    exhausted = (value(parsed, "github_copilot_ai_credits_used", **shared) or 0) > (included or 0)
    if paid == 0:
        assert not exhausted
    elif not pools:
        assert exhausted

    # Budgets: Copilot's only, each with its amount; GitHub's consumed figure where it gives one.
    listed = bodies["budgets"]["budgets"]
    copilot = {b["id"]: b for b in listed if COPILOT_BUDGET_SKUS & set(b.get("budget_product_skus", []))}
    exported = {
        dict(k)["budget_id"]: v for k, v in parsed.get("github_copilot_budget_amount_usd", {}).items()
    }
    assert exported == {i: b["budget_amount"] for i, b in copilot.items()}
    effective = bodies["budgets"].get("effective_budget", {})
    if effective.get("id") in copilot:
        consumed = value(parsed, "github_copilot_budget_consumed_usd", budget_id=effective["id"])
        assert consumed == effective["consumed_amount"]


def test_a_cost_center_named_like_another_or_empty_gets_series_of_its_own() -> None:
    (scenario,) = [s for s in SCENARIOS if s.name == "fixture-enterprise-same-names"]
    parsed = _poll(scenario, _load(scenario))
    included = parsed["github_copilot_ai_credits_included"]
    ids = sorted(dict(labels)["cost_center_id"] for labels in included)
    assert ids == ["", "cc-blank", "cc-web-1", "cc-web-2"]
    seats = "copilot_for_business"
    for center in ("cc-web-1", "cc-web-2", "cc-blank"):
        assert (
            total(parsed, "github_copilot_billing_gross_amount_usd", cost_center_id=center, sku=seats) == 38.0
        )
    # The blank-named cost center's seats are its own, not those of the usage in none (none here).
    assert total(parsed, "github_copilot_billing_gross_amount_usd", cost_center_id="", sku=seats) == 0
