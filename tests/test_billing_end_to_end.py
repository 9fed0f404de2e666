"""The billing source end to end: the exporter polling the fake GitHub's billing endpoints over HTTP.

Expected figures are computed here from the fake's daily usage rows, independently of the exporter's
parsing and merging; failures of billing are checked to leave the seat metrics alone. The figures
that depend on the date (the month to date, yesterday, the pools sized from the days billed) are
checked at each moment of tests/clock.py, with the fake drawn and the exporter's clock standing there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exporter.demo.fake_billing import (
    FakeBillingAccount,
    FakeBillingWorld,
    FakeBudget,
    FakeCostCenter,
    fake_account,
    pool_state,
)
from exporter.demo.fake_billing_usage import AI_CREDITS_SKU, FakeUsageRow
from exporter.web.server import Exporter
from tests.clock import MOMENTS
from tests.fakegithub.fake_github import FakeGitHub
from tests.inprocess import ManualClock, make_config, metrics, run_scenario
from tests.support import (
    NOW,
    TOKEN,
    Labels,
    ServedFake,
    parse_exposition,
    serve_fake,
    standard_dataset,
    start_exporter,
    total,
    value,
    wait_until,
)

Parsed = dict[str, dict[Labels, float]]


def billing_world(now: float) -> FakeBillingWorld:
    """``acme`` billed on its own with two budgets; ``acme-corp`` with two cost centers (one pooled);
    ``acme-web`` billed through its enterprise (404); ``locked`` refused to the token (403); usage up
    to ``now``'s day, from the 1st of the month before."""
    world = FakeBillingWorld(now=now)
    org = world.add(fake_account("org", "acme", now=now, seed=7, seats=40, credits_per_seat_day=120))
    org.budgets = [
        FakeBudget("b-acme", "organization", "copilot", 5000, entity_name="acme", alert_recipients=["a"]),
        FakeBudget("b-ann", "user", "ai_credits", 30, user="ann", consumed_amount=12.5),
        FakeBudget("b-actions", "organization", "actions", 100, entity_name="acme"),
    ]
    centers = [
        (FakeCostCenter("cc-1", "web", ["u1", "u2"], pool_enabled=True), 10),
        (FakeCostCenter("cc-2", "data", ["u3"]), 5),
    ]
    world.add(
        fake_account(
            "enterprise", "acme-corp", now=now, seed=7, seats=30, plan="enterprise", cost_centers=centers
        )
    )
    world.add(FakeBillingAccount("org", "acme-web", billed_through_enterprise=True))
    world.add(FakeBillingAccount("org", "locked", billing_forbidden=True))
    return world


def copilot_rows(account: FakeBillingAccount, today: date, *, day: bool = False) -> list[FakeUsageRow]:
    """The Copilot rows of ``today``'s month to date, or of the day before ``today``."""
    yesterday = today - timedelta(days=1)
    return [
        r
        for r in account.rows
        if r.product == "Copilot"
        and (r.day == yesterday if day else (r.day.year, r.day.month) == (today.year, today.month))
        and r.day <= today
    ]


@pytest.fixture
def billing_fake(request: pytest.FixtureRequest) -> Iterator[ServedFake]:
    """The fake drawn now, or for a test that takes ``moment`` at that moment."""
    now = (
        request.getfixturevalue("moment").timestamp() if "moment" in request.fixturenames else NOW.timestamp()
    )
    dataset = standard_dataset(org_seats=30)
    app = FakeGitHub([dataset.org], [dataset.enterprise], token=TOKEN, billing=billing_world(now))
    with serve_fake(app) as served:
        yield served


def account(fake: ServedFake, kind: str, name: str) -> FakeBillingAccount:
    world = fake.app.billing
    assert world is not None
    return world.accounts[(kind, name)]


