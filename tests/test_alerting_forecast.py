"""The AI-credit pool forecast alert in the live chain, on a clock the test sets: the exporter polling the
fake GitHub's billing, a real Prometheus evaluating the project's rules, a real Alertmanager routing what
fires.

Prometheus evaluates its rules on the real clock and has no setting to move it, while the forecast depends
on the day of the month. So the chain runs at a fixed moment of tests/clock.py: the fake world and the
exporter (in-process, served over HTTP) stand at that moment, and Prometheus reads the project's rules with
every ``time()`` moved by the same offset, the only change besides the shortened ``for``. What fires then
depends on the moment the test chose, never on the day it runs.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from exporter.demo.fake_billing import FakeBillingWorld, FakeBudget, fake_account
from exporter.demo.fake_billing_usage import AI_CREDITS_SKU, CREDITS_PER_SEAT, month_rows
from tests.clock import MOMENTS
from tests.fakegithub.fake_github import FakeGitHub, FakeOrg
from tests.inprocess import ManualClock, make_config, make_exporter
from tests.support import (
    TOKEN,
    Process,
    ServedApp,
    serve_fake,
    wait_until,
)
from tests.test_alerting import (
    FINOPS_RECEIVER,
    RUNBOOK_BASE,
    live_rules,
    prometheus_and_alertmanager,
)

Json = dict[str, Any]
ALERT = "CopilotAICreditPoolRunningOut"
SEATS = 4
#: Roughly how many days each organization's pool lasts at its rate, from the end of the test's day:
#: ``acme`` and ``globex`` use theirs up within the alert's 5 days, ``initech`` only after them (but
#: before the month ends, at mid-month), ``umbrella`` uses no credits at all.
DAYS_LEFT = {"acme": 2.0, "globex": 3.0, "initech": 9.0, "umbrella": None}
#: Calendar functions that read the evaluation time when given no argument.
_CALENDAR_NOW = re.compile(
    r"\b(day_of_month|day_of_week|day_of_year|days_in_month|hour|minute|month|year)\(\)"
)


def forecast_billing(now: float) -> FakeBillingWorld:
    """The organizations of ``DAYS_LEFT``; ``acme`` has an organization budget on AI credits that blocks
    use, ``globex`` only one on a single user (which blocks that user, not the pool)."""
    world = FakeBillingWorld(now=now)
    today = world.today
    # The fake's users code a third as much at weekends: the rate a seat needs on a weekday.
    weekdays = sum(
        1.0 if day.weekday() < 5 else 0.3 for day in (today.replace(day=d) for d in range(1, today.day + 1))
    )
    for name, left in DAYS_LEFT.items():
        rate = (
            0.0 if left is None else CREDITS_PER_SEAT["business"] / (weekdays + left * weekdays / today.day)
        )
        world.add(fake_account("org", name, now=now, seed=7, seats=SEATS, credits_per_seat_day=rate))
    world.accounts[("org", "acme")].budgets = [
        FakeBudget(
            "b-acme-ai", "organization", "ai_credits", 50, entity_name="acme", prevent_further_usage=True
        )
    ]
    world.accounts[("org", "globex")].budgets = [
        FakeBudget("b-globex-ian", "user", "ai_credits", 20, user="ian", consumed_amount=1.0,
                   prevent_further_usage=True)
    ]  # fmt: skip
    return world


def days_left(world: FakeBillingWorld, org: str) -> float:
    """The alert's value worked out from the rows the fake serves: the included credits left, at the
    month's credits used per day billed (today included)."""
    today = world.today
    rows = month_rows(world.accounts[("org", org)].rows, today.year, today.month, today=today)
    used = sum(r.quantity for r in rows if r.sku == AI_CREDITS_SKU)
    included = SEATS * CREDITS_PER_SEAT["business"]
    return (included - used) / (used / today.day)


