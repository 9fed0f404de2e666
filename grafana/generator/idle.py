"""The Copilot idle seats dashboard: the list to reclaim seats from."""

from __future__ import annotations

from .layout import DOCS_URL, SEAT_VARIABLES, UID_IDLE, dashboard
from .panels import IDLE_DAYS, Column, Json, Panel, Target, bars, stat, table, thresholds, timeseries
from .queries import (
    DAY,
    GROUP,
    IDLE,
    IDLE_INFO,
    INFO,
    NEVER_USED,
    PRICE,
    SEAT,
    SEAT_INFO_LABELS,
    SEAT_KEY,
    readable,
)

IDLE_DAYS_VARIABLE: Json = {
    "name": "idle_days",
    "label": "Idle for more than (days)",
    "description": "A seat counts as idle when its last Copilot activity (or its assignment, when it has "
    "never been used) is older than this many days. Type any number.",
    "type": "custom",
    "query": "7,14,30,60,90",
    "includeAll": False,
    "multi": False,
    "hide": 0,
    "current": {"selected": True, "text": "30", "value": "30"},
    "options": [{"selected": v == "30", "text": v, "value": v} for v in ("7", "14", "30", "60", "90")],
}


def seat_column(
    name: str, metric: str, unit: str, *, scale: str = "", extra: list[Json] | None = None
) -> Column:
    """A per-seat value restricted to the idle seats, with the seat's team, plan and editor attached."""
    expr = (
        f"({metric}{{{SEAT}}}{scale} and on({SEAT_KEY}) {IDLE})"
        f" * on({SEAT_KEY}) group_left({SEAT_INFO_LABELS}) {INFO}"
    )
    return Column(name, readable(expr, "org", "team"), unit, extra=extra or [])


# An empty last activity (merged rows have no value there) reads "never used", in red; dates keep the
# text colour.
NEVER_USED_CELL: list[Json] = [
    {
        "id": "mappings",
        "value": [
            {
                "type": "special",
                "options": {"match": "null", "result": {"text": "never used", "color": "red", "index": 0}},
            }
        ],
    },
    {"id": "thresholds", "value": thresholds(("text", None))},
    {"id": "custom.cellOptions", "value": {"type": "color-text"}},
]


TEAM = "enterprise, org, team"
TEAM_SEATS = f"sum by ({TEAM}) (github_copilot_seats{{{GROUP}}})"
PRICED = f"on(instance, job, {TEAM}, plan_type) group_left() {PRICE}"
IDLE_COST_BY_TEAM = f"sum by ({TEAM}) ({IDLE_INFO} * {PRICED})"


def every_team(expr: str) -> str:
    """A figure per team, 0 rather than an empty cell (or a missing bar) for teams that have none."""
    return f"({expr} or on({TEAM}) (0 * {TEAM_SEATS}))"


def team_column(name: str, expr: str, unit: str = "short", steps: Json | None = None) -> Column:
    return Column(name, readable(expr, "org", "team"), unit, steps)


RECLAIMABLE = f"github_copilot_reclaimable_seats{{{GROUP}}}"
RECLAIMABLE_COST = f"github_copilot_reclaimable_seats_monthly_cost_usd{{{GROUP}}}"
RECLAIM_DOCS = f"{DOCS_URL}/blob/main/docs/reclaim.md"


