"""Daily usage rows of the fake GitHub's billing accounts, and the report bodies summed from them."""

from __future__ import annotations

import calendar
import dataclasses
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

AI_CREDITS_SKU = "Copilot AI Credits"
CREDIT_PRICE = 0.01
CREDITS_PER_SEAT = {"business": 1900, "enterprise": 3900}
#: Seat SKU and monthly list price per plan.
SEAT_SKUS = {"business": ("Copilot Business", 19.0), "enterprise": ("Copilot Enterprise", 39.0)}
#: Models and their share of the credits spent.
MODELS = (
    ("Claude Sonnet 4.5", 0.34),
    ("GPT-5", 0.26),
    ("GPT-5 mini", 0.18),
    ("Gemini 2.5 Pro", 0.12),
    ("Claude Opus 4.1", 0.10),
)


@dataclass(frozen=True)
class FakeUsageRow:
    """Use of one SKU (and model) by one cost center ("" for none) on one UTC day."""

    day: date
    cost_center_id: str
    product: str
    sku: str
    model: str
    unit_type: str
    price_per_unit: float
    quantity: float
    #: The part of ``quantity`` covered by included credits.
    discount_quantity: float = 0.0

    @property
    def gross_amount(self) -> float:
        return self.quantity * self.price_per_unit

    @property
    def discount_amount(self) -> float:
        return self.discount_quantity * self.price_per_unit


def _day_rows(
    rng: random.Random, day: date, cost_center_id: str, seats: int, plan: str, credits_per_seat_day: float
) -> list[FakeUsageRow]:
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    sku, price = SEAT_SKUS[plan]
    rows = [
        FakeUsageRow(day, cost_center_id, "Copilot", sku, "", "user-months", price, seats / days_in_month)
    ]
    weekday = 1.0 if day.weekday() < 5 else 0.3  # people code less at weekends
    for model, share in MODELS:
        credits = round(seats * credits_per_seat_day * share * weekday * rng.uniform(0.7, 1.3))
        if credits:
            rows.append(
                FakeUsageRow(
                    day, cost_center_id, "Copilot", AI_CREDITS_SKU, model, "credits", CREDIT_PRICE, credits
                )
            )
    return rows


def _with_included_credits(rows: list[FakeUsageRow], allowance: Mapping[str, float]) -> list[FakeUsageRow]:
    """Rows with included credits applied as discounts, first come first served, per pool and month."""
    left: dict[tuple[str, int, int], float] = {}
    applied = []
    for row in rows:
        if row.sku != AI_CREDITS_SKU:
            applied.append(row)
            continue
        pool = (row.cost_center_id, row.day.year, row.day.month)
        remaining = left.setdefault(pool, allowance.get(row.cost_center_id, 0.0))
        covered = min(remaining, row.quantity)
        left[pool] = remaining - covered
        applied.append(dataclasses.replace(row, discount_quantity=covered))
    return applied


def generate_usage(
    rng: random.Random,
    start: date,
    today: date,
    plan: str,
    shares: Iterable[tuple[str, int]],
    credits_per_seat_day: float,
) -> list[FakeUsageRow]:
    """Rows from ``start`` to ``today`` for each (cost center id, seats) share, plus some Actions minutes."""
    share_list = [(center, seats) for center, seats in shares if seats > 0]
    rows: list[FakeUsageRow] = []
    day = start
    while day <= today:
        for center, seats in share_list:
            rows.extend(_day_rows(rng, day, center, seats, plan, credits_per_seat_day))
        # Not Copilot: the exporter must leave it out.
        minutes = float(rng.randint(200, 2000))
        rows.append(FakeUsageRow(day, "", "Actions", "actions_linux", "", "minutes", 0.008, minutes))
        day += timedelta(days=1)
    allowance = {center: float(seats * CREDITS_PER_SEAT[plan]) for center, seats in share_list}
    return _with_included_credits(rows, allowance)


