"""Generate the Grafana dashboards in ``grafana/dashboards/`` from one description.

The JSON files are committed so that users can provision or import them without running anything;
this script is their source, so that every panel follows the same conventions (the datasource
variable, units, descriptions, links). After editing it run ``python grafana/generate.py``;
``python grafana/generate.py --check`` (run by the test suite) fails when the files are out of date.

Every query uses the exporter's own metrics only, so the dashboards work without recording rules.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DOCS_URL = "https://github.com/github-copilot-exporter/github-copilot-exporter"
DASHBOARD_DOCS_URL = f"{DOCS_URL}/blob/main/docs/dashboards.md"
TAGS = ["github-copilot", "copilot"]
DS = {"type": "prometheus", "uid": "${datasource}"}

UID_OVERVIEW = "copilot-seats-overview"
UID_IDLE = "copilot-idle-seats"
UID_HEALTH = "copilot-exporter-health"
UID_SPEND = "copilot-spend"
UID_USAGE = "copilot-usage"
DASHBOARDS = {
    UID_OVERVIEW: "Copilot seats overview",
    UID_IDLE: "Copilot idle seats",
    UID_USAGE: "Copilot usage",
    UID_HEALTH: "Copilot exporter health",
    UID_SPEND: "Copilot spend",
}

Json = dict[str, Any]

# -- selectors -------------------------------------------------------------------------------------

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


# -- panels ----------------------------------------------------------------------------------------


@dataclass
class Target:
    expr: str
    legend: str = "__auto"
    instant: bool = False
    table: bool = False

    def render(self, ref: str) -> Json:
        out: Json = {
            "datasource": DS,
            "editorMode": "code",
            "expr": self.expr,
            "legendFormat": self.legend,
            "range": not self.instant,
            "instant": self.instant,
            "refId": ref,
        }
        if self.table:
            out["format"] = "table"
        return out


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


NEUTRAL = thresholds(("blue", None))
UTILIZATION = thresholds(("red", None), ("orange", 0.5), ("green", 0.8))
IDLE_DAYS = thresholds(("green", None), ("yellow", 30), ("orange", 60), ("red", 90))
UP_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "UP", "color": "green", "index": 1},
        },
    }
]


@dataclass
class Panel:
    kind: str
    title: str
    description: str
    targets: list[Target]
    unit: str
    width: int
    height: int = 8
    defaults: Json = field(default_factory=dict)
    options: Json = field(default_factory=dict)
    overrides: list[Json] = field(default_factory=list)
    transformations: list[Json] = field(default_factory=list)
    #: The panel's minimum step ("1d" for one point per report day); None: Grafana's default.
    interval: str | None = None

    def render(self, panel_id: int, x: int, y: int) -> Json:
        defaults: Json = {"unit": self.unit, "color": {"mode": "thresholds"}, "thresholds": NEUTRAL}
        if self.kind == "timeseries":
            defaults["color"] = {"mode": "palette-classic"}
            defaults["custom"] = {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 10,
                "showPoints": "never",
                "spanNulls": False,
                "axisSoftMin": 0,
            }
        custom = {**defaults.get("custom", {}), **self.defaults.get("custom", {})}
        defaults.update(self.defaults)
        if custom:
            defaults["custom"] = custom
        out: Json = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DS,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": self.overrides},
            "options": self.options,
            "targets": [t.render(chr(ord("A") + i)) for i, t in enumerate(self.targets)],
            "transformations": self.transformations,
        }
        if self.interval is not None:
            out["interval"] = self.interval
        return out


def stat(
    title: str,
    description: str,
    expr: str,
    unit: str = "short",
    *,
    width: int = 4,
    steps: Json = NEUTRAL,
    legend: str = "__auto",
    extra: Json | None = None,
    text_mode: str = "value",
) -> Panel:
    return Panel(
        "stat",
        title,
        description,
        [Target(expr, legend)],
        unit,
        width,
        height=4,
        defaults={"thresholds": steps, **({"decimals": 0} if unit == "short" else {}), **(extra or {})},
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": text_mode,
            "wideLayout": True,
            "showPercentChange": False,
        },
    )


def timeseries(
    title: str,
    description: str,
    targets: list[Target],
    unit: str,
    *,
    width: int = 12,
    extra: Json | None = None,
    interval: str | None = None,
) -> Panel:
    return Panel(
        "timeseries",
        title,
        description,
        targets,
        unit,
        width,
        interval=interval,
        defaults=extra or {},
        options={
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def bars(
    title: str, description: str, target: Target, unit: str, *, width: int = 8, height: int = 8
) -> Panel:
    target.instant = True
    return Panel(
        "bargauge",
        title,
        description,
        [target],
        unit,
        width,
        height,
        defaults={"min": 0, "color": {"mode": "continuous-BlPu"}},
        options={
            "orientation": "horizontal",
            "displayMode": "gradient",
            "valueMode": "color",
            "namePlacement": "left",
            "showUnfilled": True,
            "sizing": "auto",
            "minVizHeight": 16,
            "maxVizHeight": 300,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    )


def pie(title: str, description: str, target: Target, unit: str, *, width: int = 8) -> Panel:
    target.instant = True
    return Panel(
        "piechart",
        title,
        description,
        [target],
        unit,
        width,
        defaults={"color": {"mode": "palette-classic"}},
        options={
            "pieType": "donut",
            "legend": {
                "displayMode": "table",
                "placement": "right",
                "showLegend": True,
                "values": ["value", "percent"],
            },
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "tooltip": {"mode": "single", "sort": "none"},
        },
    )


TARGET_COLUMNS = (
    "Time",
    "__name__",
    "job",
    "instance",
    "namespace",
    "service",
    "endpoint",
    "pod",
    "container",
)
HEADERS = {
    "enterprise": "Enterprise",
    "org": "Organization",
    "team": "Team",
    "user": "User",
    "plan_type": "Plan",
    "editor": "Last editor",
    "pending_cancellation": "Pending cancellation",
    "seat_management_setting": "Seat management",
    "ide_chat": "IDE chat",
    "platform_chat": "Platform chat",
    "cli": "CLI",
    "public_code_suggestions": "Public code suggestions",
    "endpoint": "Endpoint",
    "code": "Status",
    "instance": "Instance",
    "version": "Version",
    "python_version": "Python",
}


@dataclass
class Column:
    """One value column of a table: the query giving it, its header, unit and colouring."""

    name: str
    expr: str
    unit: str = "short"
    steps: Json | None = None
    extra: list[Json] = field(default_factory=list)


def table(
    title: str,
    description: str,
    keys: Sequence[str],
    columns: Sequence[Column],
    *,
    width: int = 24,
    height: int = 8,
    sort_by: str | None = None,
    labels: Iterable[str] = (),
    hide_value: bool = False,
    no_value: str | None = None,
) -> Panel:
    """Instant queries in table format merged on their labels into one row per label set, as a user
    would build it in Grafana (Merge, then Organize fields)."""
    single = len(columns) == 1
    value_names = ["Value" if single else f"Value #{chr(ord('A') + i)}" for i in range(len(columns))]
    shown = [*keys, *labels]
    order = {name: i for i, name in enumerate([*shown, *value_names])}
    overrides: list[Json] = []
    for column in columns:
        props: list[Json] = [{"id": "unit", "value": column.unit}]
        if column.unit == "short":
            props.append({"id": "decimals", "value": 0})
        if column.steps is not None:
            props += [
                {"id": "thresholds", "value": column.steps},
                {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}},
            ]
        props += column.extra
        overrides.append({"matcher": {"id": "byName", "options": column.name}, "properties": props})
    transformations: list[Json] = []
    if not single:
        transformations.append({"id": "merge", "options": {}})
    transformations.append(
        {
            "id": "organize",
            "options": {
                # Hide the instant's time and the labels of the scrape target (from Prometheus, and from
                # a ServiceMonitor on Kubernetes); any other label stays visible.
                "excludeByName": {
                    **{name: True for name in TARGET_COLUMNS if name not in shown},
                    # The constant 1 of an info metric says nothing.
                    **({"Value": True} if hide_value else {}),
                },
                "indexByName": order,
                "renameByName": {
                    **{v: c.name for v, c in zip(value_names, columns, strict=True)},
                    **{k: HEADERS.get(k, k) for k in shown},
                },
            },
        }
    )
    return Panel(
        "table",
        title,
        description,
        [Target(named_columns(c.expr, shown), instant=True, table=True) for c in columns],
        "short",
        width,
        height,
        defaults={
            "custom": {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True},
            **({"noValue": no_value} if no_value else {}),
        },
        options={
            "showHeader": True,
            "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "fields": "", "countRows": False},
            "sortBy": [{"displayName": sort_by, "desc": True}] if sort_by else [],
        },
        overrides=overrides,
        transformations=transformations,
    )


# -- dashboard -------------------------------------------------------------------------------------


def variable_query(name: str, label: str, query: str, all_value: str | None = ".*") -> Json:
    """A multi-value query variable with All. All is ``.*`` where a regex matching any value, even the
    empty one, is what's wanted; without an allValue Grafana substitutes the regex of every value found."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": query,
        "refresh": 2,  # on time range change: a new organization or team appears without a reload
        "includeAll": True,
        "allValue": all_value,
        "multi": True,
        "sort": 1,
        "regex": "",
        "hide": 0,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }


