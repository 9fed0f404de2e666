"""The Copilot seats overview dashboard."""

from __future__ import annotations

from .layout import SEAT_VARIABLES, UID_OVERVIEW, dashboard
from .panels import UTILIZATION, Column, Json, Target, bars, pie, stat, table, thresholds, timeseries
from .queries import GROUP, IN_SELECTION, SEAT, readable


def active(window: str) -> str:
    return f'sum(github_copilot_seats_active{{{GROUP}, window="{window}"}})'


SEATS = f"sum(github_copilot_seats{{{GROUP}}})"
UTILIZATION_EXPR = f"{active('30d')} / {SEATS}"
COST = f"sum(github_copilot_estimated_monthly_cost_usd{{{GROUP}}})"
IDLE_COST_30D = f'sum(github_copilot_idle_seats_monthly_cost_usd{{{GROUP}, window="30d"}})'
PENDING_CANCELLATION = f"sum(github_copilot_seats_pending_cancellation{{{GROUP}}})"
PENDING_INVITATION = (
    f'sum(github_copilot_billing_seats{{org=~"$org", state="pending_invitation"}} {IN_SELECTION})'
)
ORG_TARGETS_ONLY = "org targets only"
NO_ORG_TARGETS = "No organization target selected: GitHub reports these figures per organization."


def per(keys: str, metric: str, selector: str = GROUP) -> str:
    return f"sum by ({keys}) ({metric}{{{selector}}})"


def group_columns(keys: str) -> list[Column]:
    """The figures of the organization and team tables, each summed by ``keys``."""
    seats = per(keys, "github_copilot_seats")
    active30 = per(keys, "github_copilot_seats_active", f'{GROUP}, window="30d"')
    return [
        Column("Assigned", seats),
        Column("Active 7d", per(keys, "github_copilot_seats_active", f'{GROUP}, window="7d"')),
        Column("Active 30d", active30),
        Column("Utilization", f"{active30} / {seats}", "percentunit", UTILIZATION),
        Column("Without activity", per(keys, "github_copilot_seats_without_activity")),
        Column("Pending cancellation", per(keys, "github_copilot_seats_pending_cancellation")),
        Column("Monthly cost", per(keys, "github_copilot_estimated_monthly_cost_usd"), "currencyUSD"),
        Column(
            "Cost of seats idle 30d",
            per(keys, "github_copilot_idle_seats_monthly_cost_usd", f'{GROUP}, window="30d"'),
            "currencyUSD",
        ),
    ]


def readable_columns(columns: list[Column], *labels: str) -> list[Column]:
    for column in columns:
        column.expr = readable(column.expr, *labels)
    return columns


def billing(state: str) -> str:
    return f'sum by (org) (github_copilot_billing_seats{{org=~"$org", state="{state}"}} {IN_SELECTION})'


def exporter_for_org_targets(metric: str, extra: str = "") -> str:
    return f'sum by (org) ({metric}{{enterprise="", org=~"$org"{extra}}} {IN_SELECTION})'


