"""The immutable result of one complete billing poll of one target, and the rules deciding what it keeps.

What is kept (Copilot only; the billing APIs report every product of the account), each line classified
by the one SKU table of :mod:`exporter.sources.billing.skus`:

- line items of Copilot's SKUs (seats, AI credits, premium requests, any other Copilot SKU), whatever
  their product for AI credits, since AI credits may be spent outside the "Copilot" product (Spark);
- AI credits and premium requests from the AI-credit report, which breaks them down by model, whenever
  that report has lines of the kind: the usage summary reports the same units once more without a model
  (a real summary as ``copilot_ai_unit``/``ai-units``), and keeping both would count each twice. Where
  the report has none of a kind the summary's lines of it are kept (model ""), so no kind is lost
  either. The summary contributes the other Copilot SKUs (seats);
- budgets on a Copilot SKU (:func:`~exporter.sources.billing.skus.budget_sku_is_copilot`; see
  :func:`~exporter.sources.billing.model.parse_budgets_page`).

Enterprise usage summaries are read per cost center and once for usage in none (``cost_center_id=none``),
so summing over ``cost_center_id`` gives the enterprise. Lines and pools carry the cost center's id
beside its name: GitHub lets two cost centers share a name, or have an empty one, and the id keeps
their series apart from each other and from the target's own (id and name ""). The AI-credit report is
read for the whole target (id and name ""), once month to date and once for the last complete UTC day.

Included AI credits: each AI-credit pool a cost center reports (its ``target_amount``, and its
``current_amount`` as used); the target's own shared pool (id and name "") is the allowance of its
seats (the configured credits per seat, by default Business 1,900 and Enterprise 3,900 a month) less the
cost-center pools, but never less than the credits GitHub itself counted as included (the AI-credit
lines' discount quantity, less what the cost-center pools covered): GitHub's figure is a fact, the
allowance an estimate. Its use is the month's AI credits less what those pools used. The seat counts
come from GitHub's billing answers, so that the billing source never depends on the seat source: the
usage summary's seat SKUs (:data:`~exporter.sources.billing.skus.SEAT_PLANS`), their month-to-date
quantity, in pro-rated user-months, divided by the part of the month gone by - an estimate that is off
while seats change during the month. A caller may pass exact counts instead.

A budget's consumption is GitHub's ``consumed_amount`` where it reports one (user budgets); for a budget
on the target itself (organization or enterprise scope) it is the month-to-date net amount of the kept
line items one of its SKUs covers; other budgets have none.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exporter.config import Target
from exporter.sources.billing.model import Budget, CostCenter, UsageReport
from exporter.sources.billing.skus import (
    AI_CREDITS,
    MODEL_KINDS,
    NOT_COPILOT,
    budget_covers,
    budget_sku_is_copilot,
    seat_plan,
    sku_kind,
)

#: Monthly AI credits included with each seat, by plan.
CREDITS_PER_SEAT: Mapping[str, float] = {"business": 1900, "enterprise": 3900}
MONTH = "month"
DAY = "day"
#: A cost center as (id, name); ("", "") for usage in no cost center and for the whole target.
CostCenterKey = tuple[str, str]
NO_COST_CENTER: CostCenterKey = ("", "")


@dataclass(frozen=True, slots=True)
class LineItem:
    """Spend on one SKU (and model) over one period; items with equal labels are merged into one."""

    period: str
    cost_center_id: str
    cost_center: str
    product: str
    sku: str
    model: str
    unit_type: str
    gross_quantity: float
    gross_amount_usd: float
    discount_amount_usd: float
    net_amount_usd: float
    #: The part of ``gross_quantity`` GitHub covered by included credits or discounts.
    discount_quantity: float = 0.0

    @property
    def kind(self) -> str:
        return sku_kind(self.product, self.sku)


@dataclass(frozen=True, slots=True)
class CreditPool:
    cost_center_id: str
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
    target: Target
    #: Unix time at which the poll that produced this snapshot completed.
    taken_at: float
    #: Unix times at which the month to date and the last complete UTC day began, by period.
    period_starts: Mapping[str, float]
    items: tuple[LineItem, ...]
    pools: tuple[CreditPool, ...]
    budgets: tuple[BudgetState, ...]


def is_copilot_budget(budget: Budget) -> bool:
    return any(budget_sku_is_copilot(sku) for sku in budget.product_skus)


def period_starts(now: float) -> dict[str, float]:
    """Start of the current UTC month and of yesterday (the last complete UTC day)."""
    moment = datetime.fromtimestamp(now, UTC)
    today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return {MONTH: today.replace(day=1).timestamp(), DAY: (today - timedelta(days=1)).timestamp()}


def _merged(
    period: str, reports: Iterable[tuple[CostCenterKey, UsageReport]], keep: Callable[[str], bool]
) -> list[LineItem]:
    """Items of ``(cost center, report)`` pairs whose SKU kind ``keep`` accepts, summed per label set."""
    merged: dict[tuple[str, ...], LineItem] = {}
    for (center_id, center_name), report in reports:
        for item in report.items:
            if not keep(sku_kind(item.product, item.sku)):
                continue
            key = (center_id, item.product, item.sku, item.model, item.unit_type)
            before = merged.get(key)
            merged[key] = LineItem(
                period, center_id, center_name, item.product, item.sku, item.model, item.unit_type,
                item.gross_quantity + (before.gross_quantity if before else 0.0),
                item.gross_amount + (before.gross_amount_usd if before else 0.0),
                item.discount_amount + (before.discount_amount_usd if before else 0.0),
                item.net_amount + (before.net_amount_usd if before else 0.0),
                item.discount_quantity + (before.discount_quantity if before else 0.0),
            )  # fmt: skip
    return list(merged.values())


def _from_report(kind: str) -> bool:
    return kind in MODEL_KINDS


def month_items(
    summaries: Iterable[tuple[CostCenterKey, UsageReport]], ai_credits_month: UsageReport
) -> list[LineItem]:
    """The month's kept items: each model-bearing kind from the AI-credit report where it has lines of
    that kind, else from the summaries; every other Copilot kind from the summaries."""
    reported = {sku_kind(i.product, i.sku) for i in ai_credits_month.items} & MODEL_KINDS
    from_summary = _merged(MONTH, summaries, lambda kind: kind != NOT_COPILOT and kind not in reported)
    return from_summary + _merged(MONTH, [(NO_COST_CENTER, ai_credits_month)], _from_report)


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
            plan = seat_plan(item.sku)
            if plan is not None:
                seats[plan] = seats.get(plan, 0.0) + item.gross_quantity / elapsed
    return {plan: round(count) for plan, count in seats.items()}


def _pools(
    cost_centers: Iterable[CostCenter],
    seats_by_plan: Mapping[str, int],
    month: Iterable[LineItem],
    credits_per_seat: Mapping[str, float],
) -> tuple[CreditPool, ...]:
    own = {
        c.id: CreditPool(c.id, c.name, c.pool_target_credits, c.pool_current_credits or 0.0)
        for c in cost_centers
        if c.state == "active" and c.pool_enabled and c.pool_target_credits is not None
    }.values()
    allowance = sum(credits_per_seat.get(plan, 0) * count for plan, count in seats_by_plan.items())
    credits = [i for i in month if i.kind == AI_CREDITS]
    own_included = sum(p.included_credits for p in own)
    own_used = sum(p.used_credits for p in own)
    # What GitHub itself counted as included beyond the cost-center pools: the shared pool holds that.
    granted = sum(i.discount_quantity for i in credits) - sum(
        min(p.used_credits, p.included_credits) for p in own
    )
    shared = CreditPool(
        "",
        "",
        max(0.0, allowance - own_included, granted),
        max(0.0, sum(i.gross_quantity for i in credits) - own_used),
    )
    return (shared, *own)


def _budget_states(
    target: Target, budgets: Iterable[Budget], month: Iterable[LineItem]
) -> tuple[BudgetState, ...]:
    items = list(month)
    own_scope = "organization" if target.kind == "org" else "enterprise"
    states: dict[str, BudgetState] = {}
    for budget in budgets:
        # Pages read one after another can repeat a budget when the list changes in between.
        if not is_copilot_budget(budget) or budget.id in states:
            continue
        consumed = budget.consumed_usd
        if consumed is None and budget.scope == own_scope:
            consumed = sum(i.net_amount_usd for i in items if _covers(budget, i))
        states[budget.id] = BudgetState(budget, consumed)
    return tuple(states.values())


def _covers(budget: Budget, item: LineItem) -> bool:
    return any(budget_covers(sku, item.product, item.sku) for sku in budget.product_skus)


def build_billing_snapshot(
    target: Target,
    *,
    taken_at: float,
    now: float,
    summaries: Iterable[tuple[CostCenterKey, UsageReport]],
    ai_credits_month: UsageReport,
    ai_credits_day: UsageReport,
    cost_centers: Iterable[CostCenter] = (),
    budgets: Iterable[Budget] = (),
    seats_by_plan: Mapping[str, int] | None = None,
    credits_per_seat: Mapping[str, float] = CREDITS_PER_SEAT,
) -> BillingSnapshot:
    """A snapshot from parsed parts; ``summaries`` are month-to-date ((id, name) of the cost center,
    summary) pairs.

    ``credits_per_seat`` is the monthly AI-credit allowance of a seat by plan (the configuration's).
    """
    summary_list = list(summaries)
    month = month_items(summary_list, ai_credits_month)
    day = _merged(DAY, [(NO_COST_CENTER, ai_credits_day)], _from_report)
    seats = (
        seats_by_plan if seats_by_plan is not None else seats_from_summary((r for _, r in summary_list), now)
    )
    return BillingSnapshot(
        target=target,
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
        target=target,
        taken_at=taken_at,
        period_starts={DAY: day_start},
        items=tuple(_merged(DAY, [(NO_COST_CENTER, ai_credits_day)], _from_report)),
        pools=(),
        budgets=(),
    )