DATASOURCE_VARIABLE: Json = {
    "name": "datasource",
    "label": "Data source",
    "type": "datasource",
    "query": "prometheus",
    "regex": "",
    "hide": 0,
    "includeAll": False,
    "multi": False,
    "refresh": 1,
    "current": {},
    "options": [],
}

SEAT_VARIABLES = [
    variable_query("enterprise", "Enterprise", "label_values(github_copilot_seats, enterprise)"),
    variable_query(
        "org", "Organization", 'label_values(github_copilot_seats{enterprise=~"$enterprise"}, org)'
    ),
    variable_query(
        "team", "Team", 'label_values(github_copilot_seats{enterprise=~"$enterprise", org=~"$org"}, team)'
    ),
]


def links(own_uid: str) -> list[Json]:
    out: list[Json] = [
        {
            "title": title,
            "type": "link",
            "url": f"/d/{uid}/{uid}",
            "icon": "dashboard",
            "tooltip": f"Open the {title} dashboard",
            "includeVars": True,
            "keepTime": True,
            "targetBlank": False,
            "asDropdown": False,
            "tags": [],
        }
        for uid, title in DASHBOARDS.items()
        if uid != own_uid
    ]
    for title, url in (("Exporter documentation", DOCS_URL), ("About these dashboards", DASHBOARD_DOCS_URL)):
        out.append(
            {
                "title": title,
                "type": "link",
                "url": url,
                "icon": "doc",
                "tooltip": title,
                "includeVars": False,
                "keepTime": False,
                "targetBlank": True,
                "asDropdown": False,
                "tags": [],
            }
        )
    return out