def overview() -> Json:
    stats = [
        stat("Assigned seats", "Copilot seats assigned (billed) in the selection.", SEATS),
        stat("Active within 1 day", "Seats with Copilot activity within the last 24 hours.", active("1d")),
        stat("Active within 7 days", "Seats with Copilot activity within the last 7 days.", active("7d")),
        stat("Active within 30 days", "Seats with Copilot activity within the last 30 days.", active("30d")),
        stat(
            "Utilization (30 days)",
            "Seats active within 30 days divided by seats assigned. Red below 50 %, orange below 80 %.",
            UTILIZATION_EXPR,
            "percentunit",
            steps=UTILIZATION,
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Without activity",
            "Seats for which GitHub reports no activity at all: never used, or idle for more than 90 days.",
            f"sum(github_copilot_seats_without_activity{{{GROUP}}})",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        stat(
            "Estimated monthly cost",
            "Assigned seats at the configured price of each plan (seat_prices_usd), per month.",
            COST,
            "currencyUSD",
        ),
        stat(
            "Cost of seats idle 30 days",
            "Monthly cost of the seats with no Copilot activity within 30 days (including never used): "
            "what reclaiming them would save.",
            IDLE_COST_30D,
            "currencyUSD",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        stat(
            "Idle share of cost",
            "Cost of seats idle 30 days divided by the estimated monthly cost.",
            f"{IDLE_COST_30D} / {COST}",
            "percentunit",
            steps=thresholds(("green", None), ("orange", 0.2), ("red", 0.5)),
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Monthly cost per active seat",
            "Estimated monthly cost divided by the seats active within 30 days: the real price of a seat "
            "in use.",
            f"{COST} / {active('30d')}",
            "currencyUSD",
            extra={"decimals": 2},
        ),
        stat(
            "Pending cancellations",
            "Seats removed this billing cycle: still billed until the cycle ends, then freed.",
            PENDING_CANCELLATION,
        ),
        stat(
            "Pending invitations",
            "Seats of invited users who have not accepted yet, from GitHub's billing figures. Organization "
            "targets only: GitHub reports this per organization, not per enterprise or team.",
            PENDING_INVITATION,
            extra={"noValue": ORG_TARGETS_ONLY},
        ),
    ]
    history = [
        timeseries(
            "Assigned and active seats",
            "Seats assigned, and seats active within each of the exporter's activity windows, over time.",
            [
                Target(SEATS, "assigned"),
                Target(
                    f"sum by (window) (github_copilot_seats_active{{{GROUP}}})",
                    "active {{window}}",
                ),
            ],
            "short",
        ),
        timeseries(
            "Utilization (30 days)",
            "Seats active within 30 days divided by seats assigned, overall and per organization.",
            [
                Target(UTILIZATION_EXPR, "all selected"),
                Target(
                    readable(
                        f'sum by (enterprise, org) (github_copilot_seats_active{{{GROUP}, window="30d"}})'
                        f" / sum by (enterprise, org) (github_copilot_seats{{{GROUP}}})",
                        "org",
                    ),
                    "{{enterprise}} {{org}}",
                ),
            ],
            "percentunit",
            extra={"min": 0, "max": 1},
        ),
        timeseries(
            "Monthly cost",
            "Estimated monthly cost of the assigned seats and the part spent on seats idle for 30 days.",
            [Target(COST, "estimated monthly cost"), Target(IDLE_COST_30D, "seats idle 30 days")],
            "currencyUSD",
        ),
        timeseries(
            "Pending cancellations and invitations",
            "Seats pending cancellation (billed until the end of the cycle) and pending invitations "
            "(organization targets only).",
            [
                Target(PENDING_CANCELLATION, "pending cancellation"),
                Target(PENDING_INVITATION, "pending invitation"),
            ],
            "short",
        ),
    ]
    breakdowns = [
        table(
            "Organizations",
            "Seats, activity and cost per organization. (enterprise level): seats granted by an "
            "enterprise team rather than an organization.",
            ["enterprise", "org"],
            readable_columns(group_columns("enterprise, org"), "org"),
            height=7,
            sort_by="Monthly cost",
        ),
        table(
            "Teams",
            "Seats, activity and cost per assigning team. (assigned directly): seats assigned to the user "
            "rather than through a team.",
            ["enterprise", "org", "team"],
            readable_columns(group_columns("enterprise, org, team"), "org", "team"),
            height=10,
            sort_by="Cost of seats idle 30d",
        ),
        bars(
            "Seats by plan",
            "Assigned seats per Copilot plan (business, enterprise).",
            Target(f"sort_desc({per('plan_type', 'github_copilot_seats')})", "{{plan_type}}"),
            "short",
        ),
        bars(
            "Monthly cost by plan",
            "Estimated monthly cost per Copilot plan.",
            Target(
                f"sort_desc({per('plan_type', 'github_copilot_estimated_monthly_cost_usd')})", "{{plan_type}}"
            ),
            "currencyUSD",
        ),
        pie(
            "Seats by editor",
            "Seats by the editor family of their last activity; none: no activity reported. Filtered by "
            "enterprise and organization, not by team.",
            Target(
                f"sort_desc(sum by (editor) (github_copilot_seats_by_editor{{{SEAT}}}))",
                "{{editor}}",
            ),
            "short",
        ),
    ]
    github = [
        table(
            "GitHub's billing figures beside the exporter's",
            "GitHub's own seat breakdown for the current billing cycle next to the exporter's count from "
            "the seat list. Assigned and total should agree; a difference usually means seats without a "
            "user account. Organization targets only.",
            ["org"],
            [
                Column("GitHub total", billing("total")),
                Column("Exporter assigned", exporter_for_org_targets("github_copilot_seats")),
                Column("GitHub active this cycle", billing("active_this_cycle")),
                Column(
                    "Exporter active 30d",
                    exporter_for_org_targets("github_copilot_seats_active", ', window="30d"'),
                ),
                Column("GitHub inactive this cycle", billing("inactive_this_cycle")),
                Column("GitHub pending cancellation", billing("pending_cancellation")),
                Column(
                    "Exporter pending cancellation",
                    exporter_for_org_targets("github_copilot_seats_pending_cancellation"),
                ),
                Column("GitHub pending invitation", billing("pending_invitation")),
                Column("GitHub added this cycle", billing("added_this_cycle")),
            ],
            width=16,
            no_value=NO_ORG_TARGETS,
        ),
        table(
            "Organization plan and policies",
            "The Copilot plan and policy settings GitHub reports for each organization target.",
            ["org"],
            [Column("Info", f'github_copilot_organization_info{{org=~"$org"}} {IN_SELECTION}')],
            width=8,
            labels=[
                "plan_type",
                "seat_management_setting",
                "ide_chat",
                "platform_chat",
                "cli",
                "public_code_suggestions",
            ],
            hide_value=True,
            no_value=NO_ORG_TARGETS,
        ),
    ]
    return dashboard(
        UID_OVERVIEW,
        "What the GitHub Copilot seats are doing and costing: assignment, activity, utilization, cost and "
        "waste by organization, team, plan and editor.",
        SEAT_VARIABLES,
        [
            ("Seats and cost", stats),
            ("History", history),
            ("Breakdowns", breakdowns),
            ("GitHub's own figures", github),
        ],
        "now-7d",
        ["finops"],
    )