def reclaim_panels() -> list[Panel]:
    """What the exporter's reclaim: policy proposes (not the threshold above): the saving at stake."""
    policy = (
        "by the exporter's reclaim: policy (reclaim.idle_days, grace_days, allowlist; not the threshold "
        "of this dashboard), as of the last poll. The plan is /reclaim.csv on the exporter; see "
        f"{RECLAIM_DOCS}."
    )
    return [
        stat(
            "Reclaimable seats",
            f"Seats proposed for reclaiming {policy}",
            f"sum({RECLAIMABLE}) or on() vector(0)",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        stat(
            "Reclaimable saving per month",
            f"Monthly cost of the seats proposed for reclaiming {policy}",
            f"sum({RECLAIMABLE_COST}) or on() vector(0)",
            "currencyUSD",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        stat(
            "Saving reclaim apply can remove",
            "The part of the reclaimable saving in directly assigned seats, which reclaim apply removes; "
            "seats granted through a team or the enterprise are listed in the plan with the grant to act on.",
            f'sum({RECLAIMABLE_COST.removesuffix("}")}, grant="direct"}}) or on() vector(0)',
            "currencyUSD",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        bars(
            "Reclaimable saving per team",
            "The 15 teams (and grants) whose seats proposed by the reclaim: policy cost the most per month.",
            Target(
                readable(f"topk(15, sum by ({TEAM}, grant) ({RECLAIMABLE_COST}))", "org", "team"),
                "{{org}} / {{team}} ({{grant}})",
            ),
            "currencyUSD",
            width=12,
            height=8,
        ),
    ]


def idle() -> Json:
    idle_count = f"count({IDLE_INFO})"
    idle_cost = f"sum({IDLE_INFO} * {PRICED})"
    stats = [
        stat(
            "Seats idle > $idle_days days",
            "Seats whose last activity, or assignment when never used, is older than the threshold.",
            f"{idle_count} or on() vector(0)",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        stat(
            "Share of seats idle",
            "Seats idle for more than the threshold divided by all seats in the selection.",
            f"({idle_count} or on() vector(0)) / count({INFO})",
            "percentunit",
            steps=thresholds(("green", None), ("orange", 0.1), ("red", 0.25)),
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Monthly cost of idle seats",
            "What the seats idle for more than the threshold cost per month at the configured prices: the "
            "saving from reclaiming them. Lower than the overview's cost of seats idle 30 days by the seats "
            "assigned within the threshold and not used yet, which are new rather than idle.",
            f"{idle_cost} or on() vector(0)",
            "currencyUSD",
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        stat(
            "Never used",
            "Seats for which GitHub reports no activity at all (never used, or idle for more than 90 days).",
            f"count({NEVER_USED}) or on() vector(0)",
            steps=thresholds(("green", None), ("red", 1)),
        ),
        stat(
            "Pending cancellation among idle",
            "Idle seats already removed this cycle: they stop being billed at its end, nothing to do.",
            f'count({IDLE_INFO} and on({SEAT_KEY}) github_copilot_seat_info{{pending_cancellation="true"}})'
            " or on() vector(0)",
        ),
        stat(
            "Longest idle",
            "Days since the last activity (or assignment) of the most idle seat.",
            f"max(github_copilot_seat_idle_seconds{{{SEAT}}} and on({SEAT_KEY}) {INFO}) / {DAY}",
            "d",
            steps=IDLE_DAYS,
        ),
    ]
    history = [
        timeseries(
            "Idle seats by window",
            "Seats not active within each of the exporter's activity windows (assigned minus active).",
            [
                Target(
                    f"sum by (window) (github_copilot_seats{{{GROUP}}} - ignoring(window) group_right "
                    f"github_copilot_seats_active{{{GROUP}}})",
                    "idle {{window}}",
                )
            ],
            "short",
        ),
        timeseries(
            "Monthly cost of idle seats by window",
            "Monthly cost of the seats not active within each activity window, from the exporter.",
            [
                Target(
                    f"sum by (window) (github_copilot_idle_seats_monthly_cost_usd{{{GROUP}}})",
                    "idle {{window}}",
                )
            ],
            "currencyUSD",
        ),
    ]
    teams = [
        table(
            "Idle seats per team",
            "Per assigning team: seats, seats idle for more than the threshold, never used, and what the "
            "idle seats cost per month. Sorted by cost.",
            ["enterprise", "org", "team"],
            [
                team_column("Assigned", TEAM_SEATS),
                team_column(
                    "Idle > $idle_days d",
                    every_team(f"count by ({TEAM}) ({IDLE_INFO})"),
                    steps=thresholds(("green", None), ("orange", 1)),
                ),
                team_column(
                    "Never used",
                    every_team(f"count by ({TEAM}) ({NEVER_USED})"),
                    steps=thresholds(("green", None), ("red", 1)),
                ),
                team_column(
                    "Idle share",
                    f"{every_team(f'count by ({TEAM}) ({IDLE_INFO})')} / on({TEAM}) {TEAM_SEATS}",
                    "percentunit",
                    thresholds(("green", None), ("orange", 0.1), ("red", 0.25)),
                ),
                team_column("Monthly cost of idle seats", every_team(IDLE_COST_BY_TEAM), "currencyUSD"),
            ],
            height=10,
            sort_by="Monthly cost of idle seats",
        ),
        bars(
            "Teams with the most idle seats",
            "The 15 teams with the most seats idle for more than the threshold.",
            Target(
                readable(f"topk(15, count by (enterprise, org, team) ({IDLE_INFO}))", "org", "team"),
                "{{org}} / {{team}}",
            ),
            "short",
            width=12,
            height=9,
        ),
        bars(
            "Teams with the costliest idle seats",
            "The 15 teams whose seats idle for more than the threshold cost the most per month.",
            Target(readable(f"topk(15, {IDLE_COST_BY_TEAM})", "org", "team"), "{{org}} / {{team}}"),
            "currencyUSD",
            width=12,
            height=9,
        ),
    ]
    seats = [
        table(
            "Seats idle for more than $idle_days days",
            "Every seat idle for longer than the threshold, most idle first. Idle days: since the last "
            "activity, or since assignment when never used. Yellow above 30 days, orange above 60, red "
            "above 90; a last activity of never used means GitHub reports none. Billed until: set for "
            "seats pending cancellation. Prompts, last usage report: the user's prompts on the newest "
            "day of GitHub's usage reports, empty when the user has no row there (no activity that day).",
            ["enterprise", "org", "user"],
            [
                seat_column(
                    "Idle days",
                    "github_copilot_seat_idle_seconds",
                    "d",
                    scale=f" / {DAY}",
                    extra=[
                        {"id": "thresholds", "value": IDLE_DAYS},
                        {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}},
                        {"id": "decimals", "value": 0},
                    ],
                ),
                seat_column(
                    "Last activity",
                    "github_copilot_seat_last_activity_timestamp_seconds",
                    "dateTimeAsIso",
                    scale=" * 1000",
                    extra=NEVER_USED_CELL,
                ),
                seat_column(
                    "Assigned",
                    "github_copilot_seat_created_timestamp_seconds",
                    "dateTimeAsIso",
                    scale=" * 1000",
                ),
                seat_column(
                    "Last authenticated",
                    "github_copilot_seat_last_authenticated_timestamp_seconds",
                    "dateTimeAsIso",
                    scale=" * 1000",
                ),
                seat_column(
                    "Billed until",
                    "github_copilot_seat_pending_cancellation_timestamp_seconds",
                    "dateTimeAsIso",
                    scale=" * 1000",
                ),
                # From the usage reports: the user label is the same (login or keyed hash) as the seat's.
                seat_column("Prompts, last usage report", "github_copilot_user_interactions", "short"),
            ],
            height=14,
            sort_by="Idle days",
            labels=["team", "plan_type", "editor", "pending_cancellation"],
        ),
    ]
    return dashboard(
        UID_IDLE,
        "Which Copilot seats are idle, for how long, in which teams, and what they cost: the list to "
        "reclaim seats from.",
        [*SEAT_VARIABLES, IDLE_DAYS_VARIABLE],
        [
            ("Idle seats", stats),
            ("Reclaim", reclaim_panels()),
            ("History", history),
            ("Per team", teams),
            ("Seats", seats),
        ],
        "now-7d",
        ["finops"],
    )
