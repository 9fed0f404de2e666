"""The immutable result of one complete billing poll of one target, and the rules deciding what it keeps.

What is kept (Copilot only; the billing APIs report every product of the account):

- line items whose product is "copilot", or whose SKU is an AI-credit or Copilot SKU (``ai_credit…``,
  ``AI Credits``, ``copilot…``; compared case-insensitively with spaces, dashes and underscores equal),
  since AI credits may be spent outside the "Copilot" product (e.g. Spark);
- AI-credit SKUs only from the AI-credit report, which breaks them down by model: the usage summary
  reports the same credits once more without a model, and keeping both would double every sum over
  ``model``. The summary contributes the other Copilot SKUs (seats, premium requests);
- budgets whose ``budget_product_sku`` is ``copilot``, ``ai_credits``, ``premium_requests`` or a
  Copilot / AI-credit SKU.

Enterprise usage summaries are read per cost center and once for usage in none (``cost_center_id=none``),
so summing over ``cost_center`` gives the enterprise. The AI-credit report is read for the whole target
(``cost_center`` ""), once month to date and once for the last complete UTC day.

Included AI credits: each AI-credit pool a cost center reports (its ``target_amount``, and its
``current_amount`` as used); the target's own shared pool (``cost_center`` "") is the allowance of its
seats (the configured credits per seat, by default Business 1,900 and Enterprise 3,900 a month) less the
cost-center pools, and its use the month's AI credits less what those pools used. The seat counts come
from GitHub's billing answers, so that the billing source never depends on the seat source: the usage
summary's seat SKUs ("Copilot Business", "Copilot Enterprise"), their month-to-date quantity, in
pro-rated user-months, divided by the part of the month gone by - an estimate that is off while seats
change during the month. A caller may pass exact counts instead.

A budget's consumption is GitHub's ``consumed_amount`` where it reports one (user budgets); for a budget
on the target itself (organization or enterprise scope) it is the month-to-date net amount of the kept
line items its SKU covers; other budgets have none.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exporter.config import Target
from exporter.sources.billing.model import Budget, CostCenter, UsageItem, UsageReport

#: Monthly AI credits included with each seat, by plan.
CREDITS_PER_SEAT: Mapping[str, float] = {"business": 1900, "enterprise": 3900}
#: Budget SKUs that are Copilot spending whatever their exact spelling (see :func:`normalized`).
COPILOT_BUDGET_SKUS = frozenset({"copilot", "ai_credits", "premium_requests"})
MONTH = "month"
DAY = "day"


@dataclass(frozen=True, slots=True)
class LineItem:
    """Spend on one SKU (and model) over one period; items with equal labels are merged into one."""

    period: str
    cost_center: str
    product: str
    sku: str
    model: str
    unit_type: str
    gross_quantity: float
    gross_amount_usd: float
    discount_amount_usd: float
    net_amount_usd: float


@dataclass(frozen=True, slots=True)
class CreditPool:
    cost_center: str
    included_credits: float
    used_credits: float


@dataclass(frozen=True, slots=True)
class BudgetState:
    budget: Budget
    #: GitHub's figure, or derived from the month's line items (see the module docstring); None if neither.
    consumed_usd: float | None


@dataclass(frozen=True, slots=True)
class BillingSnapshot:
    kind: str
    name: str
    enterprise: str
    org: str
    #: Unix time at which the poll that produced this snapshot completed.
    taken_at: float
    #: Unix times at which the month to date and the last complete UTC day began, by period.
    period_starts: Mapping[str, float]
    items: tuple[LineItem, ...]
    pools: tuple[CreditPool, ...]
    budgets: tuple[BudgetState, ...]


def normalized(name: str) -> str:
    return "_".join(name.lower().replace("-", " ").replace("_", " ").split())


def is_ai_credit_sku(sku: str) -> bool:
    return "ai_credit" in normalized(sku)


def is_copilot_item(item: UsageItem) -> bool:
    return (
        normalized(item.product) == "copilot"
        or is_ai_credit_sku(item.sku)
        or normalized(item.sku).startswith("copilot")
    )


def is_copilot_budget(budget: Budget) -> bool:
    sku = normalized(budget.product_sku)
    return sku in COPILOT_BUDGET_SKUS or sku.startswith("copilot") or is_ai_credit_sku(sku)


def period_starts(now: float) -> dict[str, float]:
    """Start of the current UTC month and of yesterday (the last complete UTC day)."""
    moment = datetime.fromtimestamp(now, UTC)
    today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return {MONTH: today.replace(day=1).timestamp(), DAY: (today - timedelta(days=1)).timestamp()}


def _merged(period: str, reports: Iterable[tuple[str, UsageReport]], *, ai_credits: bool) -> list[LineItem]:
    """Kept items of ``(cost center name, report)`` pairs, summed per label set."""
    merged: dict[tuple[str, ...], LineItem] = {}
    for cost_center, report in reports:
        for item in report.items:
            if not is_copilot_item(item) or is_ai_credit_sku(item.sku) != ai_credits:
                continue
            key = (cost_center, item.product, item.sku, item.model, item.unit_type)
            before = merged.get(key)
            merged[key] = LineItem(
                period, cost_center, item.product, item.sku, item.model, item.unit_type,
                item.gross_quantity + (before.gross_quantity if before else 0.0),
                item.gross_amount + (before.gross_amount_usd if before else 0.0),
                item.discount_amount + (before.discount_amount_usd if before else 0.0),
                item.net_amount + (before.net_amount_usd if before else 0.0),
            )  # fmt: skip
    return list(merged.values())


def seats_from_summary(summaries: Iterable[UsageReport], now: float) -> dict[str, int]:
    """Seats per plan as the month's usage summary bills them: the fallback when the seats source gives none.

    Seats accrue pro rata (in user-months), so the month to date's quantity is divided by the part of the
    month gone by, today included.
    """
    moment = datetime.fromtimestamp(now, UTC)
    elapsed = moment.day / calendar.monthrange(moment.year, moment.month)[1]
    seats: dict[str, float] = {}
    for report in summaries:
        for item in report.items:
            for plan in CREDITS_PER_SEAT:
                if normalized(item.sku) == f"copilot_{plan}":
                    seats[plan] = seats.get(plan, 0.0) + item.gross_quantity / elapsed
    return {plan: round(count) for plan, count in seats.items()}


def _pools(
    cost_centers: Iterable[CostCenter],
    seats_by_plan: Mapping[str, int],
    month_items: Iterable[LineItem],
    credits_per_seat: Mapping[str, float],
) -> tuple[CreditPool, ...]:
    own = [
        CreditPool(c.name, c.pool_target_credits, c.pool_current_credits or 0.0)
        for c in cost_centers
        if c.state == "active" and c.pool_enabled and c.pool_target_credits is not None
    ]
    allowance = sum(credits_per_seat.get(plan, 0) * count for plan, count in seats_by_plan.items())
    used = sum(i.gross_quantity for i in month_items if is_ai_credit_sku(i.sku))
    shared = CreditPool(
        "",
        max(0.0, allowance - sum(p.included_credits for p in own)),
        max(0.0, used - sum(p.used_credits for p in own)),
    )
    return (shared, *own)


def _budget_states(
    target: Target, budgets: Iterable[Budget], month_items: Iterable[LineItem]
) -> tuple[BudgetState, ...]:
    items = list(month_items)
    own_scope = "organization" if target.kind == "org" else "enterprise"
    states: dict[str, BudgetState] = {}
    for budget in budgets:
        # Pages read one after another can repeat a budget when the list changes in between.
        if not is_copilot_budget(budget) or budget.id in states:
            continue
        consumed = budget.consumed_usd
        if consumed is None and budget.scope == own_scope:
            consumed = sum(i.net_amount_usd for i in items if _covers(budget.product_sku, i))
        states[budget.id] = BudgetState(budget, consumed)
    return tuple(states.values())


def _covers(budget_sku: str, item: LineItem) -> bool:
    sku = normalized(budget_sku)
    if sku == "copilot":
        return True  # every kept item is Copilot spending
    if sku == "ai_credits":
        return is_ai_credit_sku(item.sku)
    return sku == normalized(item.sku) or (
        sku == "premium_requests" and "premium_request" in normalized(item.sku)
    )


def build_billing_snapshot(
    target: Target,
    *,
    taken_at: float,
    now: float,
    summaries: Iterable[tuple[str, UsageReport]],
    ai_credits_month: UsageReport,
    ai_credits_day: UsageReport,
    cost_centers: Iterable[CostCenter] = (),
    budgets: Iterable[Budget] = (),
    seats_by_plan: Mapping[str, int] | None = None,
    credits_per_seat: Mapping[str, float] = CREDITS_PER_SEAT,
) -> BillingSnapshot:
    """A snapshot from parsed parts; ``summaries`` are month-to-date (cost center name, summary) pairs.

    ``credits_per_seat`` is the monthly AI-credit allowance of a seat by plan (the configuration's).
    """
    summary_list = list(summaries)
    month = _merged(MONTH, summary_list, ai_credits=False) + _merged(
        MONTH, [("", ai_credits_month)], ai_credits=True
    )
    day = _merged(DAY, [("", ai_credits_day)], ai_credits=True)
    seats = (
        seats_by_plan if seats_by_plan is not None else seats_from_summary((r for _, r in summary_list), now)
    )
    return BillingSnapshot(
        kind=target.kind,
        name=target.name,
        enterprise=target.enterprise,
        org=target.org,
        taken_at=taken_at,
        period_starts=period_starts(now),
        items=tuple(month + day),
        pools=_pools(cost_centers, seats, month, credits_per_seat),
        budgets=_budget_states(target, budgets, month),
    )


def day_snapshot(
    target: Target, *, day_start: float, taken_at: float, ai_credits_day: UsageReport
) -> BillingSnapshot:
    """A snapshot of one past UTC day's figures alone (``period="day"``), for ``backfill``.

    The items are those of the live snapshot's day period, built by the same rules; month figures,
    pools and budgets describe the present and have no history, so the snapshot has none.
    """
    return BillingSnapshot(
        kind=target.kind,
        name=target.name,
        enterprise=target.enterprise,
        org=target.org,
        taken_at=taken_at,
        period_starts={DAY: day_start},
        items=tuple(_merged(DAY, [("", ai_credits_day)], ai_credits=True)),
        pools=(),
        budgets=(),
    )