def poll_at(fake: ServedFake, moment: datetime, **flags: Any) -> Parsed:
    """One poll of every source by the exporter's wiring with its clock at ``moment``, and a scrape."""
    found: list[Parsed] = []

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        found.append(await metrics(exporter))

    run_scenario(
        fake.url, make_config({"api_url": fake.url, **flags}), scenario, clock=ManualClock(moment.timestamp())
    )
    return found[0]


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def test_spend_pools_and_budgets_match_the_usage_rows(billing_fake: ServedFake, moment: datetime) -> None:
    """At every moment: the month to date is that month's rows up to today (the 1st alone on the 1st),
    "day" is the day before (in the month or year before, on a 1st), and the pools are exact, the seats
    being billed for every whole day up to today (29 days of February in a leap year)."""
    today = moment.date()
    parsed = poll_at(billing_fake, moment, org=["acme"], enterprise=["acme-corp"])
    org, ent = account(billing_fake, "org", "acme"), account(billing_fake, "enterprise", "acme-corp")
    for acct, labels in ((org, {"org": "acme"}), (ent, {"enterprise": "acme-corp"})):
        assert value(parsed, "github_copilot_up", source="billing", **labels) == 1
        start = "github_copilot_billing_period_start_timestamp_seconds"
        assert value(parsed, start, period="month", **labels) == _midnight(today.replace(day=1))
        assert value(parsed, start, period="day", **labels) == _midnight(today - timedelta(days=1))
        month = copilot_rows(acct, today)
        assert {r.day for r in month} == {today.replace(day=d) for d in range(1, today.day + 1)}
        net = sum(r.gross_amount - r.discount_amount for r in month)
        got = total(parsed, "github_copilot_billing_net_amount_usd", period="month", **labels)
        assert got == pytest.approx(net)
        gross = sum(r.gross_amount for r in month)
        got = total(parsed, "github_copilot_billing_gross_amount_usd", period="month", **labels)
        assert got == pytest.approx(gross)
        # Yesterday's AI credits by model: the day's rows, nothing else.
        yesterday = copilot_rows(acct, today, day=True)
        assert yesterday
        for model in {r.model for r in yesterday if r.sku == AI_CREDITS_SKU}:
            credits = sum(r.quantity for r in yesterday if r.model == model)
            got = total(parsed, "github_copilot_billing_quantity", period="day", model=model, **labels)
            assert got == pytest.approx(credits)
        # Every credit used this month is in exactly one pool.
        used = sum(r.quantity for r in month if r.sku == AI_CREDITS_SKU)
        assert total(parsed, "github_copilot_ai_credits_used", **labels) == pytest.approx(used)
    # Actions minutes are not Copilot.
    assert total(parsed, "github_copilot_billing_net_amount_usd", sku="actions_linux") == 0
    # Cost-center summaries sum to the enterprise: seat SKUs per cost center, none lost.
    seat_rows = [r for r in copilot_rows(ent, today) if r.sku == "Copilot Enterprise"]
    for center_id, name in (("cc-1", "web"), ("cc-2", "data"), ("", "")):
        expected = sum(r.gross_amount for r in seat_rows if r.cost_center_id == center_id)
        got = total(
            parsed, "github_copilot_billing_gross_amount_usd", enterprise="acme-corp", cost_center=name
        )
        ai = total(
            parsed,
            "github_copilot_billing_gross_amount_usd",
            enterprise="acme-corp",
            cost_center=name,
            sku=AI_CREDITS_SKU,
        )
        assert got - ai == pytest.approx(expected)
    # The pooled cost center as GitHub sizes it; the shared pool is the rest of 30 seats x 3,900.
    world = billing_fake.app.billing
    assert world is not None
    web = pool_state(world, ent, ent.cost_centers[0])
    assert value(parsed, "github_copilot_ai_credits_included", cost_center="web") == web["target_amount"]
    assert value(parsed, "github_copilot_ai_credits_used", cost_center="web") == web["current_amount"]
    shared = value(parsed, "github_copilot_ai_credits_included", enterprise="acme-corp", cost_center="")
    assert shared == 30 * 3900 - web["target_amount"]
    assert value(parsed, "github_copilot_ai_credits_included", org="acme", cost_center="") == 40 * 1900
    # Budgets: the organization's own is its month's net Copilot spend; the user's is GitHub's figure;
    # the Actions budget is not Copilot's.
    org_net = sum(r.gross_amount - r.discount_amount for r in copilot_rows(org, today))
    assert value(parsed, "github_copilot_budget_consumed_usd", budget_id="b-acme") == pytest.approx(org_net)
    assert value(parsed, "github_copilot_budget_consumed_usd", budget_id="b-ann") == 12.5
    assert value(parsed, "github_copilot_budget_amount_usd", budget_id="b-actions") is None
    info = {k: v for k, v in parsed["github_copilot_budget_info"].items() if ("budget_id", "b-ann") in k}
    (ann_labels,) = info
    assert ("prevent_further_usage", "false") in ann_labels
    assert ("alerting", "false") in ann_labels
    # The seat metrics beside them, as without billing.
    assert total(parsed, "github_copilot_seats", org="acme") == 30


