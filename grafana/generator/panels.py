"""Panel builders: a query target, thresholds, and the stat, time series, bar, pie and table panels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .queries import named_columns

Json = dict[str, Any]
#: Every panel and variable reads the data source the dashboard's datasource variable names.
DS = {"type": "prometheus", "uid": "${datasource}"}


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
