"""The one table of Copilot's billing SKUs and units, in every spelling GitHub is known to use.

GitHub's schemas, its documented examples and its live answers spell the same things differently
(``../shared/github-api/CHANGES-2026.md``, "Where real answers differ from the published schemas"):

- AI credits: "Copilot AI Credits", ``copilot_ai_credit`` and ``coding_agent_ai_credit`` in the AI-credit
  report (unit ``ai-credits`` or ``credits``); ``copilot_ai_unit`` (unit ``ai-units``) in a real
  organization's usage summary;
- premium requests: "Copilot Premium Request", ``copilot_premium_request``,
  ``coding_agent_premium_request`` (unit ``requests``), in the usage summary and the AI-credit report;
- seats: "Copilot Business" / "Copilot Enterprise", ``copilot_business`` / ``copilot_enterprise`` and
  ``copilot_for_business`` / ``copilot_for_enterprise`` (unit ``user-months``);
- budgets: ``copilot``, ``ai_credits``, ``premium_requests`` or any of the SKUs above.

Names are compared after :func:`normalized` (case, spaces, dashes and underscores folded), so
"Copilot AI Credits" and ``copilot_ai_credits`` are one SKU. Anything else a Copilot line carries is
:data:`OTHER_COPILOT`; lines of other products are :data:`NOT_COPILOT` and never exported.
"""

from __future__ import annotations

from typing import Final

AI_CREDITS: Final = "ai_credits"
PREMIUM_REQUESTS: Final = "premium_requests"
SEATS: Final = "seats"
OTHER_COPILOT: Final = "other_copilot"
NOT_COPILOT: Final = "not_copilot"
#: Kinds the AI-credit report breaks down by model: taken from it rather than from the usage summary.
MODEL_KINDS: Final = frozenset({AI_CREDITS, PREMIUM_REQUESTS})

#: Normalized SKU spellings of each kind.
_AI_CREDIT_SKUS = frozenset(
    {"copilot_ai_credits", "copilot_ai_credit", "coding_agent_ai_credit", "copilot_ai_unit", "ai_credits"}
)
_PREMIUM_REQUEST_SKUS = frozenset(
    {
        "copilot_premium_request",
        "copilot_premium_requests",
        "coding_agent_premium_request",
        "premium_requests",
    }
)
#: Seat SKUs and the plan (a key of ``billing.ai_credits_per_seat``) each one bills.
SEAT_PLANS: Final = {
    "copilot_business": "business",
    "copilot_for_business": "business",
    "copilot_enterprise": "enterprise",
    "copilot_for_enterprise": "enterprise",
}
#: Units of AI credits: 1 unit = 1 credit = US$0.01 in every spelling.
AI_CREDIT_UNITS: Final = frozenset({"ai_credits", "ai_units", "credits"})
#: Budget SKUs that are Copilot's besides the item SKUs above.
_BUDGET_SKUS = frozenset({"copilot", AI_CREDITS, PREMIUM_REQUESTS})


def normalized(name: str) -> str:
    """``name`` lower-cased, with runs of spaces, dashes and underscores as one underscore."""
    return "_".join(name.lower().replace("-", " ").replace("_", " ").split())


def sku_kind(product: str, sku: str) -> str:
    """The kind of a usage line: one of :data:`AI_CREDITS` … :data:`NOT_COPILOT`.

    An AI-credit SKU counts whatever its product (credits are spent from Spark and other products too);
    so do names containing "ai_credit" ("Copilot AI Credits Overage") or "premium_request".
    """
    name = normalized(sku)
    if name in _AI_CREDIT_SKUS or "ai_credit" in name:
        return AI_CREDITS
    if name in _PREMIUM_REQUEST_SKUS or "premium_request" in name:
        return PREMIUM_REQUESTS
    if name in SEAT_PLANS:
        return SEATS
    if normalized(product) == "copilot" or name.startswith("copilot"):
        return OTHER_COPILOT
    return NOT_COPILOT


def seat_plan(sku: str) -> str | None:
    """The plan a seat SKU bills ("business", "enterprise"), None for any other SKU."""
    return SEAT_PLANS.get(normalized(sku))


def is_ai_credit_unit(unit_type: str) -> bool:
    return normalized(unit_type) in AI_CREDIT_UNITS


def budget_sku_is_copilot(sku: str) -> bool:
    """Whether a budget on ``sku`` limits Copilot spending."""
    return normalized(sku) in _BUDGET_SKUS or sku_kind("", sku) != NOT_COPILOT


def budget_covers(budget_sku: str, product: str, sku: str) -> bool:
    """Whether a Copilot line of ``sku`` counts against a budget on ``budget_sku``.

    A budget on a kind (``copilot``, ``ai_credits``, an AI-credit or premium-request SKU in any
    spelling) covers every line of that kind; a budget on a seat SKU, the seats of its plan.
    """
    line = sku_kind(product, sku)
    if normalized(budget_sku) == "copilot":
        return line != NOT_COPILOT
    kind = sku_kind("", budget_sku)
    if kind in MODEL_KINDS:
        return line == kind
    if kind == SEATS:
        return seat_plan(budget_sku) == seat_plan(sku)
    return normalized(budget_sku) == normalized(sku)
