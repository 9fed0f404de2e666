from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from exporter.config import Target
from exporter.demo.fake_billing import (
    DEMO_ENTERPRISE,
    DEMO_ORG,
    FakeBillingWorld,
    billing_route,
    demo_billing,
)
from exporter.errors import GitHubError, MalformedResponseError, NotFoundError, PermissionDeniedError
from exporter.sources.billing.fetch import MAX_BUDGET_PAGES, fetch_billing
from exporter.sources.billing.metrics import billing_families
from exporter.sources.billing.snapshot import BillingSnapshot

NOW = datetime(2026, 7, 18, 15, 30, tzinfo=UTC).timestamp()
API = "https://api.github.com"
ORG = Target("org", DEMO_ORG)
ENTERPRISE = Target("enterprise", DEMO_ENTERPRISE)


class FakeClient:
    """GitHubClient's ``get`` answered by ``billing_route``, recording every URL it was asked for."""

    def __init__(
        self, world: FakeBillingWorld, *, fail_on: str = "", link: Callable[[str], str] | None = None
    ):
        self.api_url = API
        self.world = world
        self.urls: list[str] = []
        self.fail_on = fail_on
        self.link = link

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], Any]) -> tuple[Any, str]:
        self.urls.append(url)
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == API
        assert "{" in endpoint  # a label template, not the concrete path
        answer = billing_route(self.world, parts.path, dict(parse_qsl(parts.query)))
        assert answer is not None
        status, body, link = answer
        if self.fail_on and self.fail_on in url:
            raise NotFoundError("injected", status=404, url=url)
        if status == 404:
            raise NotFoundError(body["message"], status=status, url=url)
        if status == 403:
            raise PermissionDeniedError(body["message"], status=status, url=url)
        assert status == 200
        return parse(body), self.link(link) if self.link else link


def _fetch(target: Target, world: FakeBillingWorld | None = None, **kwargs: Any) -> BillingSnapshot:
    client = FakeClient(world or demo_billing(NOW), **kwargs)
    return asyncio.run(fetch_billing(client, target, now=NOW))


class _Families(Collector):
    def __init__(self, snapshots: list[BillingSnapshot]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Any:
        return billing_families(self.snapshots)


def _registry(*snapshots: BillingSnapshot) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(list(snapshots)))
    return registry


def _route(world: FakeBillingWorld, path: str, **params: str) -> Any:
    answer = billing_route(world, path, params)
    assert answer is not None
    return answer[1]


def test_ai_credit_spend_by_model_equals_the_reports_figures() -> None:
    world = demo_billing(NOW)
    registry = _registry(_fetch(ORG, world))
    month = _route(
        world, f"/organizations/{DEMO_ORG}/settings/billing/ai_credit/usage", year="2026", month="7"
    )
    day = _route(world, f"/organizations/{DEMO_ORG}/settings/billing/ai_credit/usage", day="17")
    for period, body in (("month", month), ("day", day)):
        for item in body["usageItems"]:
            labels = {"enterprise": "", "org": DEMO_ORG, "cost_center": "", "cost_center_id": "",
                      "period": period, "product": "Copilot", "sku": "Copilot AI Credits",
                      "model": item["model"], "unit_type": "credits"}  # fmt: skip
            net = registry.get_sample_value("github_copilot_billing_net_amount_usd", labels)
            assert net == pytest.approx(item["netAmount"])
            quantity = registry.get_sample_value("github_copilot_billing_quantity", labels)
            assert quantity == pytest.approx(item["grossQuantity"])


def test_only_copilot_is_exported_and_ai_credits_are_not_counted_twice() -> None:
    world = demo_billing(NOW)
    text = generate_latest(_registry(_fetch(ORG, world))).decode()
    assert "actions" not in text.lower()
    assert not any('model=""' in line and "AI Credits" in line for line in text.splitlines())
    rows = world.accounts[("org", DEMO_ORG)].rows
    expected = sum(r.gross_amount for r in rows if r.product == "Copilot" and r.day.month == 7)
    exported = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("github_copilot_billing_gross_amount_usd{") and 'period="month"' in line
    )
    assert exported == pytest.approx(expected)


