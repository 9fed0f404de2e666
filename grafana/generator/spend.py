"""The Copilot spend dashboard: billing, AI credits, budgets."""

from __future__ import annotations

from .layout import UID_SPEND, dashboard, variable_query
from .panels import Column, Json, Panel, Target, bars, stat, table, thresholds, timeseries
from .queries import DAY, daily

# Billing series carry the polled target: enterprise="" for an organization, org="" for an enterprise.
BILL = 'enterprise=~"$enterprise", org=~"$org"'
MONTH = f'{BILL}, period="month"'
NET_MONTH = f"github_copilot_billing_net_amount_usd{{{MONTH}}}"
NET_DAY = f'github_copilot_billing_net_amount_usd{{{BILL}, period="day"}}'
GROSS_DAY_BY_MODEL = f'github_copilot_billing_gross_amount_usd{{{BILL}, period="day", model!=""}}'
MONTH_START = f"github_copilot_billing_period_start_timestamp_seconds{{{MONTH}}}"
# The part of the UTC month billed so far in whole days, today included, as the recording rules'
# month_elapsed_ratio: GitHub bills by the day, so the projection does not move with the hour.
ELAPSED = f"((floor((time() - max({MONTH_START})) / {DAY}) + 1) / max(days_in_month({MONTH_START})))"
# Days of the month billed so far, today included, and the month's length, per polled target: whole
# days, as in the recording rules (GitHub bills by the day).
DAYS_BILLED = f"max by (enterprise, org) (floor((time() - {MONTH_START}) / {DAY}) + 1)"
DAYS_IN_MONTH = f"max by (enterprise, org) (days_in_month({MONTH_START}))"
AI_CREDITS = 'sku=~"(?i).*ai.?credit.*"'
METERED_MONTH = f"sum(github_copilot_billing_net_amount_usd{{{MONTH}, {AI_CREDITS}}})"
BUDGET = f"{{{BILL}}}"
BUDGET_RATIO = f"github_copilot_budget_consumed_usd{BUDGET} / (github_copilot_budget_amount_usd{BUDGET} > 0)"
BUDGET_PROJECTION = f"github_copilot_budget_consumed_usd{BUDGET} / on() group_left() {ELAPSED}"
BUDGET_STEPS = thresholds(("green", None), ("orange", 0.8), ("red", 1))
SPEND_VARIABLES = [
    variable_query(
        "enterprise", "Enterprise", "label_values(github_copilot_billing_net_amount_usd, enterprise)"
    ),
    variable_query(
        "org",
        "Organization",
        'label_values(github_copilot_billing_net_amount_usd{enterprise=~"$enterprise"}, org)',
    ),
]
TARGET_NAME = "{{enterprise}}{{org}}"


def none_named(expr: str, label: str, name: str) -> str:
    return f'label_replace({expr}, "{label}", "{name}", "{label}", "")'


#: A cost center in a legend: its name and its id, since two cost centers may share a name.
COST_CENTER_NAME = f"{TARGET_NAME} {{{{cost_center}}}} {{{{cost_center_id}}}}"


def cost_center_named(expr: str) -> str:
    """``expr`` with the series of no cost center (the shared pool) named "(none)" by name and id.

    Grouped by id as well as name, so that two cost centers of one name stay apart; both labels
    named, so that every query of a table has the same columns.
    """
    return none_named(none_named(expr, "cost_center", "(none)"), "cost_center_id", "(none)")