Section = tuple[str, list[Panel]]


def dashboard(
    uid: str,
    description: str,
    variables: list[Json],
    sections: list[Section],
    time_from: str,
    tags: list[str],
    timezone: str = "browser",
) -> Json:
    panels: list[Json] = []
    y = 0
    next_id = 1
    for title, members in sections:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        x = 0
        line_height = 0
        for panel in members:
            if x + panel.width > 24:
                x, y, line_height = 0, y + line_height, 0
            panels.append(panel.render(next_id, x, y))
            next_id += 1
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": links(uid),
        "liveNow": False,
        "panels": panels,
        "refresh": "5m",
        "schemaVersion": 39,
        "tags": [*TAGS, *tags],
        "templating": {"list": [DATASOURCE_VARIABLE, *variables]},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": timezone,
        "title": DASHBOARDS[uid],
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# -- Copilot seats overview ------------------------------------------------------------------------


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


# -- Copilot idle seats ----------------------------------------------------------------------------

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


# -- Copilot usage ---------------------------------------------------------------------------------

# Usage series are per poll target (enterprise or org; team and user where they apply).
USAGE = 'enterprise=~"$enterprise", org=~"$org"'
USAGE_TEAM = 'enterprise=~"$enterprise", org=~"$org", team=~"$team"'
USAGE_VARIABLES = [
    variable_query(
        "enterprise",
        "Enterprise",
        "label_values(github_copilot_usage_report_day_timestamp_seconds, enterprise)",
    ),
    variable_query(
        "org",
        "Organization",
        'label_values(github_copilot_usage_report_day_timestamp_seconds{enterprise=~"$enterprise"}, org)',
    ),
    variable_query(
        "team",
        "Team",
        'label_values(github_copilot_usage_team_users{enterprise=~"$enterprise", org=~"$org"}, team)',
    ),
]
USER_KEY = "instance, job, enterprise, org, user"
TOP_USERS = f"topk(25, github_copilot_user_ai_credits_used{{{USAGE}}})"
TEAM_CREDITS = f"github_copilot_usage_team_ai_credits_used{{{USAGE}}}"
ACCEPTANCE = (
    f"sum(github_copilot_usage_code_acceptances{{{USAGE}}})"
    f" / sum(github_copilot_usage_code_generations{{{USAGE}}})"
)