def clocked_rules(workdir: Path, offset: float) -> Path:
    """The live rules (test_alerting.live_rules) evaluated ``offset`` seconds from Prometheus's clock."""
    path = live_rules(workdir)
    document = yaml.safe_load(path.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            expr = _CALENDAR_NOW.sub(r"\1(vector(time()))", rule["expr"])
            rule["expr"] = expr.replace("time()", f"(time() + {offset:.3f})")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class ForecastStack:
    world: FakeBillingWorld
    prometheus_url: str
    alertmanager_url: str
    processes: list[Process]

    def wait(self, check: Callable[[], bool], what: str) -> None:
        try:
            wait_until(check, 60, interval=0.5, what=what)
        except TimeoutError as exc:
            raise AssertionError("\n".join([str(exc), *(p.log() for p in self.processes)])) from None

    def received(self) -> dict[str, Json]:
        """The forecast alerts Alertmanager holds, by organization."""
        response = httpx.get(f"{self.alertmanager_url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
        return {a["labels"]["org"]: a for a in response.json() if a["labels"]["alertname"] == ALERT}

    def query(self, expr: str) -> dict[str, float]:
        """An instant query's values by organization."""
        response = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        response.raise_for_status()
        return {s["metric"].get("org", ""): float(s["value"][1]) for s in response.json()["data"]["result"]}

    def rule(self) -> Json:
        """The alert rule as Prometheus's rule manager last evaluated it."""
        response = httpx.get(f"{self.prometheus_url}/api/v1/rules", params={"type": "alert"}, timeout=10)
        response.raise_for_status()
        groups = response.json()["data"]["groups"]
        (rule,) = [r for g in groups for r in g["rules"] if r["name"] == ALERT]
        found: Json = rule
        return found


def serve_exporter(api_url: str, clock: ManualClock) -> ServedApp:
    """The exporter's own wiring for the organizations of ``DAYS_LEFT``, polled once at ``clock``."""
    exporter = make_exporter(api_url, make_config({"org": list(DAYS_LEFT)}), clock=clock)

    async def poll() -> None:
        try:
            await exporter.poller.poll_once()
        finally:
            await exporter.client.aclose()

    asyncio.run(poll())
    return ServedApp(exporter.asgi)


@pytest.fixture
def forecast_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ForecastStack]:
    moment: datetime = MOMENTS[request.param]
    clock = ManualClock(moment.timestamp())
    world = forecast_billing(clock.now)
    orgs = [FakeOrg(login=name, id=i, seats=[]) for i, name in enumerate(DAYS_LEFT, start=1)]
    with serve_fake(FakeGitHub(orgs, [], token=TOKEN, billing=world, clock=clock)) as fake:
        served = serve_exporter(fake.url, clock)
        # The real clock only moves Prometheus to the test's moment; no data is drawn from it.
        rules = clocked_rules(tmp_path, moment.timestamp() - time.time())
        with (
            served.running(),
            prometheus_and_alertmanager(tmp_path, rules, served.port) as (prometheus_url, am_url, processes),
        ):
            yield ForecastStack(world, prometheus_url, am_url, processes)


def evaluated_at(rule: Json) -> float:
    """Prometheus's lastEvaluation (RFC 3339, nanoseconds) as a Unix time."""
    text = re.sub(r"(\.\d{6})\d*", r"\1", rule["lastEvaluation"]).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def description(org: str, used: float, left: float, then: str) -> str:
    return (
        f"Organization {org} has used {used:.0f} of its {SEATS * CREDITS_PER_SEAT['business']} included AI "
        f"credits this month; at this month's rate the rest runs out in {left:.1f} days, before the month "
        f"ends. {then}"
    )


@pytest.mark.e2e
@pytest.mark.parametrize("forecast_stack", ["mid-month"], indirect=True)
def test_pool_running_out_reaches_finops_saying_what_follows(forecast_stack: ForecastStack) -> None:
    stack = forecast_stack
    left = {org: days_left(stack.world, org) for org in DAYS_LEFT if DAYS_LEFT[org] is not None}
    # The world is what the test says: two pools run out within the 5 days, one later in the month.
    assert 0 < left["acme"] <= 5, left
    assert 0 < left["globex"] <= 5, left
    assert 5 < left["initech"] < 31 - 15, left

    stack.wait(lambda: {"acme", "globex"} <= set(stack.received()), f"{ALERT} for acme and globex")
    # initech and umbrella are evaluated by the same rule in the same evaluation: had either matched, it
    # would have arrived with the others.
    found = stack.received()
    assert set(found) == {"acme", "globex"}
    used = stack.query('github_copilot_ai_credits_used{cost_center_id=""}')
    for org, alert in found.items():
        assert alert["labels"] | {"instance": ""} == {
            "alertname": ALERT,
            "severity": "warning",
            "job": "github-copilot-exporter",
            "instance": "",
            "org": org,
        }, alert["labels"]
        assert alert["status"]["state"] == "active"
        assert [r["name"] for r in alert["receivers"]] == [FINOPS_RECEIVER]
        assert alert["annotations"]["summary"] == (
            "A Copilot AI-credit pool will be used up within days at this month's rate."
        )
        assert alert["annotations"]["runbook_url"] == RUNBOOK_BASE + ALERT.lower()
    # What follows the pool: a budget that blocks the organization's AI credits caps the overage ...
    assert found["acme"]["annotations"]["description"] == description(
        "acme",
        used["acme"],
        left["acme"],
        "Then use is billed per credit (US$0.01) until it reaches the limit of budget b-acme-ai "
        "(organization, 50.00 USD), which blocks its users until the next month.",
    )
    # ... a budget on one user does not: every further credit is paid overage.
    assert found["globex"]["annotations"]["description"] == description(
        "globex",
        used["globex"],
        left["globex"],
        "Then every further credit is billed (US$0.01 each): no budget on AI credits blocks the paid "
        "overage.",
    )
    assert {a["labels"]["org"] for a in stack.rule()["alerts"]} == {"acme", "globex"}
    # The dashboard's recording rules agree with the alert on the same data.
    recorded = stack.query("pool:github_copilot_ai_credits_included:days_left")
    assert recorded == pytest.approx({org: left[org] for org in ("acme", "globex", "initech")})


@pytest.mark.e2e
@pytest.mark.parametrize("forecast_stack", ["month-start"], indirect=True)
def test_pool_running_out_waits_for_the_second_day_billed(forecast_stack: ForecastStack) -> None:
    stack = forecast_stack
    left = {org: days_left(stack.world, org) for org in DAYS_LEFT if DAYS_LEFT[org] is not None}
    # On the 1st the rate alone says acme's and globex's pools run out within 5 days ...
    assert left["acme"] <= 5, left
    assert left["globex"] <= 5, left

    stack.wait(
        lambda: set(stack.query("pool:github_copilot_ai_credits_included:days_left")) == set(left),
        "the pool forecast on the exporter's data",
    )
    # The real clock orders Prometheus's evaluations only: the alert rule's next one reads the same data.
    data_seen = time.time()
    stack.wait(lambda: evaluated_at(stack.rule()) > data_seen, f"an evaluation of {ALERT}")
    # A match would be pending at once (for: is seconds here): nothing is.
    rule = stack.rule()
    assert rule["alerts"] == [], rule
    assert rule["state"] == "inactive", rule
    assert stack.received() == {}
