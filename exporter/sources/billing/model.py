"""Strict parsing of GitHub's billing answers (usage reports, budgets, cost centers) into immutable records.

Unlike the seat list, these bodies are small and every figure in them becomes a sample, so a body that
lacks a field the schema requires, or holds a number that is not finite or beyond 2**53 in size
(:func:`~exporter.github.answers.json_number`), is rejected as a whole with a
:class:`~exporter.errors.MalformedResponseError` saying where; fields the schema marks optional may be
missing. Every string taken from GitHub becomes a label value: it goes through
:func:`~exporter.github.text.clean_text` here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.errors import MalformedResponseError
from exporter.github.answers import (
    json_boolean,
    json_integer,
    json_list,
    json_number,
    json_object,
    json_optional_integer,
    json_string,
    json_text,
)
from exporter.sources.billing.skus import budget_sku_is_copilot


@dataclass(frozen=True, slots=True)
class TimePeriod:
    year: int
    month: int | None
    day: int | None


@dataclass(frozen=True, slots=True)
class UsageItem:
    """One line of a usage summary or AI-credit report; ``model`` is "" in the summary, which has none."""

    product: str
    sku: str
    model: str
    unit_type: str
    price_per_unit: float
    gross_quantity: float
    gross_amount: float
    discount_quantity: float
    discount_amount: float
    net_quantity: float
    net_amount: float


@dataclass(frozen=True, slots=True)
class CostCenterRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    """``…/usage/summary`` or ``…/ai_credit/usage``: the period asked for and its line items."""

    time_period: TimePeriod
    #: The cost center the report was filtered on, when GitHub names one.
    cost_center: CostCenterRef | None
    items: tuple[UsageItem, ...]


@dataclass(frozen=True, slots=True)
class Budget:
    id: str
    budget_type: str
    scope: str
    #: The organization, repository or cost center the budget applies to; "" for enterprise budgets.
    entity_name: str
    #: The user of a ``user``-scoped budget, "" otherwise.
    user: str
    #: The SKUs or products the budget limits: ``budget_product_skus``, or the schema's one
    #: ``budget_product_sku``.
    product_skus: tuple[str, ...]
    amount_usd: float
    #: Only reported for user budgets (or when filtering by user); None otherwise.
    consumed_usd: float | None
    prevent_further_usage: bool
    will_alert: bool

    @property
    def product_sku(self) -> str:
        """The budget's SKUs as one label value, in GitHub's order."""
        return ",".join(self.product_skus)


@dataclass(frozen=True, slots=True)
class BudgetPage:
    budgets: tuple[Budget, ...]
    #: GitHub's ``has_next_page``; None when the body does not say.
    has_next_page: bool | None
    total_count: int | None


@dataclass(frozen=True, slots=True)
class CostCenter:
    id: str
    name: str
    #: "active" or "deleted"; "active" when GitHub omits it.
    state: str
    pool_enabled: bool
    #: The AI-credit pool's cap and current month's use, in credits; None until GitHub materializes them.
    pool_target_credits: float | None
    pool_current_credits: float | None


def _string(body: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    return json_string(body, key, where, default=None if required else "")


def _number(body: Mapping[str, Any], key: str, where: str) -> float:
    # Signed: GitHub's amounts are positive, but a refund or correction line need not be.
    return float(json_number(body.get(key), where, key, signed=True))


def _optional_number(body: Mapping[str, Any], key: str, where: str) -> float | None:
    return None if body.get(key) is None else _number(body, key, where)


def _time_period(value: Any, where: str) -> TimePeriod:
    body = json_object(value, where)
    return TimePeriod(
        json_integer(body, "year", where),
        json_optional_integer(body, "month", where),
        json_optional_integer(body, "day", where),
    )


def _usage_item(value: Any, where: str, *, with_model: bool) -> UsageItem:
    body = json_object(value, where)
    return UsageItem(
        product=_string(body, "product", where),
        sku=_string(body, "sku", where),
        model=_string(body, "model", where) if with_model else "",
        unit_type=_string(body, "unitType", where),
        price_per_unit=_number(body, "pricePerUnit", where),
        gross_quantity=_number(body, "grossQuantity", where),
        gross_amount=_number(body, "grossAmount", where),
        discount_quantity=_number(body, "discountQuantity", where),
        discount_amount=_number(body, "discountAmount", where),
        net_quantity=_number(body, "netQuantity", where),
        net_amount=_number(body, "netAmount", where),
    )


def _usage_report(body: Any, where: str, *, with_model: bool) -> UsageReport:
    report = json_object(body, where)
    if "timePeriod" not in report:
        raise MalformedResponseError(f"{where}: timePeriod is missing")
    if "usageItems" not in report:
        raise MalformedResponseError(f"{where}: usageItems is missing")
    cost_center = None
    if report.get("costCenter") is not None:
        center = json_object(report["costCenter"], f"{where}.costCenter")
        cost_center = CostCenterRef(
            _string(center, "id", f"{where}.costCenter"), _string(center, "name", f"{where}.costCenter")
        )
    items = json_list(report["usageItems"], f"{where}.usageItems")
    return UsageReport(
        time_period=_time_period(report["timePeriod"], f"{where}.timePeriod"),
        cost_center=cost_center,
        items=tuple(
            _usage_item(item, f"{where}.usageItems[{i}]", with_model=with_model)
            for i, item in enumerate(items)
        ),
    )


def parse_usage_summary(body: Any, *, where: str = "usage summary") -> UsageReport:
    """``GET …/settings/billing/usage/summary`` (organization or enterprise)."""
    return _usage_report(body, where, with_model=False)


def parse_ai_credit_usage(body: Any, *, where: str = "ai credit usage") -> UsageReport:
    """``GET …/settings/billing/ai_credit/usage``: as the summary, each item with its ``model``."""
    return _usage_report(body, where, with_model=True)


def _budget_skus(body: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """``budget_product_skus`` (GitHub's real answers) or ``budget_product_sku`` (its schema), or both."""
    skus: list[str] = []
    if body.get("budget_product_skus") is not None:
        listed = json_list(body["budget_product_skus"], f"{where}.budget_product_skus")
        skus.extend(json_text(sku, f"{where}.budget_product_skus[{i}]") for i, sku in enumerate(listed))
    if body.get("budget_product_sku") is not None:
        single = _string(body, "budget_product_sku", where)
        if single not in skus:
            skus.insert(0, single)
    if not skus:
        raise MalformedResponseError(f"{where}: neither budget_product_skus nor budget_product_sku is given")
    return tuple(skus)


def _budget(body: Mapping[str, Any], where: str, skus: tuple[str, ...], page: Mapping[str, Any]) -> Budget:
    alerting = json_object(body.get("budget_alerting"), f"{where}.budget_alerting")
    budget_id = _string(body, "id", where)
    consumed = _optional_number(body, "consumed_amount", where)
    effective = page.get("effective_budget")
    if consumed is None and isinstance(effective, Mapping) and effective.get("id") == budget_id:
        consumed = _optional_number(effective, "consumed_amount", "budgets.effective_budget")
    scope = _string(body, "budget_scope", where)
    # A page filtered by user names the user once, beside the budgets.
    page_user = _string(page, "user", "budgets", required=False) if scope == "user" else ""
    return Budget(
        id=budget_id,
        # Not checked against the two documented values: GitHub's own examples return "BundlePricing".
        budget_type=_string(body, "budget_type", where),
        scope=scope,
        entity_name=_string(body, "budget_entity_name", where, required=False),
        user=_string(body, "user", where, required=False) or page_user,
        product_skus=skus,
        amount_usd=_number(body, "budget_amount", where),
        consumed_usd=consumed,
        prevent_further_usage=json_boolean(body, "prevent_further_usage", where),
        will_alert=json_boolean(alerting, "will_alert", f"{where}.budget_alerting"),
    )


def parse_budgets_page(body: Any, *, where: str = "budgets") -> BudgetPage:
    """One page of ``GET …/settings/billing/budgets``: ``{"budgets": [...], "has_next_page": bool, …}``.

    Only Copilot's budgets are kept (:func:`~exporter.sources.billing.skus.budget_sku_is_copilot` on any
    of their SKUs), and only they are checked beyond their SKUs: a budget on Actions is not a reason to
    lose Copilot's billing. A page filtered by user carries ``effective_budget``; its
    ``consumed_amount`` is GitHub's consumed figure of the listed budget with the same id.
    """
    page = json_object(body, where)
    if "budgets" not in page:
        raise MalformedResponseError(f"{where}: budgets is missing")
    budgets = json_list(page["budgets"], f"{where}.budgets")
    has_next = None if page.get("has_next_page") is None else json_boolean(page, "has_next_page", where)
    if page.get("effective_budget") is not None:
        json_object(page["effective_budget"], f"{where}.effective_budget")
    kept = []
    for i, value in enumerate(budgets):
        at = f"{where}.budgets[{i}]"
        budget = json_object(value, at)
        skus = _budget_skus(budget, at)
        if any(budget_sku_is_copilot(sku) for sku in skus):
            kept.append(_budget(budget, at, skus, page))
    return BudgetPage(
        budgets=tuple(kept),
        has_next_page=has_next,
        total_count=json_optional_integer(page, "total_count", where),
    )


def _cost_center(value: Any, where: str) -> CostCenter:
    body = json_object(value, where)
    json_list(body.get("resources"), f"{where}.resources")  # required by the schema, not used here
    enabled = json_boolean(body, "ai_credit_pool_enabled", where, default=False)
    pool = body.get("ai_credit_pool_state")
    pool_state = {} if pool is None else json_object(pool, f"{where}.ai_credit_pool_state")
    state = _string(body, "state", where, required=False) or "active"
    return CostCenter(
        id=_string(body, "id", where),
        name=_string(body, "name", where),
        state=state,
        pool_enabled=enabled,
        pool_target_credits=_optional_number(pool_state, "target_amount", f"{where}.ai_credit_pool_state"),
        pool_current_credits=_optional_number(pool_state, "current_amount", f"{where}.ai_credit_pool_state"),
    )


def parse_cost_centers(body: Any, *, where: str = "cost centers") -> tuple[CostCenter, ...]:
    """``GET /enterprises/{enterprise}/settings/billing/cost-centers``: ``{"costCenters": [...]}``."""
    page = json_object(body, where)
    # The schema requires nothing at the top level: an enterprise without cost centers may omit the list.
    centers = json_list(page.get("costCenters", []), f"{where}.costCenters")
    return tuple(_cost_center(c, f"{where}.costCenters[{i}]") for i, c in enumerate(centers))
