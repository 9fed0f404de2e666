"""PromQL building blocks shared by the dashboards: label selectors, seat joins, naming empty labels."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Aggregates carry enterprise, org and team; per-seat series carry enterprise and org, their team is on
# github_copilot_seat_info; per-target series of the exporter carry enterprise and org.
GROUP = 'enterprise=~"$enterprise", org=~"$org", team=~"$team"'
SEAT = 'enterprise=~"$enterprise", org=~"$org"'
TARGET = 'job=~"$job", enterprise=~"$enterprise", org=~"$org"'
JOB = 'job=~"$job"'
# Joins between per-seat series keep job and instance so that two exporters (a rolling update, a
# second replica) never make a many-to-many match.
SEAT_KEY = "instance, job, enterprise, org, user"
SEAT_INFO_LABELS = "team, plan_type, editor, pending_cancellation"
DAY = 86400
IDLE = f"(github_copilot_seat_idle_seconds{{{SEAT}}} > $idle_days * {DAY})"
INFO = f"github_copilot_seat_info{{{GROUP}}}"
IDLE_INFO = f"({INFO} and on({SEAT_KEY}) {IDLE})"
# The price of a seat is not a series of its own; cost / seats of its group is exactly the configured
# price of the group's plan.
PRICE = (
    f"(github_copilot_estimated_monthly_cost_usd{{{GROUP}}}"
    " / on(instance, job, enterprise, org, team, plan_type)"
    f" github_copilot_seats{{{GROUP}}})"
)
NEVER_USED = f"({INFO} unless on({SEAT_KEY}) github_copilot_seat_last_activity_timestamp_seconds)"
# Billing figures are per organization (org targets only); restrict them to the selected organizations.
IN_SELECTION = 'and on(org) github_copilot_seats{enterprise=~"$enterprise", org=~"$org"}'


#: What an empty label means, shown as a word: the enterprise of an organization target, the org of an
#: enterprise-level grant, the team of a direct assignment, a shared pool's cost center, a budget's entity.
EMPTY_NAMES = {
    "enterprise": "(org target)",
    "org": "(enterprise level)",
    "team": "(assigned directly)",
    "cost_center": "(none)",
    "entity": "(none)",
}


def readable(expr: str, *labels: str) -> str:
    """Name the empty team (direct assignment) and org (enterprise-level grant) in legends and tables."""
    for label in labels:
        expr = f'label_replace({expr}, "{label}", "{EMPTY_NAMES[label]}", "{label}", "")'
    return expr


def names_empty(expr: str, label: str) -> bool:
    """Whether ``expr`` already gives an empty ``label`` a name (through readable or none_named)."""
    return re.search(rf'"{label}", "[^"]+", "{label}", ""\)', expr) is not None


def named_columns(expr: str, labels: Iterable[str]) -> str:
    """``expr`` with every label that can be empty named, so that its series carry each of ``labels``
    whatever the data: Grafana's table has a column per label present in some series, and a merge of
    queries lines rows up only when every query yields the same columns."""
    missing = [label for label in labels if label in EMPTY_NAMES and not names_empty(expr, label)]
    return readable(expr, *missing)


def daily(selector: str) -> str:
    """One value per report day for a panel whose step is 1d: at 00:00 UTC, the last value of the day
    before, which is the report day the live exporter showed that day or the sample backfill stamped
    for it (23:59:59 UTC of the day after the report day): each day once, whichever wrote it."""
    return f"last_over_time({selector}[1d])"
