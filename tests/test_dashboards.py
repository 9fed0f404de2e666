"""The Grafana dashboards: their conventions, and every query against a real Prometheus scraping the exporter.

No Grafana server runs here, so the live tests do what Grafana would: substitute the variables (All as
its ``allValue``, ``$__rate_interval``, ``$__range``), run each variable query through Prometheus's
label-values API and each panel query as an instant query (and as a range query for time series), and
require data from every one of them: a panel showing "No data" on a healthy exporter is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support import (
    REPO,
    free_port,
    need_binary,
    parse_exposition,
    run_process,
    start_exporter,
    wait_until,
)

Json = dict[str, Any]

DASHBOARD_DIR = REPO / "grafana" / "dashboards"
PROVISIONING = REPO / "grafana" / "provisioning"


def rule_files() -> list[str]:
    """The project's rule files (not their promtool unit tests, which match the same pattern)."""
    paths = sorted(glob.glob(str(REPO / "deploy" / "prometheus" / "*rules*.yml")))
    return [p for p in paths if "groups" in (yaml.safe_load(Path(p).read_text()) or {})]


RULE_FILES = rule_files()
DOCS_URL = "https://github.com/github-copilot-exporter/github-copilot-exporter"
UIDS = {
    "copilot-seats-overview",
    "copilot-idle-seats",
    "copilot-usage",
    "copilot-exporter-health",
    "copilot-spend",
}
# What each dashboard filters on, beyond the datasource.
VARIABLES = {
    "copilot-seats-overview": ["enterprise", "org", "team"],
    "copilot-idle-seats": ["enterprise", "org", "team", "idle_days"],
    "copilot-usage": ["enterprise", "org", "team"],
    "copilot-exporter-health": ["job", "enterprise", "org"],
    "copilot-spend": ["enterprise", "org"],
}
# Series Prometheus itself attaches to every scrape target.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
# Grafana's defaults: the Prometheus datasource assumes a 15s scrape interval, so $__rate_interval is
# at least 4 x 15s; a panel is about 1000 pixels wide.
RATE_INTERVAL = "1m"
RANGE_SECONDS = 60
STEP_SECONDS = 2


def load(path: Path) -> Json:
    data: Json = json.loads(path.read_text())
    return data