def spend_stats() -> list[Panel]:
    usd = "currencyUSD"
    return [
        stat(
            "Net spend this month",
            "Copilot spend billed this month to date, after discounts and included AI credits.",
            f"sum({NET_MONTH})",
            usd,
        ),
        stat(
            "Net spend yesterday",
            "AI-credit spend billed for the last complete UTC day, after included credits.",
            f"sum({NET_DAY})",
            usd,
        ),
        stat(
            "Projected month end",
            "Net spend by the end of the month if the rest of it goes as the month so far.",
            f"sum({NET_MONTH}) / {ELAPSED}",
            usd,
        ),
        stat(
            "AI credits used of included",
            "AI credits used this month as a share of the credits the seats include (every pool).",
            f"sum(github_copilot_ai_credits_used{{{BILL}}})"
            f" / sum(github_copilot_ai_credits_included{{{BILL}}})",
            "percentunit",
            steps=BUDGET_STEPS,
        ),
        stat(
            "Monthly cost of Copilot",
            "Seats at list price (organization targets' seat metrics; an enterprise's under its "
            "organizations) plus metered AI credits beyond the pool, projected to the month's end.",
            f"{SEAT_COST_ALL} + ({METERED_MONTH} / {ELAPSED} or vector(0))",
            usd,
        ),
        stat(
            "Budgets at 80% or more",
            "Copilot budgets whose spend this month has reached 80% of their limit.",
            f"count(({BUDGET_RATIO}) >= 0.8) or vector(0)",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
    ]


def spend_by() -> list[Panel]:
    usd = "currencyUSD"
    return [
        bars(
            "Month to date by SKU",
            "Net spend this month by product and SKU.",
            Target(f"sum by (product, sku) ({NET_MONTH})", "{{product}} {{sku}}"),
            usd,
        ),
        bars(
            "Month to date by organization or enterprise",
            "Net spend this month of each polled organization and enterprise.",
            Target(f"sum by (enterprise, org) ({NET_MONTH})", TARGET_NAME),
            usd,
        ),
        bars(
            "Month to date by cost center",
            "Net spend this month by cost center (enterprises; AI credits are reported for the whole "
            "enterprise, under no cost center).",
            Target(
                cost_center_named(f"sum by (enterprise, org, cost_center_id, cost_center) ({NET_MONTH})"),
                COST_CENTER_NAME,
            ),
            usd,
        ),
        bars(
            "AI credits by model, month to date",
            "AI credits used this month by model, at list price (1 credit = US$0.01), before included "
            "credits.",
            Target(
                f'sum by (model) (github_copilot_billing_gross_amount_usd{{{MONTH}, model!=""}})', "{{model}}"
            ),
            usd,
        ),
        bars(
            "AI credits by model, yesterday",
            "AI credits used on the last complete UTC day by model, at list price.",
            Target(
                f"sum by (model) (github_copilot_billing_gross_amount_usd"
                f'{{{BILL}, period="day", model!=""}})',
                "{{model}}",
            ),
            usd,
        ),
        bars(
            "Net spend yesterday by model",
            "AI-credit spend billed for the last complete UTC day by model, after included credits.",
            Target(f"sum by (model) ({NET_DAY})", "{{model}}"),
            usd,
        ),
        timeseries(
            "Net spend this month",
            "Month-to-date net spend of each polled organization and enterprise, as it grows.",
            [Target(f"sum by (enterprise, org) ({NET_MONTH})", TARGET_NAME)],
            usd,
            width=24,
        ),
        timeseries(
            "Net spend per day",
            "AI-credit spend billed for each UTC day, after included credits: one point per day, "
            "backfilled days and live ones alike (docs/history.md).",
            [Target(f"sum by (enterprise, org) ({daily(NET_DAY)})", TARGET_NAME)],
            usd,
            interval="1d",
        ),
        timeseries(
            "AI credits per day by model",
            "AI credits used on each UTC day by model, at list price, before included credits.",
            [
                Target(
                    f"sum by (model) ({daily(GROSS_DAY_BY_MODEL)})",
                    "{{model}}",
                )
            ],
            usd,
            interval="1d",
        ),
    ]


def spend_pools() -> list[Panel]:
    keys = ["enterprise", "org", "cost_center_id", "cost_center"]
    by = f"sum by ({', '.join(keys)})"
    included = f"{by} (github_copilot_ai_credits_included{{{BILL}}})"
    used = f"{by} (github_copilot_ai_credits_used{{{BILL}}})"
    used_ratio = f"{used} / {included}"
    return [
        table(
            "AI-credit pools",
            "Each pool: the credits included this month, the credits used, and their ratio (the "
            'shared pool is cost center "(none)").',
            keys,
            [
                Column("Included", cost_center_named(included)),
                Column("Used", cost_center_named(used)),
                Column(
                    "Used of included",
                    cost_center_named(used_ratio),
                    "percentunit",
                    BUDGET_STEPS,
                ),
            ],
            width=14,
            sort_by="Used of included",
        ),
        bars(
            "Pool used",
            "AI credits used this month as a share of each pool.",
            Target(cost_center_named(used_ratio), COST_CENTER_NAME),
            "percentunit",
            width=10,
        ),
        pool_forecast(included, used),
    ]


def pool_forecast(included: str, used: str) -> Panel:
    """Each pool at this month's rate (credits used / days billed), as the recording rules and
    CopilotAICreditPoolRunningOut compute it: its use by the month's end and its days left."""
    per_target = "on (enterprise, org) group_left ()"
    projected = f"{used} / {per_target} ({DAYS_BILLED} / {DAYS_IN_MONTH})"
    # Pools without use this month have no rate, hence no days left.
    days_left = f"clamp_min(({included} - {used}) / ({used} > 0) * {per_target} {DAYS_BILLED}, 0)"
    used_up = (
        f"({included} / ({used} > 0) * {per_target} {DAYS_BILLED} * {DAY}"
        f" + {per_target} max by (enterprise, org) ({MONTH_START})) * 1000"
    )
    return table(
        "AI-credit pool forecast",
        "Each pool at this month's rate (credits used per day billed, today included): its use by the "
        "month's end against the credits it includes, the days from the end of today until they are used "
        "up (red within the 5 days of the CopilotAICreditPoolRunningOut alert; 0 once used up), and when. "
        "A pool without use this month has no days left.",
        ["enterprise", "org", "cost_center_id", "cost_center"],
        [
            Column("Included", cost_center_named(included)),
            Column("Projected month end", cost_center_named(projected)),
            Column(
                "Projected of included",
                cost_center_named(f"{projected} / {included}"),
                "percentunit",
                BUDGET_STEPS,
            ),
            Column(
                "Days left",
                cost_center_named(days_left),
                "d",
                thresholds(("red", None), ("orange", 5), ("green", 10)),
            ),
            Column("Used up at", cost_center_named(used_up), "dateTimeAsIso"),
        ],
        sort_by="Projected of included",
    )


def spend_budgets() -> list[Panel]:
    keys = ["enterprise", "org", "budget_id", "scope", "entity", "sku"]

    # A column whose every row lacks an entity would have no entity column, and Grafana's merge would
    # then not line its rows up with the others: an empty entity gets a name in every column.
    def by(expr: str) -> str:
        return none_named(f"sum by ({', '.join(keys)}) ({expr})", "entity", "(none)")

    return [
        table(
            "Budgets",
            "Every Copilot budget: its monthly limit, the spend counted against it this month where "
            "known, the share consumed, and the spend projected to the month's end at this month's rate.",
            keys,
            [
                Column("Limit", by(f"github_copilot_budget_amount_usd{BUDGET}"), "currencyUSD"),
                Column("Consumed", by(f"github_copilot_budget_consumed_usd{BUDGET}"), "currencyUSD"),
                Column("Consumed share", by(BUDGET_RATIO), "percentunit", BUDGET_STEPS),
                Column("Projected month end", by(BUDGET_PROJECTION), "currencyUSD"),
            ],
            sort_by="Consumed share",
        ),
        bars(
            "Projected month end of budget",
            "Each budget's spend projected to the month's end, as a share of its limit: above 100% it "
            "runs out before the month does.",
            Target(
                f"({BUDGET_PROJECTION}) / (github_copilot_budget_amount_usd{BUDGET} > 0)",
                "{{budget_id}} {{scope}} {{entity}}",
            ),
            "percentunit",
            width=12,
        ),
        table(
            "Budget settings",
            "Whether reaching each budget blocks further use, and whether it alerts.",
            keys,
            [Column("Settings", f"github_copilot_budget_info{BUDGET}")],
            width=12,
            labels=["prevent_further_usage", "alerting"],
            hide_value=True,
        ),
    ]


def spend_seats_vs_metered() -> list[Panel]:
    usd = "currencyUSD"
    return [
        timeseries(
            "Seats beside metered use",
            "What Copilot costs a month: the seats at list price, and the AI credits beyond the "
            "included pool, this month to date and projected to the month's end.",
            [
                Target(SEAT_COST_ALL, "Seats at list price (a month)"),
                Target(f"{METERED_MONTH}", "Metered beyond the pool, month to date"),
                Target(f"{METERED_MONTH} / {ELAPSED}", "Metered beyond the pool, projected month end"),
            ],
            usd,
            width=24,
        ),
    ]


# Seats of every selected target at list price. An organization target's seats carry enterprise="";
# an enterprise's carry their granting organization, so they count when the org selection admits the
# enterprise target itself (its billing series have org="").
ORG_SEAT_COST = (
    'sum(github_copilot_estimated_monthly_cost_usd{enterprise=~"$enterprise", enterprise="", org=~"$org"})'
)
ENTERPRISE_SEAT_COST = (
    'sum(github_copilot_estimated_monthly_cost_usd{enterprise=~"$enterprise", enterprise!=""})'
    ' and on() count(github_copilot_billing_period_start_timestamp_seconds{enterprise=~"$enterprise",'
    ' enterprise!="", org=~"$org"})'
)
SEAT_COST_ALL = f"({ORG_SEAT_COST} or vector(0)) + ({ENTERPRISE_SEAT_COST} or vector(0))"


def spend() -> Json:
    return dashboard(
        UID_SPEND,
        "What Copilot costs: month-to-date and yesterday's spend by SKU, model, organization and cost "
        "center, AI-credit pools, budgets and the projection to the month's end, seats beside metered use.",
        SPEND_VARIABLES,
        [
            ("This month", spend_stats()),
            ("Spend by", spend_by()),
            ("AI-credit pools", spend_pools()),
            ("Budgets", spend_budgets()),
            ("Seats and metered use", spend_seats_vs_metered()),
        ],
        "now-7d",
        ["billing"],
        timezone="utc",
    )