def daily(selector: str) -> str:
    """One value per report day for a panel whose step is 1d: at 00:00 UTC, the last value of the day
    before, which is the report day the live exporter showed that day or the sample backfill stamped
    for it (23:59:59 UTC of the day after the report day): each day once, whichever wrote it."""
    return f"last_over_time({selector}[1d])"


def usage_daily(family: str, matcher: str = "") -> str:
    extra = f", {matcher}" if matcher else ""
    return f"sum({daily(f'github_copilot_usage_{family}{{{USAGE}{extra}}}')})"


def usage_active(family: str, window: str) -> str:
    return f'sum(github_copilot_usage_{family}{{{USAGE}, window="{window}"}})'


def usage_by(label: str, family: str) -> Target:
    return Target(f"sum by ({label}) (github_copilot_usage_{family}{{{USAGE}}})", f"{{{{{label}}}}}")


def top_user_column(name: str, metric: str, unit: str = "short") -> Column:
    return Column(name, readable(f"{metric}{{{USAGE}}} and on({USER_KEY}) {TOP_USERS}", "org"), unit)


def usage() -> Json:
    day = "GitHub's newest usage report day"
    stats = [
        stat(
            "Days since the report day",
            f"Age of {day} (00:00 UTC). GitHub publishes a day some hours after it ends; a day can change "
            "until three full days have passed.",
            f"(time() - max(github_copilot_usage_report_day_timestamp_seconds{{{USAGE}}})) / {DAY}",
            "d",
            steps=thresholds(("green", None), ("orange", 3), ("red", 4)),
            extra={"decimals": 1},
        ),
        stat(
            "Daily active users",
            f"Users who sent Copilot a prompt on {day}.",
            usage_active("active_users", "1d"),
        ),
        stat(
            "Monthly active users",
            f"Users who sent Copilot a prompt in the 28 days to {day}.",
            usage_active("active_users", "28d"),
        ),
        stat(
            "Adoption (28 days)",
            "Monthly active users divided by assigned seats. Red below 50 % (CopilotAdoptionLow), orange "
            "below 80 %.",
            f"{usage_active('active_users', '28d')} / sum(github_copilot_seats{{{SEAT}}})",
            "percentunit",
            steps=UTILIZATION,
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Acceptance rate",
            f"Code acceptances divided by code generations on {day}.",
            ACCEPTANCE,
            "percentunit",
            extra={"decimals": 0},
        ),
        stat(
            "Users in the report",
            f"Users with any Copilot activity on {day} (a row in GitHub's users report).",
            f"sum(github_copilot_usage_users_reported{{{USAGE}}})",
        ),
    ]
    history = [
        timeseries(
            "Active users against assigned seats",
            "Users active within 1, 7 and 28 days of each report day, and the seats assigned. One point "
            "per day, backfilled days and live ones alike (docs/history.md).",
            [
                Target(
                    f"sum by (window) ({daily(f'github_copilot_usage_active_users{{{USAGE}}}')})",
                    "active within {{window}}",
                ),
                Target(f"sum({daily(f'github_copilot_seats{{{SEAT}}}')})", "assigned seats"),
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "Feature adoption",
            "Users of chat, agent mode and Copilot code review within 28 days, and of the CLI on the day.",
            [
                Target(usage_daily("chat_active_users", 'window="28d"'), "chat (28 days)"),
                Target(usage_daily("agent_active_users", 'window="28d"'), "agent (28 days)"),
                Target(usage_daily("code_review_active_users", 'window="28d"'), "code review (28 days)"),
                Target(usage_daily("cli_active_users", 'window="1d"'), "CLI (day)"),
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "Acceptance rate",
            "Code acceptances divided by code generations, per report day.",
            [
                Target(
                    f"{usage_daily('code_acceptances')} / {usage_daily('code_generations')}",
                    "acceptance rate",
                )
            ],
            "percentunit",
            interval="1d",
        ),
        timeseries(
            "Lines of code",
            "Lines Copilot suggested adding, and lines it added and deleted, per report day.",
            [
                Target(usage_daily("lines_suggested_added"), "suggested"),
                Target(usage_daily("lines_added"), "added"),
                Target(usage_daily("lines_deleted"), "deleted"),
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "Prompts per day",
            "Prompts users sent to Copilot on each report day.",
            [
                Target(
                    f"sum by (enterprise, org) ({daily(f'github_copilot_usage_interactions{{{USAGE}}}')})",
                    "{{enterprise}}{{org}}",
                )
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "AI credits used per day",
            "AI credits the users' Copilot activity used on each report day (a usage signal; the spend "
            "dashboard has the billed amount).",
            [
                Target(
                    f"sum by (enterprise, org) ({daily(TEAM_CREDITS)})",
                    "{{enterprise}}{{org}} (teams)",
                )
            ],
            "short",
            interval="1d",
        ),
    ]
    activity = [
        bars("Prompts by IDE", f"Prompts per IDE on {day}.", usage_by("ide", "interactions_by_ide"), "short"),
        pie(
            "Prompts by feature",
            f"Prompts per Copilot feature (chat modes, agent, …) on {day}.",
            usage_by("feature", "interactions_by_feature"),
            "short",
        ),
        bars(
            "Code generations by language",
            f"Code generations per language on {day}: the top languages by volume, the rest as other "
            "(usage.top_n).",
            usage_by("language", "code_generations_by_language_feature"),
            "short",
        ),
        bars(
            "Prompts by model",
            f"Prompts per model on {day}: the top models by volume, the rest as other (usage.top_n).",
            usage_by("model", "interactions_by_model_feature"),
            "short",
            width=12,
        ),
        bars(
            "Acceptances by feature",
            f"Code acceptances per feature on {day}.",
            usage_by("feature", "code_acceptances_by_feature"),
            "short",
            width=12,
        ),
    ]
    cli_and_prs = [
        stat(
            "CLI sessions",
            f"Copilot CLI sessions on {day}.",
            f"sum(github_copilot_usage_cli_sessions{{{USAGE}}})",
        ),
        stat(
            "CLI requests",
            f"Copilot CLI requests to models on {day}.",
            f"sum(github_copilot_usage_cli_requests{{{USAGE}}})",
        ),
        stat(
            "Pull requests merged",
            f"Pull requests merged on {day}.",
            f"sum(github_copilot_usage_pull_requests_merged{{{USAGE}}})",
        ),
        stat(
            "Created by Copilot",
            f"Pull requests the Copilot coding agent created on {day}.",
            f"sum(github_copilot_usage_pull_requests_created_by_copilot{{{USAGE}}})",
        ),
        stat(
            "Reviewed by Copilot",
            f"Pull requests Copilot code review reviewed on {day}.",
            f"sum(github_copilot_usage_pull_requests_reviewed_by_copilot{{{USAGE}}})",
        ),
        stat(
            "Median time to merge",
            f"The longest of the targets' median times from opening to merge, on {day}.",
            f"max(github_copilot_usage_pull_request_merge_median_seconds{{{USAGE}}})",
            "s",
        ),
    ]
    team_key = "enterprise, org, team"
    teams = [
        table(
            "Adoption per team",
            "Per team, from GitHub's user-teams report joined with the users report: members with a row "
            "that day, those who sent prompts, their prompts, acceptances and AI credits. GitHub leaves "
            "out teams under five seated users, and a user in two teams counts in both: team sums need "
            "not add up to the totals.",
            ["enterprise", "org", "team"],
            [
                Column(
                    "Users reported",
                    readable(f"sum by ({team_key}) (github_copilot_usage_team_users{{{USAGE_TEAM}}})", "org"),
                ),
                Column(
                    "Active users",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_active_users{{{USAGE_TEAM}}})", "org"
                    ),
                ),
                Column(
                    "Prompts",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_interactions{{{USAGE_TEAM}}})", "org"
                    ),
                ),
                Column(
                    "Acceptances",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_code_acceptances{{{USAGE_TEAM}}})",
                        "org",
                    ),
                ),
                Column(
                    "AI credits",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_ai_credits_used{{{USAGE_TEAM}}})",
                        "org",
                    ),
                ),
            ],
            height=10,
            sort_by="AI credits",
        ),
    ]
    users = [
        table(
            "Top users by AI credits",
            f"The 25 users whose Copilot activity used the most AI credits on {day}, with their prompts "
            "and acceptances. Needs per-user series (seat_metrics login or hashed; hashed shows the keyed "
            "hash). CopilotUserAICreditsHigh fires above 200 credits a day.",
            ["enterprise", "org", "user"],
            [
                top_user_column("AI credits", "github_copilot_user_ai_credits_used"),
                top_user_column("Prompts", "github_copilot_user_interactions"),
                top_user_column("Acceptances", "github_copilot_user_code_acceptances"),
            ],
            height=12,
            sort_by="AI credits",
        ),
    ]
    return dashboard(
        UID_USAGE,
        "How Copilot is used, from GitHub's daily usage-metrics reports: active users against seats, "
        "acceptance, activity by IDE, feature, language and model, CLI and pull requests, teams and users.",
        USAGE_VARIABLES,
        [
            ("Adoption", stats),
            ("Over time", history),
            ("Activity on the report day", activity),
            ("CLI and pull requests", cli_and_prs),
            ("Teams", teams),
            ("Users", users),
        ],
        "now-30d",
        ["usage"],
        # GitHub's report days are UTC days: a 1d step aligned to UTC midnight sees each one once.
        timezone="utc",
    )


