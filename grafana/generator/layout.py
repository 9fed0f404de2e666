"""A dashboard from its sections: rows, panel placement, variables, links between the dashboards."""

from __future__ import annotations

from .panels import DS, Json, Panel

DOCS_URL = "https://github.com/github-copilot-exporter/github-copilot-exporter"
DASHBOARD_DOCS_URL = f"{DOCS_URL}/blob/main/docs/dashboards.md"
TAGS = ["github-copilot", "copilot"]

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