def month_rows(
    rows: Iterable[FakeUsageRow], year: int, month: int, *, today: date, day: int | None = None
) -> list[FakeUsageRow]:
    """The rows of one month up to ``today``, or of one day of it."""
    return [
        r
        for r in rows
        if r.day.year == year and r.day.month == month and r.day <= today and day in (None, r.day.day)
    ]


def _item(rows: list[FakeUsageRow], *, model: str | None) -> dict[str, Any]:
    first = rows[0]
    gross_quantity = sum(r.quantity for r in rows)
    discount_quantity = sum(r.discount_quantity for r in rows)
    gross_amount = sum(r.gross_amount for r in rows)
    discount_amount = sum(r.discount_amount for r in rows)
    item: dict[str, Any] = {"product": first.product, "sku": first.sku}
    if model is not None:
        item["model"] = model
    item.update(
        unitType=first.unit_type,
        pricePerUnit=first.price_per_unit,
        grossQuantity=gross_quantity,
        grossAmount=gross_amount,
        discountQuantity=discount_quantity,
        discountAmount=discount_amount,
        netQuantity=gross_quantity - discount_quantity,
        netAmount=gross_amount - discount_amount,
    )
    return item


def _grouped(rows: Iterable[FakeUsageRow], *, by_model: bool) -> dict[tuple[str, ...], list[FakeUsageRow]]:
    groups: dict[tuple[str, ...], list[FakeUsageRow]] = {}
    for row in rows:
        key = (row.product, row.sku, row.model if by_model else "", row.unit_type)
        groups.setdefault(key, []).append(row)
    return groups


def _matches(value: str, wanted: str | None) -> bool:
    return wanted is None or value.lower() == wanted.lower()


def summary_body(head: Mapping[str, Any], rows: Iterable[FakeUsageRow], params: Mapping[str, str]) -> Any:
    """``…/usage/summary``: every SKU, summed over models, filtered by ``product`` and ``sku``."""
    product, sku = params.get("product"), params.get("sku")
    kept = [r for r in rows if _matches(r.product, product) and _matches(r.sku, sku)]
    filters = {k: v for k, v in (("product", product), ("sku", sku)) if v is not None}
    items = [_item(group, model=None) for group in _grouped(kept, by_model=False).values()]
    return {**head, **filters, "usageItems": items}


def ai_credit_body(head: Mapping[str, Any], rows: Iterable[FakeUsageRow], params: Mapping[str, str]) -> Any:
    """``…/ai_credit/usage``: AI credits per model, filtered by ``product`` and ``model``."""
    product, model = params.get("product"), params.get("model")
    kept = [
        r
        for r in rows
        if r.sku == AI_CREDITS_SKU and _matches(r.product, product) and _matches(r.model, model)
    ]
    filters = {k: v for k, v in (("product", product), ("model", model)) if v is not None}
    items = [_item(group, model=key[2]) for key, group in _grouped(kept, by_model=True).items()]
    return {**head, **filters, "usageItems": items}


#: The real answers' spelling of the schema's SKUs, by report: (sku, unit) for (schema sku).
_REAL_SPELLING = {
    "usage/summary": {
        AI_CREDITS_SKU: ("copilot_ai_unit", "ai-units"),
        "Copilot Business": ("copilot_for_business", "user-months"),
        "Copilot Enterprise": ("copilot_for_enterprise", "user-months"),
    },
    "ai_credit/usage": {AI_CREDITS_SKU: (AI_CREDITS_SKU, "ai-credits")},
}


def real_form_item(item: Mapping[str, Any], report: str) -> dict[str, Any]:
    """``item`` spelled as GitHub's real answers spell it in ``report`` (figures unchanged)."""
    sku, unit = _REAL_SPELLING[report].get(item["sku"], (item["sku"], item["unitType"]))
    return {**item, "sku": sku, "unitType": unit}
