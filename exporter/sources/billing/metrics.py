"""The ``github_copilot_billing_*``, ``github_copilot_ai_credits_*`` and ``github_copilot_budget_*`` families.

Derived at scrape time from :class:`~exporter.sources.billing.snapshot.BillingSnapshot` objects, which
hold everything already merged and filtered: this module only lays samples out. Every family is yielded
even without samples so its HELP and TYPE stay in the exposition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.sources.billing.snapshot import BillingSnapshot, LineItem

TARGET_LABELS = ["enterprise", "org"]
ITEM_LABELS = [
    *TARGET_LABELS,
    "cost_center",
    "cost_center_id",
    "period",
    "product",
    "sku",
    "model",
    "unit_type",
]
POOL_LABELS = [*TARGET_LABELS, "cost_center", "cost_center_id"]
BUDGET_LABELS = [*TARGET_LABELS, "budget_id", "scope", "entity", "sku"]
_PERIODS = 'period="month" is the month to date, period="day" the last complete UTC day.'
_REFRESH = "Refreshed on the billing poll, not at scrape time."
#: Line-item families: name, help, and the figure of an item each one exports.
ITEM_FAMILIES: tuple[tuple[str, str, Callable[[LineItem], float]], ...] = (
    (
        "github_copilot_billing_net_amount_usd",
        f"Copilot spend billed after discounts and included credits, in US dollars. {_PERIODS} {_REFRESH}",
        lambda item: item.net_amount_usd,
    ),
    (
        "github_copilot_billing_gross_amount_usd",
        f"Copilot spend at list price before discounts, in US dollars. {_PERIODS} {_REFRESH}",
        lambda item: item.gross_amount_usd,
    ),
    (
        "github_copilot_billing_discount_amount_usd",
        f"Discounts on Copilot spend, included AI credits among them, in US dollars. {_PERIODS} {_REFRESH}",
        lambda item: item.discount_amount_usd,
    ),
    (
        "github_copilot_billing_quantity",
        f"Units of Copilot use before discounts (GitHub's gross quantity), in the unit of the unit_type "
        f"label (AI credits: 1 credit = US$0.01). {_PERIODS} {_REFRESH}",
        lambda item: item.gross_quantity,
    ),
)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _item_families(snapshots: list[BillingSnapshot]) -> Iterator[Metric]:
    for name, help_text, figure in ITEM_FAMILIES:
        family = GaugeMetricFamily(name, help_text, labels=ITEM_LABELS)
        for snap in snapshots:
            for item in snap.items:
                labels = [
                    *snap.target.labels,
                    item.cost_center,
                    item.cost_center_id,
                    item.period,
                    item.product,
                ]
                family.add_metric([*labels, item.sku, item.model, item.unit_type], figure(item))
        yield family
    starts = GaugeMetricFamily(
        "github_copilot_billing_period_start_timestamp_seconds",
        f"Unix time at which the period the billing figures cover began. {_PERIODS}",
        labels=[*TARGET_LABELS, "period"],
    )
    for snap in snapshots:
        for period, start in sorted(snap.period_starts.items()):
            starts.add_metric([*snap.target.labels, period], start)
    yield starts


def _pool_families(snapshots: list[BillingSnapshot]) -> Iterator[Metric]:
    included = GaugeMetricFamily(
        "github_copilot_ai_credits_included",
        "AI credits included this month, in credits: a cost center's AI-credit pool as GitHub reports it; "
        'for cost_center_id="" the seats\' monthly allowance (billing.ai_credits_per_seat, by default '
        "Business 1,900 and Enterprise 3,900 credits a seat) less the cost-center pools, and never "
        f"less than the credits GitHub counted as included. {_REFRESH}",
        labels=POOL_LABELS,
    )
    used = GaugeMetricFamily(
        "github_copilot_ai_credits_used",
        "AI credits used this month to date, in credits, counted against the pool of "
        f"github_copilot_ai_credits_included with the same labels. {_REFRESH}",
        labels=POOL_LABELS,
    )
    for snap in snapshots:
        for pool in snap.pools:
            labels = [*snap.target.labels, pool.cost_center, pool.cost_center_id]
            included.add_metric(labels, pool.included_credits)
            used.add_metric(labels, pool.used_credits)
    yield included
    yield used


def _budget_families(snapshots: list[BillingSnapshot]) -> Iterator[Metric]:
    amount = GaugeMetricFamily(
        "github_copilot_budget_amount_usd",
        f"Monthly limit of a Copilot budget, in US dollars. {_REFRESH}",
        labels=BUDGET_LABELS,
    )
    consumed = GaugeMetricFamily(
        "github_copilot_budget_consumed_usd",
        "Spend counted against a Copilot budget this month, in US dollars: GitHub's figure where it "
        "reports one, else for organization and enterprise budgets the month's net Copilot spend the "
        f"budget covers; absent otherwise. {_REFRESH}",
        labels=BUDGET_LABELS,
    )
    info = GaugeMetricFamily(
        "github_copilot_budget_info",
        "Settings of a Copilot budget (always 1): whether reaching it blocks further use, and whether "
        "it alerts.",
        labels=[*BUDGET_LABELS, "prevent_further_usage", "alerting"],
    )
    for snap in snapshots:
        for state in snap.budgets:
            b = state.budget
            labels = [*snap.target.labels, b.id, b.scope, b.user or b.entity_name, b.product_sku]
            amount.add_metric(labels, b.amount_usd)
            if state.consumed_usd is not None:
                consumed.add_metric(labels, state.consumed_usd)
            info.add_metric([*labels, _bool(b.prevent_further_usage), _bool(b.will_alert)], 1.0)
    yield amount
    yield consumed
    yield info


def billing_families(snapshots: Iterable[BillingSnapshot]) -> Iterator[Metric]:
    """Every billing family, in a fixed order, each present even when no snapshot has samples for it."""
    snapshot_list = list(snapshots)
    yield from _item_families(snapshot_list)
    yield from _pool_families(snapshot_list)
    yield from _budget_families(snapshot_list)
