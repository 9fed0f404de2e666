"""Reading one target's billing data from GitHub: every request succeeds, or the poll fails as a whole.

An organization target costs four requests and its budget pages; an enterprise target adds the cost
centers and one usage summary per cost center (plus one for usage in none). Requests go one after
another: the client paces them, and a half-read target is discarded anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

from exporter.config import Target
from exporter.github.pages import all_pages
from exporter.sources.billing.model import (
    Budget,
    CostCenter,
    UsageReport,
    parse_ai_credit_usage,
    parse_budgets_page,
    parse_cost_centers,
    parse_usage_summary,
)
from exporter.sources.billing.snapshot import (
    CREDITS_PER_SEAT,
    NO_COST_CENTER,
    BillingSnapshot,
    CostCenterKey,
    build_billing_snapshot,
    day_snapshot,
)

T = TypeVar("T")
#: Budgets are few (GitHub caps cost centers at 1,000); more pages than this means a looping Link.
MAX_BUDGET_PAGES = 50
BUDGETS_PER_PAGE = 100


def requests_per_poll(target: Target, *, cost_centers: int = 0, budgets: int = 0) -> int:
    """The API requests of one poll of ``target`` with that many active cost centers and budgets.

    A usage summary, AI credits month to date and yesterday, and the budget pages; an enterprise adds
    the cost-center list and a usage summary per cost center.
    """
    own = 1 + 2 + max(1, math.ceil(budgets / BUDGETS_PER_PAGE))
    return own + (1 + cost_centers if target.kind == "enterprise" else 0)


class BillingClient(Protocol):
    """The part of ``exporter.github``'s client this module uses."""

    @property
    def api_url(self) -> str: ...

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]: ...


def _prefix(target: Target) -> tuple[str, str]:
    """The billing path prefix of a target and its endpoint label template."""
    if target.kind == "enterprise":
        return f"/enterprises/{quote(target.name, safe='')}", "/enterprises/{enterprise}"
    if target.kind == "org":
        return f"/organizations/{quote(target.name, safe='')}", "/organizations/{org}"
    raise ValueError(f"unknown target kind {target.kind!r}")


async def fetch_budgets(client: BillingClient, target: Target) -> list[Budget]:
    """Every page of the target's budgets, up to :data:`MAX_BUDGET_PAGES`: the ``Link`` header's, else
    the next page number while the body says ``has_next_page``."""
    prefix, endpoint = _prefix(target)
    pages = await all_pages(
        client.get,
        f"{client.api_url}{prefix}/settings/billing/budgets?per_page={BUDGETS_PER_PAGE}",
        f"{endpoint}/settings/billing/budgets",
        lambda body, _: parse_budgets_page(body),
        more=lambda page: page.has_next_page,
        max_pages=MAX_BUDGET_PAGES,
    )
    return [budget for page in pages for budget in page.budgets]


async def _usage(
    client: BillingClient, target: Target, report: str, params: Mapping[str, int | str]
) -> UsageReport:
    prefix, endpoint = _prefix(target)
    url = f"{client.api_url}{prefix}/settings/billing/{report}?{urlencode(params)}"
    parse = parse_ai_credit_usage if report == "ai_credit/usage" else parse_usage_summary
    value, _ = await client.get(url, f"{endpoint}/settings/billing/{report}", parse)
    return value


async def fetch_billing(
    client: BillingClient,
    target: Target,
    *,
    now: float,
    clock: Callable[[], float] | None = None,
    credits_per_seat: Mapping[str, float] = CREDITS_PER_SEAT,
) -> BillingSnapshot:
    """One target's billing snapshot: month to date as of ``now``, and the UTC day before ``now``'s.

    The included AI credits are sized from the seats the usage summary bills (the source stands alone,
    without the seat source's counts). Any failed request propagates: no partial snapshot.
    """
    today = datetime.fromtimestamp(now, UTC).date()
    yesterday = today - timedelta(days=1)
    month: dict[str, int | str] = {"year": today.year, "month": today.month}
    day: dict[str, int | str] = {"year": yesterday.year, "month": yesterday.month, "day": yesterday.day}
    summaries: list[tuple[CostCenterKey, UsageReport]] = []
    cost_centers: tuple[CostCenter, ...] = ()
    if target.kind == "enterprise":
        prefix, endpoint = _prefix(target)
        cost_centers, _ = await client.get(
            f"{client.api_url}{prefix}/settings/billing/cost-centers?state=active",
            f"{endpoint}/settings/billing/cost-centers",
            parse_cost_centers,
        )
        for center in cost_centers:
            params: dict[str, int | str] = {**month, "product": "copilot", "cost_center_id": center.id}
            summaries.append(
                ((center.id, center.name), await _usage(client, target, "usage/summary", params))
            )
        params = {**month, "product": "copilot", "cost_center_id": "none"}
        summaries.append((NO_COST_CENTER, await _usage(client, target, "usage/summary", params)))
    else:
        summary = await _usage(client, target, "usage/summary", {**month, "product": "copilot"})
        summaries.append((NO_COST_CENTER, summary))
    ai_month = await _usage(client, target, "ai_credit/usage", month)
    ai_day = await _usage(client, target, "ai_credit/usage", day)
    budgets = await fetch_budgets(client, target)
    return build_billing_snapshot(
        target,
        taken_at=clock() if clock is not None else now,
        now=now,
        summaries=summaries,
        ai_credits_month=ai_month,
        ai_credits_day=ai_day,
        cost_centers=cost_centers,
        budgets=budgets,
        credits_per_seat=credits_per_seat,
    )


async def fetch_billing_day(
    client: BillingClient, target: Target, day: date, *, taken_at: float
) -> BillingSnapshot:
    """The ``period="day"`` figures of one past UTC ``day``: the AI-credit report of that day, as live."""
    params: dict[str, int | str] = {"year": day.year, "month": day.month, "day": day.day}
    report = await _usage(client, target, "ai_credit/usage", params)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return day_snapshot(target, day_start=start, taken_at=taken_at, ai_credits_day=report)