@pytest.mark.parametrize("moment", [MOMENTS["month-start"]], ids=["month-start"])
def test_on_the_1st_before_a_day_is_billed_the_month_is_empty_not_failed(
    billing_fake: ServedFake, moment: datetime
) -> None:
    """In the first hours of a month GitHub has billed nothing of it yet: the month's figures are 0, no
    pool is used beyond what it includes, the budgets consumed nothing, and the poll is a success;
    yesterday is the last day of the month before."""
    world = billing_fake.app.billing
    assert world is not None
    today = moment.date()
    for acct in world.accounts.values():
        acct.rows = [r for r in acct.rows if r.day < today]
    parsed = poll_at(billing_fake, moment, org=["acme"], enterprise=["acme-corp"])
    ent = account(billing_fake, "enterprise", "acme-corp")
    for acct, labels in (
        (account(billing_fake, "org", "acme"), {"org": "acme"}),
        (ent, {"enterprise": "acme-corp"}),
    ):
        assert value(parsed, "github_copilot_up", source="billing", **labels) == 1
        assert total(parsed, "github_copilot_billing_gross_amount_usd", period="month", **labels) == 0
        assert total(parsed, "github_copilot_ai_credits_used", **labels) == 0
        last_day = copilot_rows(acct, today, day=True)
        assert {r.day for r in last_day} == {today - timedelta(days=1)}
        got = total(parsed, "github_copilot_billing_quantity", period="day", sku=AI_CREDITS_SKU, **labels)
        assert got == pytest.approx(sum(r.quantity for r in last_day if r.sku == AI_CREDITS_SKU))
    pools = parsed["github_copilot_ai_credits_included"]
    for pool, included in pools.items():
        assert parsed["github_copilot_ai_credits_used"][pool] <= included, pool
    assert value(parsed, "github_copilot_budget_consumed_usd", budget_id="b-acme") == 0
    # A pooled cost center keeps its allowance: GitHub sizes it from its seats, not from billed days.
    web = pool_state(world, ent, ent.cost_centers[0])
    assert value(parsed, "github_copilot_ai_credits_included", cost_center="web") == web["target_amount"] > 0


def run(fake: ServedFake, scenario: Any, file_data: dict[str, Any] | None = None, **flags: Any) -> None:
    config = make_config({"api_url": fake.url, **flags}, file_data)
    run_scenario(fake.url, config, scenario)


def test_billing_refused_fails_alone_with_the_access_to_grant(
    billing_fake: ServedFake, caplog: pytest.LogCaptureFixture
) -> None:
    # "locked" has seats (an alias of the dataset's org) but its token may not read billing.
    app = billing_fake.app
    app.orgs["locked"] = app.orgs["acme"]

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="locked") == 1
        assert total(parsed, "github_copilot_seats", org="locked") == 30
        assert value(parsed, "github_copilot_up", source="billing", org="locked") == 0
        failures = value(
            parsed, "github_copilot_poll_failures_total", source="billing", org="locked", reason="forbidden"
        )
        assert failures == 1
        assert value(parsed, "github_copilot_poll_error_info", org="locked", reason="forbidden") == 1
        assert exporter.state.ready

    with caplog.at_level(logging.INFO, logger="exporter.poller"):
        run(billing_fake, scenario, org=["locked"])
    (line,) = [r for r in caplog.records if getattr(r, "source", "") == "billing"]
    assert line.levelno == logging.ERROR
    assert "billing manager" in line.error  # type: ignore[attr-defined]


