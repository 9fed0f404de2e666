"""The billing part of the fake GitHub: a world of accounts with daily Copilot usage, and a pure router.

The world keeps usage as one row per day, cost center, SKU and model; every report is summed from these
rows, so a month's figures are always the sum of its days. Included AI credits show as GitHub shows
them: as discounts, applied day by day until the month's allowance is spent.

Where GitHub's schemas and its real answers disagree the world answers in either form, chosen per
world (``form``): "schema" follows the billing OpenAPI description (``budget_product_sku``, AI credits
as "Copilot AI Credits" in ``credits``, seats as "Copilot Business"); "real" answers as GitHub's
documented examples and live captures do (``budget_product_skus`` arrays, ``copilot_ai_unit`` in
``ai-units`` in the usage summary, ``ai-credits`` in the AI-credit report, ``copilot_for_business``
seats). An account may also serve recorded bodies as they are (``recorded``, by endpoint).
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from exporter.demo.fake_billing_usage import (
    AI_CREDITS_SKU,
    CREDITS_PER_SEAT,
    FakeUsageRow,
    ai_credit_body,
    generate_usage,
    month_rows,
    real_form_item,
    summary_body,
)

DOCS = "https://docs.github.com/rest/billing"
_PATH = re.compile(
    r"^/(organizations|enterprises)/([^/]+)/settings/billing/(usage/summary|ai_credit/usage|budgets|cost-centers)/?$"
)
_BILLING_PREFIX = re.compile(r"^/(organizations|enterprises)/[^/]+/settings/billing(/|$)")
Answer = tuple[int, Any, str]


@dataclass
class FakeCostCenter:
    id: str
    name: str
    #: Users in the cost center; their seats draw on its AI-credit pool when the pool is enabled.
    members: list[str]
    pool_enabled: bool = False
    state: str = "active"


@dataclass
class FakeBudget:
    id: str
    scope: str
    product_sku: str
    amount: int
    entity_name: str = ""
    user: str = ""
    #: Reported only where GitHub reports it (user budgets); None leaves the field out.
    consumed_amount: float | None = None
    budget_type: str = "ProductPricing"
    prevent_further_usage: bool = False
    alert_recipients: list[str] = field(default_factory=list)


@dataclass
class FakeBillingAccount:
    kind: str
    name: str
    plan: str = "business"
    rows: list[FakeUsageRow] = field(default_factory=list)
    cost_centers: list[FakeCostCenter] = field(default_factory=list)
    budgets: list[FakeBudget] = field(default_factory=list)
    #: An organization of an enterprise: GitHub bills its enterprise and answers 404 here.
    billed_through_enterprise: bool = False
    #: The token may not read this account's billing: 403.
    billing_forbidden: bool = False
    #: Seats by cost center id ("" for none).
    seat_shares: dict[str, int] = field(default_factory=dict)
    #: Bodies served as they are, by endpoint ("usage/summary", "ai_credit/usage", "budgets",
    #: "cost-centers"), whatever else the query says, or by "endpoint?cost_center_id=ID" for one cost
    #: center: recorded answers of the real GitHub.
    recorded: dict[str, Any] = field(default_factory=dict)

    def seats(self, cost_center_id: str | None = None) -> int:
        """Seats of the account, or of one cost center ("" for none)."""
        if cost_center_id is None:
            return sum(self.seat_shares.values())
        return self.seat_shares.get(cost_center_id, 0)


@dataclass
class FakeBillingWorld:
    now: float
    api_url: str = "https://api.github.com"
    accounts: dict[tuple[str, str], FakeBillingAccount] = field(default_factory=dict)
    #: "schema" or "real": which of GitHub's two spellings the bodies use (see the module docstring).
    form: str = "schema"

    def add(self, account: FakeBillingAccount) -> FakeBillingAccount:
        self.accounts[(account.kind, account.name.lower())] = account
        return account

    @property
    def today(self) -> date:
        return datetime.fromtimestamp(self.now, UTC).date()


def _error(status: int, message: str) -> Answer:
    return status, {"message": message, "documentation_url": DOCS, "status": str(status)}, ""


def _optional_int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ValueError(f"{name} must be an integer")
    return int(raw)


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    value = _optional_int(params, name)
    return default if value is None else value


def billing_route(world: FakeBillingWorld, path: str, params: dict[str, str]) -> Answer | None:
    """(status, JSON body, Link header) for a billing path; None for any other path."""
    match = _PATH.match(path)
    if match is None:
        return _error(404, "Not Found") if _BILLING_PREFIX.match(path) else None
    kind = "org" if match[1] == "organizations" else "enterprise"
    account = world.accounts.get((kind, match[2].lower()))
    if account is None or account.billed_through_enterprise:
        return _error(404, "Not Found")
    if account.billing_forbidden:
        return _error(403, "You must be an admin or billing manager to view billing information.")
    endpoint = match[3]
    recorded = account.recorded.get(f"{endpoint}?cost_center_id={params.get('cost_center_id')}")
    if recorded is None:
        recorded = account.recorded.get(endpoint)
    if recorded is not None:
        return 200, recorded, ""
    try:
        if endpoint == "budgets":
            return _budgets(world, account, path, params)
        if endpoint == "cost-centers":
            return _cost_centers(world, account, params) if kind == "enterprise" else _error(404, "Not Found")
        return _usage(world, account, endpoint, params)
    except ValueError as exc:
        return _error(400, str(exc))


def _usage(
    world: FakeBillingWorld, account: FakeBillingAccount, endpoint: str, params: Mapping[str, str]
) -> Answer:
    today = world.today
    year = _int_param(params, "year", today.year)
    month = _int_param(params, "month", today.month)
    day = _optional_int(params, "day")
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]):
        raise ValueError("month or day out of range")
    center_id = params.get("cost_center_id") if account.kind == "enterprise" else None
    center = next((c for c in account.cost_centers if c.id == center_id), None)
    if center_id not in (None, "none") and center is None:
        raise ValueError(f"unknown cost center {center_id}")
    rows = month_rows(account.rows, year, month, today=today, day=day)
    if center_id is not None:
        rows = [r for r in rows if r.cost_center_id == ("" if center_id == "none" else center_id)]
    head: dict[str, Any] = {"timePeriod": {"year": year, "month": month, **({"day": day} if day else {})}}
    head["organization" if account.kind == "org" else "enterprise"] = account.name
    if center is not None:
        head["costCenter"] = {"id": center.id, "name": center.name}
    if endpoint == "usage/summary":
        body = summary_body(head, rows, params)
    else:
        body = ai_credit_body(head, rows, params)
    if world.form == "real":
        body["usageItems"] = [real_form_item(item, endpoint) for item in body["usageItems"]]
    return 200, body, ""


def _budgets(
    world: FakeBillingWorld, account: FakeBillingAccount, path: str, params: Mapping[str, str]
) -> Answer:
    page = max(1, _int_param(params, "page", 1))
    per_page = min(100, max(1, _int_param(params, "per_page", 10)))
    scope = params.get("scope")
    budgets = [b for b in account.budgets if scope in (None, b.scope)]
    chosen = budgets[(page - 1) * per_page : page * per_page]
    last = max(1, -(-len(budgets) // per_page))
    links = []
    extra = f"&scope={scope}" if scope else ""
    if page < last:
        links.append(f'<{world.api_url}{path}?page={page + 1}&per_page={per_page}{extra}>; rel="next"')
        links.append(f'<{world.api_url}{path}?page={last}&per_page={per_page}{extra}>; rel="last"')
    body = {
        "budgets": [_budget_body(b, world.form) for b in chosen],
        "has_next_page": page < last,
        "total_count": len(budgets),
    }
    return 200, body, ", ".join(links)


def _budget_body(budget: FakeBudget, form: str) -> dict[str, Any]:
    skus = {"budget_product_skus": [budget.product_sku]} if form == "real" else {}
    body: dict[str, Any] = {
        "id": budget.id,
        "budget_type": budget.budget_type,
        **(skus or {"budget_product_sku": budget.product_sku}),
        "budget_scope": budget.scope,
        "budget_amount": budget.amount,
        "prevent_further_usage": budget.prevent_further_usage,
        "budget_alerting": {
            "will_alert": bool(budget.alert_recipients),
            "alert_recipients": list(budget.alert_recipients),
        },
    }
    if budget.entity_name:
        body["budget_entity_name"] = budget.entity_name
    if budget.user:
        body["user"] = budget.user
    if budget.consumed_amount is not None:
        body["consumed_amount"] = budget.consumed_amount
    return body


def pool_state(
    world: FakeBillingWorld, account: FakeBillingAccount, center: FakeCostCenter
) -> dict[str, float]:
    """A cost center's AI-credit pool: its seats' allowance, and the credits it used this month."""
    today = world.today
    used = sum(
        r.quantity
        for r in month_rows(account.rows, today.year, today.month, today=today)
        if r.cost_center_id == center.id and r.sku == AI_CREDITS_SKU
    )
    return {
        "target_amount": float(account.seats(center.id) * CREDITS_PER_SEAT[account.plan]),
        "current_amount": used,
    }


def _cost_centers(world: FakeBillingWorld, account: FakeBillingAccount, params: Mapping[str, str]) -> Answer:
    state = params.get("state")
    centers = []
    for center in account.cost_centers:
        if state not in (None, center.state):
            continue
        body: dict[str, Any] = {
            "id": center.id,
            "name": center.name,
            "state": center.state,
            "azure_subscription": None,
            "resources": [{"type": "User", "name": login} for login in center.members],
            "ai_credit_pool_enabled": center.pool_enabled,
        }
        if center.pool_enabled:
            body["ai_credit_pool_state"] = pool_state(world, account, center)
        centers.append(body)
    return 200, {"costCenters": centers}, ""


def fake_account(
    kind: str,
    name: str,
    *,
    now: float,
    seed: int,
    seats: int,
    plan: str = "business",
    cost_centers: Iterable[tuple[FakeCostCenter, int]] = (),
    credits_per_seat_day: float = 80.0,
    first_day: date | None = None,
) -> FakeBillingAccount:
    """An account with usage generated from ``seed``; ``cost_centers`` pairs each center with its seats.

    Usage starts on ``first_day``, by default the first day of the previous month.
    """
    centers = list(cost_centers)
    rng = random.Random(f"{seed}:{kind}:{name}")
    shares = [("", seats - sum(n for _, n in centers))] + [(c.id, n) for c, n in centers]
    today = datetime.fromtimestamp(now, UTC).date()
    start = first_day or (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    rows = generate_usage(rng, start, today, plan, shares, credits_per_seat_day)
    return FakeBillingAccount(
        kind, name, plan=plan, rows=rows, cost_centers=[c for c, _ in centers], seat_shares=dict(shares)
    )


DEMO_ORG = "octodemo"
DEMO_ENTERPRISE = "octodemo-enterprise"
#: Organizations of the demo enterprise: billed through it, so their own billing paths answer 404.
DEMO_ENTERPRISE_ORGS = ("octodemo-web", "octodemo-data", "octodemo-platform")


def _month_net(world: FakeBillingWorld, account: FakeBillingAccount) -> float:
    today = world.today
    rows = month_rows(account.rows, today.year, today.month, today=today)
    return sum(r.gross_amount - r.discount_amount for r in rows if r.product == "Copilot")


def demo_billing(
    now: float, *, seed: int = 2026, api_url: str = "https://api.github.com"
) -> FakeBillingWorld:
    """Demo billing: a month of spend for ``octodemo`` and ``octodemo-enterprise``, a budget at ~90%."""
    world = FakeBillingWorld(now=now, api_url=api_url)
    org = world.add(fake_account("org", DEMO_ORG, now=now, seed=seed, seats=320, credits_per_seat_day=85))
    org.budgets = [
        # Sized so the month's Copilot spend so far is about 90% of it: the budget alert to show.
        FakeBudget("b-org-copilot", "organization", "copilot", round(_month_net(world, org) / 0.9) or 1,
                   entity_name=DEMO_ORG, alert_recipients=["octo-admin"]),
        FakeBudget("b-org-everyone", "multi_user_customer", "ai_credits", 40, budget_type="SkuPricing",
                   prevent_further_usage=True),
        FakeBudget("b-user-001", "user", "ai_credits", 25, user="demo-user-001", consumed_amount=22.6,
                   budget_type="SkuPricing", prevent_further_usage=True),
        FakeBudget("b-org-actions", "organization", "actions", 200, entity_name=DEMO_ORG),
    ]  # fmt: skip
    centers = [
        (FakeCostCenter("cc-web", "web", [f"ent-user-{i:03d}" for i in range(50)], pool_enabled=True), 50),
        (
            FakeCostCenter(
                "cc-data", "data", [f"ent-user-{i:03d}" for i in range(50, 80)], pool_enabled=True
            ),
            30,
        ),
        (FakeCostCenter("cc-platform", "platform", [f"ent-user-{i:03d}" for i in range(80, 120)]), 40),
    ]
    enterprise = world.add(
        fake_account("enterprise", DEMO_ENTERPRISE, now=now, seed=seed, seats=140, plan="enterprise",
                     cost_centers=centers, credits_per_seat_day=150)
    )  # fmt: skip
    enterprise.budgets = [
        FakeBudget("b-ent-copilot", "enterprise", "copilot", round(_month_net(world, enterprise) * 1.6) + 1,
                   prevent_further_usage=True, alert_recipients=["ent-admin", "billing-manager"]),
        FakeBudget("b-cc-data", "cost_center", "ai_credits", 500, entity_name="data",
                   budget_type="SkuPricing"),
        FakeBudget("b-cc-web", "cost_center", "copilot", 3000, entity_name="web",
                   alert_recipients=["web-lead"]),
    ]  # fmt: skip
    for name in DEMO_ENTERPRISE_ORGS:
        world.add(FakeBillingAccount("org", name, billed_through_enterprise=True))
    return world