def test_pools_and_budgets_of_the_enterprise() -> None:
    world = demo_billing(NOW)
    registry = _registry(_fetch(ENTERPRISE, world))
    account = world.accounts[("enterprise", DEMO_ENTERPRISE)]
    centers = _route(world, f"/enterprises/{DEMO_ENTERPRISE}/settings/billing/cost-centers")["costCenters"]
    pools = {(c["id"], c["name"]): c["ai_credit_pool_state"] for c in centers if c["ai_credit_pool_enabled"]}
    target = {"enterprise": DEMO_ENTERPRISE, "org": ""}
    for (center_id, name), pool in pools.items():
        labels = {**target, "cost_center": name, "cost_center_id": center_id}
        assert (
            registry.get_sample_value("github_copilot_ai_credits_included", labels) == pool["target_amount"]
        )
        assert registry.get_sample_value("github_copilot_ai_credits_used", labels) == pool["current_amount"]
    # Seat SKUs of the summary give the seats when the seats source does not: 140 Enterprise seats.
    own = {**target, "cost_center": "", "cost_center_id": ""}
    shared = registry.get_sample_value("github_copilot_ai_credits_included", own)
    assert shared == 140 * 3900 - sum(p["target_amount"] for p in pools.values())
    used = sum(r.quantity for r in account.rows if r.sku == "Copilot AI Credits" and r.day.month == 7)
    total_used = sum(
        registry.get_sample_value(
            "github_copilot_ai_credits_used", {**target, "cost_center": n, "cost_center_id": i}
        )
        or 0.0
        for i, n in [("", ""), *pools]
    )
    assert total_used == pytest.approx(used)
    budget = {
        **target,
        "budget_id": "b-cc-data",
        "scope": "cost_center",
        "entity": "data",
        "sku": "ai_credits",
    }
    assert registry.get_sample_value("github_copilot_budget_amount_usd", budget) == 500
    assert registry.get_sample_value("github_copilot_budget_consumed_usd", budget) is None
    info = {**budget, "prevent_further_usage": "false", "alerting": "false"}
    assert registry.get_sample_value("github_copilot_budget_info", info) == 1


def test_a_budget_near_its_limit_and_one_derived_from_spend() -> None:
    world = demo_billing(NOW)
    registry = _registry(_fetch(ORG, world))
    base = {"enterprise": "", "org": DEMO_ORG}
    user = {
        **base,
        "budget_id": "b-user-001",
        "scope": "user",
        "entity": "demo-user-001",
        "sku": "ai_credits",
    }
    assert registry.get_sample_value("github_copilot_budget_consumed_usd", user) == 22.6
    org = {
        **base,
        "budget_id": "b-org-copilot",
        "scope": "organization",
        "entity": DEMO_ORG,
        "sku": "copilot",
    }
    consumed = registry.get_sample_value("github_copilot_budget_consumed_usd", org)
    amount = registry.get_sample_value("github_copilot_budget_amount_usd", org)
    assert consumed is not None
    assert amount is not None
    assert 0.85 < consumed / amount < 0.95
    rows = world.accounts[("org", DEMO_ORG)].rows
    assert consumed == pytest.approx(
        sum(r.gross_amount - r.discount_amount for r in rows if r.product == "Copilot" and r.day.month == 7)
    )
    actions = {
        **base,
        "budget_id": "b-org-actions",
        "scope": "organization",
        "entity": DEMO_ORG,
        "sku": "actions",
    }
    assert registry.get_sample_value("github_copilot_budget_amount_usd", actions) is None


def test_period_starts_are_the_month_and_yesterday() -> None:
    registry = _registry(_fetch(ORG))
    start = "github_copilot_billing_period_start_timestamp_seconds"
    month = registry.get_sample_value(start, {"enterprise": "", "org": DEMO_ORG, "period": "month"})
    day = registry.get_sample_value(start, {"enterprise": "", "org": DEMO_ORG, "period": "day"})
    assert month == datetime(2026, 7, 1, tzinfo=UTC).timestamp()
    assert day == datetime(2026, 7, 17, tzinfo=UTC).timestamp()


def test_every_family_is_present_without_snapshots_and_names_follow_conventions() -> None:
    families = list(billing_families([]))
    assert len(families) == 10
    for family in families:
        assert family.type == "gauge"
        assert family.name.startswith("github_copilot_")
        assert not family.name.endswith("_total")
        assert re.search(r"(USD|dollars|credits|Unix time|always 1|units|Units)", family.documentation)
    text = generate_latest(_registry(_fetch(ORG), _fetch(ENTERPRISE)))
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fetch_follows_every_budget_page_and_asks_for_yesterday() -> None:
    world = demo_billing(NOW)
    client = FakeClient(world)
    snapshot = asyncio.run(fetch_billing(client, ORG, now=NOW))
    assert {b.budget.id for b in snapshot.budgets} == {"b-org-copilot", "b-org-everyone", "b-user-001"}
    assert any("day=17" in url and "month=7" in url for url in client.urls)
    enterprise = FakeClient(world)
    asyncio.run(fetch_billing(enterprise, ENTERPRISE, now=NOW))
    assert sum("cost_center_id=" in url for url in enterprise.urls) == 4  # three centers and "none"