def test_an_org_billed_through_its_enterprise_is_not_applicable_and_quiet(
    billing_fake: ServedFake, caplog: pytest.LogCaptureFixture
) -> None:
    app = billing_fake.app
    app.orgs["acme-web"] = app.orgs["acme"]

    async def scenario(exporter: Exporter) -> None:
        for _ in range(2):
            await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme-web") == 1
        assert value(parsed, "github_copilot_up", source="billing", org="acme-web") == 0
        assert value(parsed, "github_copilot_poll_error_info", org="acme-web", reason="not_applicable") == 1
        assert total(parsed, "github_copilot_billing_net_amount_usd", org="acme-web") == 0
        assert exporter.state.ready

    with caplog.at_level(logging.DEBUG, logger="exporter.poller"):
        run(billing_fake, scenario, org=["acme-web"])
    lines = [r for r in caplog.records if getattr(r, "source", "") == "billing" and r.levelno >= logging.INFO]
    assert [r.levelno for r in lines] == [logging.INFO]
    assert "billed through its enterprise" in lines[0].error  # type: ignore[attr-defined]


def test_with_billing_enabled_true_a_404_is_an_error(billing_fake: ServedFake) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        reason = "not_found"
        assert value(parsed, "github_copilot_poll_error_info", source="billing", reason=reason) == 1

    run(billing_fake, scenario, {"billing": {"enabled": True}}, org=["acme-web"])


def test_billing_disabled_asks_github_nothing_about_billing(billing_fake: ServedFake) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="billing", org="acme") is None
        assert "github_copilot_billing_net_amount_usd" not in parsed

    run(billing_fake, scenario, {"billing": {"enabled": "false"}}, org=["acme"])
    assert billing_fake.requests_to("/settings/billing") == []


def test_a_billing_token_file_is_sent_to_billing_only(billing_fake: ServedFake, tmp_path: Path) -> None:
    token_file = tmp_path / "billing-token"
    token_file.write_text("ghp_billingTOKENabcdefghijklmnopqrstuvwxyz0\n")

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        # The fake knows only the main token: billing is refused, seats are read.
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        reason = "unauthorized"
        assert value(parsed, "github_copilot_poll_error_info", source="billing", org="acme", reason=reason)

    run(billing_fake, scenario, {"billing": {"token_file": str(token_file)}}, org=["acme"])
    sent = {
        r.headers.get("authorization") for r in billing_fake.app.requests if "/settings/billing" in r.path
    }
    assert sent == {"Bearer ghp_billingTOKENabcdefghijklmnopqrstuvwxyz0"}
    seats = {r.headers.get("authorization") for r in billing_fake.app.requests if "/copilot/" in r.path}
    assert seats == {f"Bearer {TOKEN}"}


@pytest.mark.e2e
def test_demo_mode_serves_a_budget_near_its_limit() -> None:
    with start_exporter(["--demo"]) as exporter:
        wait_until(lambda: "github_copilot_budget_consumed_usd" in exporter.metrics(), what="billing")
        parsed = parse_exposition(exporter.metrics())
    consumed = value(parsed, "github_copilot_budget_consumed_usd", budget_id="b-org-copilot")
    amount = value(parsed, "github_copilot_budget_amount_usd", budget_id="b-org-copilot")
    assert consumed is not None
    assert amount is not None
    assert 0.8 <= consumed / amount < 1
    assert {
        k for labels in parsed["github_copilot_billing_net_amount_usd"] for k in labels if k[0] == "model"
    }