DASHBOARDS = {path.name: load(path) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def panels(dashboard: Json) -> Iterator[Json]:
    """Every panel but rows, including those inside collapsed rows."""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def variables(dashboard: Json) -> dict[str, Json]:
    return {v["name"]: v for v in dashboard["templating"]["list"]}


# -- structure -------------------------------------------------------------------------------------


def test_the_dashboards_exist_and_are_generated_from_their_source() -> None:
    assert {d["uid"] for d in DASHBOARDS.values()} == UIDS
    assert sorted(DASHBOARDS) == sorted(f"{uid}.json" for uid in UIDS)
    check = subprocess.run(
        [sys.executable, str(REPO / "grafana" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_conventions(name: str) -> None:
    dashboard = DASHBOARDS[name]
    text = (DASHBOARD_DIR / name).read_text()
    # ${DS_...} inputs only work through the import screen; provisioning and the sidecar need a variable.
    assert "__inputs" not in dashboard
    assert "${DS_" not in text
    assert dashboard["id"] is None
    assert dashboard["uid"] in UIDS
    assert dashboard["title"]
    assert dashboard["description"]
    assert "github-copilot" in dashboard["tags"]
    assert dashboard["time"]["from"].startswith("now-")

    declared = variables(dashboard)
    assert list(declared) == ["datasource", *VARIABLES[dashboard["uid"]]]
    assert declared["datasource"]["type"] == "datasource"
    assert declared["datasource"]["query"] == "prometheus"
    chain: list[str] = []
    for var in declared.values():
        if var["type"] != "query":
            continue
        assert var["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, var["name"]
        assert var["includeAll"] is True, var["name"]
        # All of job must stay the exporter's jobs (the regex of the options): up{job=~".*"} would be
        # every target of the Prometheus. Elsewhere .* also matches the empty enterprise, org or team.
        assert var["allValue"] == (None if var["name"] == "job" else ".*"), var["name"]
        assert var["current"]["value"] == ["$__all"], var["name"]
        label_values_call(var["query"])
        # Chained: each query is narrowed by every variable before it.
        for earlier in chain:
            assert f"${earlier}" in var["query"], (var["name"], earlier)
        chain.append(var["name"])
    if "idle_days" in declared:
        assert declared["idle_days"]["current"]["value"] == "30"

    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        where = f"{name}: {panel['title']}"
        assert panel["description"], where
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel["targets"], where
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert target["expr"].strip(), where
            if "rate(" in target["expr"]:
                assert "[$__rate_interval]" in target["expr"] or "[$__range]" in target["expr"], where
        if panel["type"] in ("stat", "timeseries", "bargauge", "piechart", "gauge"):
            assert panel["fieldConfig"]["defaults"].get("unit"), where
        if panel["type"] == "table":
            for override in panel["fieldConfig"]["overrides"]:
                units = [p["value"] for p in override["properties"] if p["id"] == "unit"]
                assert len(units) == 1, (where, override["matcher"])
                assert units[0], (where, override["matcher"])
        if panel["type"] == "stat" or panel["type"] == "table":
            assert all(t["instant"] or panel["type"] == "stat" for t in panel["targets"]), where


def test_units_say_what_the_numbers_are() -> None:
    units = {
        (d["uid"], p["title"]): p["fieldConfig"]["defaults"]["unit"]
        for d in DASHBOARDS.values()
        for p in panels(d)
    }
    overview = "copilot-seats-overview"
    assert units[(overview, "Estimated monthly cost")] == "currencyUSD"
    assert units[(overview, "Cost of seats idle 30 days")] == "currencyUSD"
    assert units[(overview, "Utilization (30 days)")] == "percentunit"
    assert units[("copilot-idle-seats", "Longest idle")] == "d"
    idle_table = next(
        p
        for p in panels(DASHBOARDS["copilot-idle-seats.json"])
        if p["type"] == "table" and "$idle_days" in p["title"]
    )
    column_units = {
        o["matcher"]["options"]: o["properties"][0]["value"] for o in idle_table["fieldConfig"]["overrides"]
    }
    assert column_units["Idle days"] == "d"
    assert column_units["Assigned"] == "dateTimeAsIso"
    spend = "copilot-spend"
    assert units[(spend, "Net spend this month")] == "currencyUSD"
    assert units[(spend, "Projected month end")] == "currencyUSD"
    assert units[(spend, "AI credits used of included")] == "percentunit"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_fit_the_grid_without_overlapping(name: str) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in DASHBOARDS[name]["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] < pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{name}: {panel['title']} overlaps another panel"
        taken |= cells


def test_dashboards_link_each_other_and_the_docs() -> None:
    for dashboard in DASHBOARDS.values():
        urls = [link["url"] for link in dashboard["links"]]
        others = UIDS - {dashboard["uid"]}
        for uid in others:
            link = next(link for link in dashboard["links"] if link["url"].startswith(f"/d/{uid}/"))
            # Following a link keeps the selected organization, team and time range.
            assert link["includeVars"]
            assert link["keepTime"]
        assert DOCS_URL in urls


def test_provisioning_matches_the_compose_mounts() -> None:
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert datasources["apiVersion"] == 1
    (prometheus,) = datasources["datasources"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["name"] == "Prometheus"
    assert prometheus["uid"] == "prometheus"
    assert prometheus["access"] == "proxy"
    assert prometheus["url"] == "http://prometheus:9090"
    assert prometheus["isDefault"] is True

    providers = yaml.safe_load((PROVISIONING / "dashboards" / "copilot.yml").read_text())
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "GitHub Copilot"
    assert provider["options"] == {"path": "/var/lib/grafana/dashboards", "foldersFromFilesStructure": False}


# -- which metrics the queries use -----------------------------------------------------------------

PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label lists,
    label matchers, durations or Grafana variables."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\w+", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", expr):
        word, call = match.group(1), match.group(2)
        if not call and word not in PROMQL_WORDS:
            names.add(word)
    return names


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (org) (rate(a_total{org=~"$org", x="b c"}[$__rate_interval])) / on(org) group_left(team) '
        "b_info or on() vector(0) > $idle_days * 86400 unless c:rule:ratio"
    )
    assert metric_names(expr) == {"a_total", "b_info", "c:rule:ratio"}


def label_values_call(query: str) -> tuple[str, str]:
    """The series selector and the label name of a ``label_values(selector, label)`` variable query."""
    match = re.fullmatch(r"label_values\((.+), (\w+)\)", query)
    assert match, query
    return match.group(1), match.group(2)


def recorded_names() -> set[str]:
    names = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(Path(path).read_text()).get("groups", []):
            names |= {rule["record"] for rule in group.get("rules", []) if "record" in rule}
    return names


def all_queries(dashboard: Json) -> Iterator[str]:
    for var in variables(dashboard).values():
        if var["type"] == "query":
            yield label_values_call(var["query"])[0]
    for panel in panels(dashboard):
        for target in panel["targets"]:
            yield target["expr"]


# Labels that are empty on some series (organization targets, enterprise-level grants, direct
# assignments, the shared AI-credit pool, budgets without an entity).
CAN_BE_EMPTY = {"enterprise", "org", "team", "cost_center", "entity"}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_table_query_names_its_empty_labels(name: str) -> None:
    """Prometheus drops an empty label, so a query whose series all lack it would have one column less
    than the others and Grafana's merge would not line rows up: each is named in every query."""
    checked = 0
    for panel in panels(DASHBOARDS[name]):
        if panel["type"] != "table":
            continue
        (organize,) = [t for t in panel["transformations"] if t["id"] == "organize"]
        shown = set(organize["options"]["indexByName"]) & CAN_BE_EMPTY
        for target in panel["targets"]:
            for label in shown:
                named = rf'label_replace\(.*"{label}", "\([^"]+\)", "{label}", ""\)'
                assert re.search(named, target["expr"]), (panel["title"], label, target["expr"])
                checked += 1
    if name != "copilot-exporter-health.json":
        assert checked


def test_every_metric_a_query_uses_is_exposed_by_the_exporter_or_recorded() -> None:
    with start_exporter(["--demo", "--usage.enabled=auto"]) as exporter:
        exposition = exporter.metrics()
    # Families without samples (no failed poll yet) still appear in # TYPE lines.
    exposed = set(parse_exposition(exposition)) | set(re.findall(r"^# TYPE (\S+)", exposition, re.M))
    known = exposed | SCRAPE_SERIES | recorded_names()
    used = {name for d in DASHBOARDS.values() for q in all_queries(d) for name in metric_names(q)}
    assert "github_copilot_seat_idle_seconds" in used
    assert used - known == set()


# -- live: a real Prometheus scraping the exporter -------------------------------------------------


@dataclass
class Prometheus:
    url: str

    def api(self, path: str, **params: str | list[str]) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        assert body["status"] == "success", (path, params, body)
        return body["data"]

    def instant(self, expr: str) -> list[Json]:
        data = self.api("query", query=expr)
        result: list[Json] = data["result"]
        return result

    def range(self, expr: str) -> list[Json]:
        end = time.time()
        data = self.api(
            "query_range",
            query=expr,
            start=str(end - RANGE_SECONDS),
            end=str(end),
            step=str(STEP_SECONDS),
        )
        result: list[Json] = data["result"]
        return result

    def label_values(self, selector: str, label: str) -> list[str]:
        end = time.time()
        values: list[str] = self.api(
            f"label/{label}/values", **{"match[]": selector, "start": str(end - 3600), "end": str(end)}
        )
        return values


@contextlib.contextmanager
def run_prometheus(target: str) -> Iterator[Prometheus]:
    binary = need_binary("prometheus")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="prometheus-") as tmp:
        workdir = Path(tmp)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": RULE_FILES,
            "scrape_configs": [
                {"job_name": "github-copilot-exporter", "static_configs": [{"targets": [target]}]}
            ],
        }
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        command = [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir}/data",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        with run_process("prometheus", command, workdir) as process:
            prometheus = Prometheus(f"http://127.0.0.1:{port}")
            wait_until(process.ready_or_exited(prometheus.url), 30, what="Prometheus to be ready")
            assert process.process.poll() is None, process.log()
            loaded = prometheus.api("rules")["groups"]
            assert len(loaded) >= (1 if RULE_FILES else 0), "rule files did not load"
            yield prometheus


@pytest.fixture(scope="module")
def prometheus() -> Iterator[Prometheus]:
    """Prometheus scraping the exporter in demo mode every second, once it holds a few scrapes: rate()
    needs two samples in its window, and the range queries a few steps with data."""
    demo = ["--demo", "--usage.enabled=auto"]
    with start_exporter(demo) as exporter, run_prometheus(f"127.0.0.1:{exporter.port}") as prom:

        def enough_history() -> bool:
            samples = prom.instant('count_over_time(up{job="github-copilot-exporter"}[1m])')
            return bool(samples) and float(samples[0]["value"][1]) >= 5

        wait_until(enough_history, 60, interval=0.5, what="five scrapes of the exporter")
        yield prom


def regex_escape(value: str) -> str:
    """Grafana's escaping of a single selected value in a Prometheus regex matcher."""
    return re.sub(r"[\\^$*+?.()|{}\[\]]", lambda m: "\\" + m.group(0), value)


@dataclass
class Resolved:
    """What Grafana substitutes for each variable, and the options each query variable offers."""

    values: dict[str, str]
    options: dict[str, list[str]]

    def interpolate(self, expr: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            assert name in self.values, f"unknown variable ${name} in {expr}"
            return self.values[name]

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


def resolve(prom: Prometheus, dashboard: Json, selected: Mapping[str, str]) -> Resolved:
    """Grafana's variable handling: query variables in order, each narrowed by those before it; a
    selected value must be among the options and is regex-escaped; All is the allValue or, without one,
    the regex of every option; a custom variable is its value; built-ins as Grafana computes them for
    the dashboard's default time range."""
    from_seconds = duration_seconds(dashboard["time"]["from"].removeprefix("now-"))
    resolved = Resolved(
        {"__rate_interval": RATE_INTERVAL, "__range": f"{from_seconds}s", "__interval": f"{STEP_SECONDS}s"},
        {},
    )
    for name, var in variables(dashboard).items():
        if var["type"] == "query":
            selector, label = label_values_call(resolved.interpolate(var["query"]))
            options = resolved.options[name] = prom.label_values(selector, label)
            if name in selected:
                assert selected[name] in options, (name, selected[name], options)
                resolved.values[name] = regex_escape(selected[name])
            elif var["allValue"]:
                resolved.values[name] = var["allValue"]
            else:
                resolved.values[name] = "(" + "|".join(regex_escape(o) for o in options) + ")"
        elif var["type"] in ("custom", "textbox"):
            resolved.values[name] = selected.get(name, var["current"]["value"])
    return resolved


def duration_seconds(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smhdw])", text).groups()  # type: ignore[union-attr]
    return int(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


def check_panels(prom: Prometheus, dashboard: Json, selected: Mapping[str, str]) -> None:
    resolved = resolve(prom, dashboard, selected)
    empty = []
    for panel in panels(dashboard):
        label_sets: list[frozenset[str]] = []
        for target in panel["targets"]:
            expr = resolved.interpolate(target["expr"])
            where = f"{dashboard['uid']}: {panel['title']} [{target['refId']}] {expr}"
            result = prom.instant(expr)
            if not result:
                empty.append(where)
            for series in result:
                assert series["value"][1] not in ("NaN", "+Inf", "-Inf"), where
            label_sets.append(frozenset().union(*(s["metric"] for s in result)))
            if target["range"] and not any(series["values"] for series in prom.range(expr)):
                empty.append(f"{where} (range)")
        if any(t["id"] == "merge" for t in panel.get("transformations", [])):
            # Grafana turns each query into one table whose columns are the union of its series' labels
            # (a missing label is an empty cell), then merges the tables on those columns: every query
            # must yield the same columns or rows would not line up.
            assert len(set(label_sets)) == 1, f"{panel['title']}: {label_sets}"
    assert not empty, "panels without data:\n" + "\n".join(empty)


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_query_returns_values(prometheus: Prometheus, name: str) -> None:
    dashboard = DASHBOARDS[name]
    options = resolve(prometheus, dashboard, {}).options
    assert set(options) == {n for n, v in variables(dashboard).items() if v["type"] == "query"}
    for var_name, values in options.items():
        assert values, var_name
        assert all(values), (var_name, values)
    if "job" in options:
        assert options["job"] == ["github-copilot-exporter"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_shows_data_with_all_selected(prometheus: Prometheus, name: str) -> None:
    check_panels(prometheus, DASHBOARDS[name], {})


SEATS_SELECTED = 'sum(github_copilot_seats{enterprise=~"$enterprise", org=~"$org", team=~"$team"})'


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["copilot-seats-overview.json", "copilot-idle-seats.json"])
def test_every_panel_shows_data_for_one_organization_and_team(prometheus: Prometheus, name: str) -> None:
    """Choosing from the chained variables narrows every panel without emptying any."""
    dashboard = DASHBOARDS[name]
    everything = resolve(prometheus, dashboard, {})
    assert {"octodemo", "octodemo-data"} <= set(everything.options["org"])
    one_team = resolve(prometheus, dashboard, {"org": "octodemo", "team": "backend"})
    # The team list follows the organization: the enterprise's own team is not octodemo's.
    assert "all-engineers" in everything.options["team"]
    assert "all-engineers" not in one_team.options["team"]
    check_panels(prometheus, dashboard, {"org": "octodemo", "team": "backend"})

    def seats(resolved: Resolved) -> float:
        return float(prometheus.instant(resolved.interpolate(SEATS_SELECTED))[0]["value"][1])

    assert 0 < seats(one_team) < seats(everything)


@pytest.mark.e2e
def test_idle_threshold_selects_the_idle_seats_and_prices_them(prometheus: Prometheus) -> None:
    dashboard = DASHBOARDS["copilot-idle-seats.json"]
    by_title = {p["title"]: p["targets"][0]["expr"] for p in panels(dashboard)}

    def figure(expr: str, **selected: str) -> float:
        (sample,) = prometheus.instant(resolve(prometheus, dashboard, selected).interpolate(expr))
        return float(sample["value"][1])

    seats = figure("count(github_copilot_seat_info)")
    total_cost = figure("sum(github_copilot_estimated_monthly_cost_usd)")
    count, cost = by_title["Seats idle > $idle_days days"], by_title["Monthly cost of idle seats"]
    # Every seat has been idle for more than 0 days, so the per-seat prices must add up to the cost the
    # exporter computes from the aggregates; nobody has been idle for 270 years.
    assert figure(count, idle_days="0") == seats
    assert figure(cost, idle_days="0") == pytest.approx(total_cost)
    assert figure(count, idle_days="100000") == 0
    assert figure(cost, idle_days="100000") == 0
    # The default lies between. Unlike the exporter's 30d window, a seat never used but assigned less
    # than 30 days ago is not idle for more than 30 days: at most as many seats as the window says.
    idle_30 = figure(count)
    not_active_30d = seats - figure('sum(github_copilot_seats_active{window="30d"})')
    assert 0 < idle_30 <= not_active_30d
    assert 0 < figure(cost) <= figure('sum(github_copilot_idle_seats_monthly_cost_usd{window="30d"})')


@pytest.mark.e2e
def test_the_project_rules_evaluate_against_the_same_exporter(prometheus: Prometheus) -> None:
    if not RULE_FILES:
        pytest.skip("no rule files in deploy/prometheus yet")

    def rules() -> list[Json]:
        return [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]

    wait_until(lambda: all(r["health"] != "unknown" for r in rules()), 30, what="every rule to be evaluated")
    broken = [(r["name"], r.get("lastError")) for r in rules() if r["health"] != "ok"]
    assert not broken


@pytest.mark.e2e
@pytest.mark.parametrize("selected", [{"org": "octodemo"}, {"enterprise": "octodemo-enterprise"}])
def test_every_spend_panel_shows_data_for_one_organization_or_enterprise(
    prometheus: Prometheus, selected: dict[str, str]
) -> None:
    check_panels(prometheus, DASHBOARDS["copilot-spend.json"], selected)