# -- Copilot exporter health -----------------------------------------------------------------------

HEALTH_VARIABLES = [
    # All must stay the exporter's jobs: up{job=~".*"} would show every target Prometheus scrapes.
    variable_query("job", "Job", "label_values(github_copilot_exporter_build_info, job)", all_value=None),
    variable_query("enterprise", "Enterprise", 'label_values(github_copilot_up{job=~"$job"}, enterprise)'),
    variable_query(
        "org", "Organization", 'label_values(github_copilot_up{job=~"$job", enterprise=~"$enterprise"}, org)'
    ),
]
TARGET_LEGEND = "{{enterprise}}{{org}}"
SUCCESS_AGE = f"time() - github_copilot_last_success_timestamp_seconds{{{TARGET}}}"
RESET_IN = f"clamp_min(github_copilot_api_rate_limit_reset_timestamp_seconds{{{JOB}}} - time(), 0)"
POLL_AGE_STEPS = thresholds(("green", None), ("orange", 1800), ("red", 3600))


def health() -> Json:
    stats = [
        stat(
            "Exporter scrape",
            "Whether Prometheus can scrape the exporter (up), per instance.",
            f"up{{{JOB}}}",
            "none",
            width=5,
            legend="{{instance}}",
            extra={"mappings": UP_MAPPINGS},
            text_mode="value_and_name",
        ),
        stat(
            "GitHub targets",
            "Whether the last poll of each organization or enterprise succeeded (github_copilot_up).",
            f"github_copilot_up{{{TARGET}}}",
            "none",
            width=5,
            legend=TARGET_LEGEND,
            extra={"mappings": UP_MAPPINGS},
            text_mode="value_and_name",
        ),
        stat(
            "Last successful poll",
            "Age of the data being served, per target: time since its last successful poll. Orange "
            "after 30 minutes, red after an hour (the default poll interval is 10 minutes).",
            f"max({SUCCESS_AGE})",
            "s",
            steps=POLL_AGE_STEPS,
        ),
        stat(
            "Poll duration",
            "Wall time of the slowest target's most recent poll.",
            f"max(github_copilot_poll_duration_seconds{{{TARGET}}})",
            "s",
            width=2,
            extra={"decimals": 2},
        ),
        stat(
            "Failed polls",
            "Polls that failed over the dashboard's time range, all targets and reasons.",
            f"sum(increase(github_copilot_poll_failures_total{{{TARGET}}}[$__range])) or on() vector(0)",
            width=3,
            steps=thresholds(("green", None), ("red", 1)),
        ),
        stat(
            "Rate limit remaining",
            "GitHub API requests left in the current rate-limit window (core resource and others), as of the "
            "last answer.",
            f"min(github_copilot_api_rate_limit_remaining{{{JOB}}}"
            f" / github_copilot_api_rate_limit_limit{{{JOB}}})",
            "percentunit",
            width=3,
            steps=thresholds(("red", None), ("orange", 0.1), ("green", 0.25)),
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Rate limit resets in",
            "Time until GitHub resets the rate-limit window of the most constrained resource.",
            f"max({RESET_IN})",
            "s",
        ),
    ]
    polls = [
        timeseries(
            "Age of the served data",
            "Seconds since each target's last successful poll. It grows by the poll interval and drops back "
            "after each poll; steady growth means polls are failing.",
            [Target(SUCCESS_AGE, TARGET_LEGEND)],
            "s",
            extra={"thresholds": POLL_AGE_STEPS, "custom": {"thresholdsStyle": {"mode": "dashed"}}},
        ),
        timeseries(
            "Poll duration",
            "Wall time of each target's most recent poll: all pages of the seat list plus the billing call.",
            [Target(f"github_copilot_poll_duration_seconds{{{TARGET}}}", TARGET_LEGEND)],
            "s",
        ),
        timeseries(
            "Polls and failures",
            "Polls started and polls failed per hour, by target and failure reason (see the README for what "
            "to do about each reason).",
            [
                Target(
                    "sum by (enterprise, org)"
                    f" (rate(github_copilot_polls_total{{{TARGET}}}[$__rate_interval])) * 3600",
                    "polls " + TARGET_LEGEND,
                ),
                Target(
                    "sum by (enterprise, org, reason) (rate(github_copilot_poll_failures_total"
                    f"{{{TARGET}}}[$__rate_interval])) * 3600 or on() vector(0)",
                    "failed " + TARGET_LEGEND + " {{reason}}",
                ),
            ],
            "short",
        ),
        timeseries(
            "GitHub API requests",
            "Requests the exporter sent to the GitHub API per second, by endpoint and HTTP status (error: no "
            "answer).",
            [
                Target(
                    "sum by (endpoint, code)"
                    f" (rate(github_copilot_api_requests_total{{{JOB}}}[$__rate_interval]))",
                    "{{code}} {{endpoint}}",
                )
            ],
            "reqps",
        ),
    ]
    api = [
        table(
            "GitHub API requests over the time range",
            "Requests per endpoint and status code over the dashboard's time range.",
            ["endpoint", "code"],
            [
                Column(
                    "Requests",
                    "sum by (endpoint, code)"
                    f" (round(increase(github_copilot_api_requests_total{{{JOB}}}[$__range])))",
                )
            ],
            width=12,
            sort_by="Requests",
        ),
        timeseries(
            "Rate limit remaining",
            "Requests left in the current rate-limit window, against the hourly limit, by resource.",
            [
                Target(f"github_copilot_api_rate_limit_remaining{{{JOB}}}", "remaining {{resource}}"),
                Target(f"github_copilot_api_rate_limit_limit{{{JOB}}}", "limit {{resource}}"),
            ],
            "short",
            width=6,
        ),
        timeseries(
            "Rate limit resets in",
            "Time until each rate-limit resource's window resets.",
            [Target(RESET_IN, "{{resource}}")],
            "s",
            width=6,
        ),
    ]
    process = [
        timeseries(
            "Scrape duration",
            "Time Prometheus takes to scrape the exporter. The exporter serves its last snapshot, so this "
            "stays small however slow GitHub is.",
            [Target(f"scrape_duration_seconds{{{JOB}}}", "{{instance}}")],
            "s",
            width=8,
        ),
        timeseries(
            "Memory and CPU",
            "Resident memory and CPU use of the exporter process.",
            [
                Target(f"process_resident_memory_bytes{{{JOB}}}", "memory {{instance}}"),
                Target(f"rate(process_cpu_seconds_total{{{JOB}}}[$__rate_interval])", "CPU {{instance}}"),
            ],
            "bytes",
            width=8,
        ),
        table(
            "Exporter version",
            "Version of the exporter and of Python, per instance.",
            ["instance", "version", "python_version"],
            [Column("Info", f"github_copilot_exporter_build_info{{{JOB}}}")],
            width=8,
            hide_value=True,
        ),
    ]
    # CPU shares the memory panel: give it its own unit and axis.
    process[1].overrides = [
        {
            "matcher": {"id": "byFrameRefID", "options": "B"},
            "properties": [
                {"id": "unit", "value": "percentunit"},
                {"id": "custom.axisPlacement", "value": "right"},
            ],
        }
    ]
    return dashboard(
        UID_HEALTH,
        "Is the GitHub Copilot exporter healthy: scrapes, polls of GitHub, API requests and rate limits.",
        HEALTH_VARIABLES,
        [("Status", stats), ("Polls", polls), ("GitHub API", api), ("Process", process)],
        "now-6h",
        ["exporter"],
    )


# -- Copilot spend ---------------------------------------------------------------------------------

# Billing series carry the polled target: enterprise="" for an organization, org="" for an enterprise.
BILL = 'enterprise=~"$enterprise", org=~"$org"'
MONTH = f'{BILL}, period="month"'
NET_MONTH = f"github_copilot_billing_net_amount_usd{{{MONTH}}}"
NET_DAY = f'github_copilot_billing_net_amount_usd{{{BILL}, period="day"}}'
GROSS_DAY_BY_MODEL = f'github_copilot_billing_gross_amount_usd{{{BILL}, period="day", model!=""}}'
MONTH_START = f"github_copilot_billing_period_start_timestamp_seconds{{{MONTH}}}"
# The part of the UTC month gone by, at least a day's worth (as in the recording rules).
ELAPSED = f"(clamp_min(time() - max({MONTH_START}), {DAY}) / ({DAY} * max(days_in_month({MONTH_START}))))"
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
    ]


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


def render() -> dict[str, str]:
    """File name: JSON text of every dashboard."""
    return {
        f"{d['uid']}.json": json.dumps(d, indent=2, ensure_ascii=False) + "\n"
        for d in (overview(), idle(), usage(), health(), spend())
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the committed files are out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python grafana/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