@pytest.mark.parametrize("links", [True, False], ids=["link-headers", "has_next_page-only"])
def test_fetch_follows_every_budget_page(links: bool) -> None:
    client = FakeClient(demo_billing(NOW), link=None if links else lambda _: "")
    original = client.get

    # One budget a page, so the four budgets span four pages: linked by rel="next", or by the bodies'
    # has_next_page alone when there is no Link header.
    async def small_pages(url: str, endpoint: str, parse: Callable[[Any], Any]) -> tuple[Any, str]:
        return await original(url.replace("per_page=100", "per_page=1"), endpoint, parse)

    client.get = small_pages  # type: ignore[method-assign]
    snapshot = asyncio.run(fetch_billing(client, ORG, now=NOW))
    assert sum("/budgets" in url for url in client.urls) == 4
    assert len(snapshot.budgets) == 3  # the Actions budget is not Copilot's


@pytest.mark.parametrize(
    "link",
    [
        '<https://evil.example/organizations/octodemo/settings/billing/budgets?page=2>; rel="next"',
        '<http://api.github.com/organizations/octodemo/settings/billing/budgets?page=2>; rel="next"',
        '<https://api.github.com/organizations/other/settings/billing/budgets?page=2>; rel="next"',
    ],
)
def test_a_next_link_off_the_first_urls_origin_or_path_fails_the_poll(link: str) -> None:
    with pytest.raises(MalformedResponseError, match="leaves"):
        _fetch(ORG, link=lambda _: link)


def test_a_next_link_that_never_ends_fails_after_the_page_cap() -> None:
    numbers = itertools.count(2)
    budgets = f"{API}/organizations/{DEMO_ORG}/settings/billing/budgets"
    client = FakeClient(demo_billing(NOW), link=lambda _: f'<{budgets}?page={next(numbers)}>; rel="next"')
    with pytest.raises(MalformedResponseError, match="pages"):
        asyncio.run(fetch_billing(client, ORG, now=NOW))
    assert sum("/budgets" in url for url in client.urls) == MAX_BUDGET_PAGES


def test_a_next_link_back_to_a_page_already_read_fails_at_once() -> None:
    loop = f'<{API}/organizations/{DEMO_ORG}/settings/billing/budgets?page=2&per_page=100>; rel="next"'
    client = FakeClient(demo_billing(NOW), link=lambda _: loop)
    with pytest.raises(MalformedResponseError, match="does not end"):
        asyncio.run(fetch_billing(client, ORG, now=NOW))
    assert sum("/budgets" in url for url in client.urls) == 2


@pytest.mark.parametrize("failing", ["cost-centers", "cost_center_id=none", "cc-data", "day=17", "/budgets"])
def test_any_failed_request_fails_the_whole_enterprise_poll(failing: str) -> None:
    with pytest.raises(GitHubError):
        _fetch(ENTERPRISE, fail_on=failing)


def test_an_org_billed_through_its_enterprise_and_a_forbidden_org_fail() -> None:
    with pytest.raises(NotFoundError):
        _fetch(Target("org", "octodemo-web"))
    world = demo_billing(NOW)
    world.accounts[("org", DEMO_ORG)].billing_forbidden = True
    with pytest.raises(PermissionDeniedError):
        _fetch(ORG, world)


@pytest.mark.parametrize("target", [ORG, ENTERPRISE])
def test_the_real_spellings_give_the_same_figures_as_the_schemas(target: Target) -> None:
    schema, real = demo_billing(NOW), demo_billing(NOW)
    real.form = "real"
    before, after = _fetch(target, schema), _fetch(target, real)
    for period in ("month", "day"):
        for figure in ("net_amount_usd", "gross_amount_usd", "gross_quantity"):
            sums = [sum(getattr(i, figure) for i in s.items if i.period == period) for s in (before, after)]
            assert sums[0] == pytest.approx(sums[1])
    pools = [[x for p in s.pools for x in (p.included_credits, p.used_credits)] for s in (before, after)]
    assert pools[0] == pytest.approx(pools[1])
    assert [(b.budget.id, b.consumed_usd) for b in before.budgets] == [
        (b.budget.id, b.consumed_usd) for b in after.budgets
    ]
    assert {i.sku for i in after.items} >= {
        "copilot_for_business" if target is ORG else "copilot_for_enterprise"
    }
