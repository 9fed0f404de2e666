"""The alerting rules and the Prometheus / Alertmanager examples, checked by their own tools, and the live
chain: the exporter polling the fake GitHub, a real Prometheus evaluating the project's rules, a real
Alertmanager routing what fires."""

from __future__ import annotations

import calendar
import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from exporter.demo.fake_billing import FakeBillingWorld, FakeBudget, fake_account
from tests.fakegithub.fake_github import FakeGitHub, FakeOrg, FakeSeat
from tests.support import (
    NOW,
    REPO,
    TOKEN,
    Process,
    RunningExporter,
    ago,
    free_port,
    need_binary,
    run_process,
    serve_fake,
    start_exporter,
    wait_until,
)

PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "copilot-rules.yml"
RULES_TESTS = PROMETHEUS_DIR / "copilot-rules.test.yml"
#: Tests over whole months, at an hourly step (copilot-rules.test.yml steps by the minute).
MONTH_RULES_TESTS = PROMETHEUS_DIR / "copilot-rules.months.test.yml"
PROMETHEUS_YML = PROMETHEUS_DIR / "prometheus.yml"
ALERTMANAGER_YML = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
ALERTS_DOC = REPO / "docs" / "alerts.md"
RUNBOOK_BASE = "https://github.com/github-copilot-exporter/github-copilot-exporter/blob/main/docs/alerts.md#"
RECLAIM_DOC = REPO / "docs" / "reclaim.md"
#: The idle-seat alerts link to the reclaim plan as well as to their runbook.
RECLAIM_ALERTS = {"CopilotSeatIdle", "CopilotIdleSeatsHigh"}
JOB = "github-copilot-exporter"

Json = dict[str, Any]

# The contract of the issue: each alert and its severity.
REQUIRED_ALERTS = {
    "CopilotSeatIdle": "warning",
    "CopilotIdleSeatsHigh": "warning",
    "CopilotExporterPollFailing": "warning",
    "CopilotExporterDataStale": "warning",
    "CopilotExporterDown": "critical",
    "CopilotExporterSeatSeriesDropped": "warning",
    "CopilotAPIRateLimitLow": "warning",
    "CopilotSpendForecastOverBudget": "warning",
    "CopilotAICreditPoolExhausted": "warning",
    "CopilotAICreditPoolRunningOut": "warning",
    "CopilotBillingDataStale": "warning",
    "CopilotUsageReportStale": "warning",
    "CopilotAdoptionLow": "warning",
    "CopilotUserAICreditsHigh": "info",
}
#: Alerts with a rule per severity.
SEVERITIES = {"CopilotBudgetNearlyExhausted": {"warning", "critical"}}
SEAT_RECEIVER = "copilot-seat-owners"
BILLING_ALERTS = (
    "CopilotBudgetNearlyExhausted",
    "CopilotSpendForecastOverBudget",
    "CopilotAICreditPoolExhausted",
    "CopilotAICreditPoolRunningOut",
)
OPERATOR_RECEIVER = "copilot-operators"
FINOPS_RECEIVER = "copilot-finops"


def alertmanager_binary() -> str:
    # Debian installs Alertmanager as prometheus-alertmanager; upstream archives call it alertmanager.
    return (
        shutil.which("prometheus-alertmanager")
        or shutil.which("alertmanager")
        or need_binary("prometheus-alertmanager")
    )


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def rules() -> list[Json]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alerts() -> dict[str, Json]:
    """Alert rules by name (of an alert with a rule per severity, the last)."""
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def alert_rules() -> list[Json]:
    return [rule for rule in rules() if "alert" in rule]


def duration_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w)", text)
    assert "".join(n + u for n, u in parts) == text != "", f"not a Prometheus duration: {text}"
    return sum(int(n) * units[u] for n, u in parts)


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


# -- the tools' own checks -------------------------------------------------------------------------


def test_rules_pass_promtool_check_with_every_lint() -> None:
    promtool = need_binary("promtool")
    result = run_tool(promtool, "check", "rules", "--lint=all", "--lint-fatal", str(RULES))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"SUCCESS: {len(rules())} rules found" in output, output


def test_rule_unit_tests_pass() -> None:
    promtool = need_binary("promtool")
    result = run_tool(promtool, "test", "rules", str(RULES_TESTS), str(MONTH_RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_prometheus_example_passes_promtool_check_config() -> None:
    promtool = need_binary("promtool")
    result = run_tool(promtool, "check", "config", "--lint=all", str(PROMETHEUS_YML))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The rules file is found next to the configuration and checked with it.
    assert "SUCCESS: 1 rule files found" in output, output
    assert f"SUCCESS: {len(rules())} rules found" in output, output


def test_alertmanager_example_passes_amtool_check_config() -> None:
    amtool = need_binary("amtool")
    result = run_tool(amtool, "check-config", str(ALERTMANAGER_YML))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=CopilotSeatIdle", "severity=warning", "org=acme", "team=platform", "user=ian"],
            SEAT_RECEIVER,
        ),
        (
            ["alertname=CopilotSeatIdle", "severity=warning", "enterprise=acme-corp", "user=erin"],
            SEAT_RECEIVER,
        ),
        (["alertname=CopilotIdleSeatsHigh", "severity=warning", "org=acme"], SEAT_RECEIVER),
        (["alertname=CopilotExporterDown", "severity=critical", f"job={JOB}"], OPERATOR_RECEIVER),
        (["alertname=CopilotExporterPollFailing", "severity=warning", "org=acme"], OPERATOR_RECEIVER),
        (["alertname=CopilotExporterDataStale", "severity=warning", "org=acme"], OPERATOR_RECEIVER),
        (["alertname=CopilotAPIRateLimitLow", "severity=warning", "resource=core"], OPERATOR_RECEIVER),
        (["alertname=CopilotExporterSeatSeriesDropped", "severity=warning"], OPERATOR_RECEIVER),
        (["alertname=CopilotBillingDataStale", "severity=warning", "org=acme"], OPERATOR_RECEIVER),
        (["alertname=CopilotBudgetNearlyExhausted", "severity=critical", "budget_id=b1"], FINOPS_RECEIVER),
        (["alertname=CopilotSpendForecastOverBudget", "severity=warning", "org=acme"], FINOPS_RECEIVER),
        (["alertname=CopilotAICreditPoolExhausted", "severity=warning", "cost_center=web"], FINOPS_RECEIVER),
        (["alertname=CopilotAICreditPoolRunningOut", "severity=warning", "org=acme"], FINOPS_RECEIVER),
        (["alertname=CopilotUsageReportStale", "severity=warning", "org=acme"], OPERATOR_RECEIVER),
        (["alertname=CopilotAdoptionLow", "severity=warning", "org=acme"], SEAT_RECEIVER),
        (["alertname=CopilotUserAICreditsHigh", "severity=info", "org=acme", "user=ian"], FINOPS_RECEIVER),
    ],
)
def test_alertmanager_routes_each_alert_to_its_receiver(labels: list[str], receiver: str) -> None:
    amtool = need_binary("amtool")
    result = run_tool(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_YML}",
        f"--verify.receivers={receiver}",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the contract of the rules and the examples ----------------------------------------------------


def test_alerts_follow_the_mixin_conventions_and_link_their_runbook() -> None:
    found = alerts()
    severities: dict[str, set[str]] = {}
    for rule in alert_rules():
        severities.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    assert severities == {**{name: {level} for name, level in REQUIRED_ALERTS.items()}, **SEVERITIES}
    headings = {
        github_anchor(line.lstrip("#"))
        for line in ALERTS_DOC.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        name = rule["alert"]
        extra = {"reclaim_url"} if name in RECLAIM_ALERTS else set()
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url", *extra}, name
        if extra:
            page, _, anchor = rule["annotations"]["reclaim_url"].partition("#")
            assert page == RUNBOOK_BASE.removesuffix("alerts.md#") + "reclaim.md", name
            reclaim_headings = {
                github_anchor(line.lstrip("#"))
                for line in RECLAIM_DOC.read_text().splitlines()
                if line.startswith("#")
            }
            assert anchor in reclaim_headings, f"docs/reclaim.md has no section {anchor}"
        assert "{{" not in rule["annotations"]["summary"], f"{name}: the summary is a static sentence"
        assert "{{" in rule["annotations"]["description"], f"{name}: the description shows the values"
        url = rule["annotations"]["runbook_url"]
        assert url == RUNBOOK_BASE + name.lower(), name
        assert name.lower() in headings, f"docs/alerts.md has no section for {name}"

    idle = found["CopilotSeatIdle"]
    assert duration_seconds(idle["for"]) <= 3600
    assert "group_left (team" in idle["expr"], "the team comes from github_copilot_seat_info"
    assert duration_seconds(found["CopilotExporterPollFailing"]["for"]) == 30 * 60
    assert duration_seconds(found["CopilotExporterDown"]["for"]) == 5 * 60
    assert f'up{{job="{JOB}"}}' in found["CopilotExporterDown"]["expr"]


def test_recording_rules_are_named_level_metric_operations() -> None:
    recorded = [rule["record"] for rule in rules() if "record" in rule]
    assert "org:github_copilot_seats_active:ratio" in recorded
    assert "org_team:github_copilot_seats_active:ratio" in recorded
    assert "seat:github_copilot_seat_idle_seconds:days" in recorded
    for name in recorded:
        level, metric, operations = name.split(":")
        assert re.fullmatch(r"[a-z_]+", level), name
        assert re.fullmatch(r"[a-z_]+", operations), name
        # The middle part names a metric the exporter exposes.
        assert metric.startswith("github_copilot_"), name
    assert len(recorded) == len(set(recorded))


def test_every_alert_has_unit_tests_that_fire_and_that_stay_silent() -> None:
    cases = yaml.safe_load(RULES_TESTS.read_text())["tests"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    every = set(REQUIRED_ALERTS) | set(SEVERITIES)
    assert fires == every, every - fires
    assert silent == every, every - silent


def test_prometheus_example_scrapes_the_job_the_down_alert_watches() -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    assert config["rule_files"] == [RULES.name]
    (job,) = config["scrape_configs"]
    assert job["job_name"] == JOB
    assert job["static_configs"] == [{"targets": ["github-copilot-exporter:9185"]}]
    assert duration_seconds(job["scrape_timeout"]) <= duration_seconds(job["scrape_interval"])
    # Well inside the 5-minute staleness window, so a series never vanishes between two scrapes.
    assert duration_seconds(job["scrape_interval"]) <= 120
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_idle_seat_notifications_are_grouped_by_team_and_not_repeated_daily() -> None:
    route = yaml.safe_load(ALERTMANAGER_YML.read_text())["route"]
    (seats,) = [r for r in route["routes"] if r["receiver"] == SEAT_RECEIVER]
    assert {"org", "team"} <= set(seats["group_by"])
    assert duration_seconds(seats["repeat_interval"]) >= 86400
    assert duration_seconds(seats["group_interval"]) >= 12 * 3600


# -- live: exporter -> Prometheus -> Alertmanager --------------------------------------------------


@dataclass
class AlertingStack:
    exporter: RunningExporter
    prometheus_url: str
    alertmanager_url: str
    processes: list[Process]

    def logs(self) -> str:
        return "\n".join(
            [f"--- exporter log ---\n{self.exporter.log()[-4000:]}", *(p.log() for p in self.processes)]
        )

    def wait(self, check: Callable[[], bool], what: str, timeout: float = 60) -> None:
        try:
            wait_until(check, timeout, interval=0.5, what=what)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def alertmanager_alerts(self) -> list[Json]:
        response = httpx.get(f"{self.alertmanager_url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
        found: list[Json] = response.json()
        return found

    def query(self, expr: str) -> list[Json]:
        response = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        response.raise_for_status()
        result: list[Json] = response.json()["data"]["result"]
        return result


def live_dataset() -> FakeGitHub:
    """``acme``: ian idle 45 days (team platform), ned never used since his assignment 40 days ago
    (assigned directly), ada active yesterday (team platform)."""

    def used(login: str, user_id: int, days_ago: float) -> FakeSeat:
        last = ago(days=days_ago)
        editor = "vscode/1.95.0/copilot/1.250.0"
        return FakeSeat(
            login,
            user_id,
            ago(days=200),
            org="acme",
            team="platform",
            last_activity_at=last,
            last_activity_editor=editor,
            last_authenticated_at=last,
        )

    seats = [used("ian", 101, 45), FakeSeat("ned", 102, ago(days=40), org="acme"), used("ada", 103, 1)]
    return FakeGitHub([FakeOrg(login="acme", id=1, seats=seats)], [], token=TOKEN, billing=live_billing())


def live_billing() -> FakeBillingWorld:
    """``acme``'s billing: 3 seats using far more AI credits than their pool includes, a budget 99% spent
    (so the month's rate overruns it) and a spent budget that blocks further use."""
    now = NOW.timestamp()  # the moment the seats' dates are drawn from
    world = FakeBillingWorld(now=now)
    acme = world.add(fake_account("org", "acme", now=now, seed=1, seats=3, credits_per_seat_day=20_000))
    acme.budgets = [
        FakeBudget("b-near", "user", "ai_credits", 10, user="ada", consumed_amount=9.9),
        FakeBudget("b-block", "user", "ai_credits", 25, user="ian", consumed_amount=30.0,
                   prevent_further_usage=True),
    ]  # fmt: skip
    return world


def expected_spend_alerts(now: float) -> set[tuple[str, str, str]]:
    """The spend alerts of ``live_billing`` when Prometheus evaluates at ``now``: a budget 99% spent
    runs out before the month does except on its last day (the rules count whole days billed, today
    included), and the pool alert waits for the 2nd of the month."""
    moment = datetime.fromtimestamp(now, UTC)
    expected = {
        ("CopilotBudgetNearlyExhausted", "warning", "b-near"),
        ("CopilotBudgetNearlyExhausted", "critical", "b-block"),
    }
    if moment.day < calendar.monthrange(moment.year, moment.month)[1]:
        expected.add(("CopilotSpendForecastOverBudget", "warning", "b-near"))
    if moment.day > 1:
        expected.add(("CopilotAICreditPoolExhausted", "warning", ""))
    return expected


def live_rules(workdir: Path) -> Path:
    """The project's rules file with the seat and spend alerts' ``for`` shortened to seconds; the
    exporter alerts keep theirs, so a healthy exporter must not raise any of them."""
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in ("CopilotSeatIdle", "CopilotIdleSeatsHigh", *BILLING_ALERTS):
                rule["for"] = "2s"
    path = workdir / "rules.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def live_prometheus_config(
    workdir: Path, rules_path: Path, exporter_port: int, alertmanager_port: int
) -> Path:
    """The example prometheus.yml pointed at loopback, scraping and evaluating every second."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules_path)]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [
        {"targets": [f"127.0.0.1:{alertmanager_port}"]}
    ]
    (job,) = config["scrape_configs"]
    job.update(
        scrape_interval="1s",
        scrape_timeout="1s",
        static_configs=[{"targets": [f"127.0.0.1:{exporter_port}"]}],
    )
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def live_alertmanager_config(workdir: Path) -> Path:
    """The example alertmanager.yml with its routes and inhibitions, and receivers that send nothing (the
    placeholders' addresses do not exist): the test reads what was routed where from the API."""
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    config["receivers"] = [{"name": receiver["name"]} for receiver in config["receivers"]]
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.contextmanager
def prometheus_and_alertmanager(
    workdir: Path, rules_path: Path, exporter_port: int
) -> Iterator[tuple[str, str, list[Process]]]:
    """Alertmanager with the example routing, and Prometheus scraping the exporter on ``exporter_port``
    with ``rules_path``, both ready: Prometheus's URL, Alertmanager's, and the two processes."""
    prometheus = need_binary("prometheus")
    alertmanager = alertmanager_binary()
    prometheus_port, am_port = free_port(), free_port()
    prometheus_yml = live_prometheus_config(workdir, rules_path, exporter_port, am_port)
    with (
        run_process(
            "alertmanager",
            [
                alertmanager,
                f"--config.file={live_alertmanager_config(workdir)}",
                f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            workdir,
        ) as am,
        run_process(
            "prometheus",
            [
                prometheus,
                f"--config.file={prometheus_yml}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            workdir,
        ) as prom,
    ):
        prometheus_url, am_url = f"http://127.0.0.1:{prometheus_port}", f"http://127.0.0.1:{am_port}"
        for process, url in ((am, am_url), (prom, prometheus_url)):
            try:
                wait_until(process.ready_or_exited(url), 30, interval=0.5, what=f"{process.name} to be ready")
            except TimeoutError as exc:
                raise AssertionError(f"{exc}\n{process.log()}") from None
            assert process.process.poll() is None, f"{process.name} exited\n{process.log()}"
        yield prometheus_url, am_url, [am, prom]


@pytest.fixture
def alerting_stack(tmp_path: Path) -> Iterator[AlertingStack]:
    exporter_args = ["--org", "acme", "--github.api-url"]
    with (
        serve_fake(live_dataset()) as fake,
        start_exporter([*exporter_args, fake.url], {"GITHUB_TOKEN": TOKEN}) as exporter,
        prometheus_and_alertmanager(tmp_path, live_rules(tmp_path), exporter.port) as (prom, am, processes),
    ):
        yield AlertingStack(exporter, prom, am, processes)


@pytest.mark.e2e
def test_idle_seat_reaches_alertmanager_with_org_and_team(alerting_stack: AlertingStack) -> None:
    stack = alerting_stack

    def seat_alerts() -> dict[str, Json]:
        return {
            alert["labels"]["user"]: alert
            for alert in stack.alertmanager_alerts()
            if alert["labels"]["alertname"] == "CopilotSeatIdle"
        }

    stack.wait(
        lambda: {"ian", "ned"} <= set(seat_alerts()), "CopilotSeatIdle for ian and ned in Alertmanager"
    )
    # ada's seat is evaluated by the same rule in the same evaluation as ian's: had it matched, it would
    # have arrived with them.
    found = seat_alerts()
    assert set(found) == {"ian", "ned"}, stack.logs()

    ian = found["ian"]
    assert ian["labels"] | {"instance": ""} == {
        "alertname": "CopilotSeatIdle",
        "severity": "warning",
        "job": JOB,
        "instance": "",
        "org": "acme",
        "user": "ian",
        "team": "platform",
        "plan_type": "business",
    }
    assert ian["labels"]["instance"] == f"127.0.0.1:{stack.exporter.port}"
    assert ian["annotations"]["description"].startswith(
        "ian has not used the Copilot seat of organization acme, assigned through team platform, for 45 days"
    )
    assert ian["annotations"]["runbook_url"] == RUNBOOK_BASE + "copilotseatidle"
    assert ian["status"]["state"] == "active"
    assert [r["name"] for r in ian["receivers"]] == [SEAT_RECEIVER]

    # Never used: idle since the assignment; assigned directly, so no team.
    ned = found["ned"]
    assert "team" not in ned["labels"]
    assert ned["labels"]["org"] == "acme"
    assert "assigned directly, for 40 days" in ned["annotations"]["description"]

    # Two of three seats idle: the organization's share alert, its cost read from the exporter's metrics.
    stack.wait(
        lambda: any(a["labels"]["alertname"] == "CopilotIdleSeatsHigh" for a in stack.alertmanager_alerts()),
        "CopilotIdleSeatsHigh in Alertmanager",
    )
    (share,) = [a for a in stack.alertmanager_alerts() if a["labels"]["alertname"] == "CopilotIdleSeatsHigh"]
    assert share["labels"]["org"] == "acme"
    assert share["annotations"]["description"] == (
        "66.67% of the Copilot seats of organization acme (2 of 3) had no activity in the last 30 days; "
        "they cost 38.00 USD a month."
    )
    assert [r["name"] for r in share["receivers"]] == [SEAT_RECEIVER]

    # The recording rules on real data, and a healthy exporter raises none of its own alerts.
    (ratio,) = stack.query('org:github_copilot_seats_active:ratio{org="acme",window="30d"}')
    assert float(ratio["value"][1]) == pytest.approx(1 / 3)
    days = {
        s["metric"]["user"]: float(s["value"][1])
        for s in stack.query("seat:github_copilot_seat_idle_seconds:days")
    }
    assert days["ian"] == pytest.approx(45, abs=0.1)
    assert days["ada"] == pytest.approx(1, abs=0.1)
    names = {a["labels"]["alertname"] for a in stack.alertmanager_alerts()}
    assert names - set(BILLING_ALERTS) == {"CopilotSeatIdle", "CopilotIdleSeatsHigh"}, stack.logs()


@pytest.mark.e2e
def test_budget_forecast_and_pool_alerts_reach_the_finops_receiver(alerting_stack: AlertingStack) -> None:
    stack = alerting_stack

    def spend_alerts() -> set[tuple[str, str, str]]:
        return {
            (a["labels"]["alertname"], a["labels"]["severity"], a["labels"].get("budget_id", ""))
            for a in stack.alertmanager_alerts()
            if a["labels"]["alertname"] in BILLING_ALERTS
        }

    # Prometheus evaluates on the real clock: what is expected is worked out from it at each look, so
    # that the test holds on a 1st, a month's last day and across midnight UTC.
    stack.wait(
        lambda: expected_spend_alerts(time.time()) <= spend_alerts(),
        f"{expected_spend_alerts(time.time())} in Alertmanager",
    )
    found = [a for a in stack.alertmanager_alerts() if a["labels"]["alertname"] in BILLING_ALERTS]
    for alert in found:
        assert [r["name"] for r in alert["receivers"]] == [FINOPS_RECEIVER], alert
        assert alert["labels"]["org"] == "acme"
    # The exhausted budget that blocks use inhibits its own 80% warning; it was never one.
    assert ("CopilotBudgetNearlyExhausted", "warning", "b-block") not in spend_alerts()
    # acme's pool is used up already: that is CopilotAICreditPoolExhausted's, not a forecast.
    assert ("CopilotAICreditPoolRunningOut", "warning", "") not in spend_alerts()
    for pool in (a for a in found if a["labels"]["alertname"] == "CopilotAICreditPoolExhausted"):
        assert pool["annotations"]["description"].startswith("Organization acme has used ")
        assert "cost_center" not in pool["labels"]  # the org's own pool (an empty label is no label)
    # The recording rules on the same data.
    (projected,) = stack.query('target:github_copilot_billing_net_amount_usd:projected_month_end{org="acme"}')
    (net,) = stack.query('sum(github_copilot_billing_net_amount_usd{org="acme",period="month"})')
    assert float(projected["value"][1]) >= float(net["value"][1]) > 0
    (cost,) = stack.query('target:github_copilot_estimated_monthly_cost_usd:with_metered{org="acme"}')
    assert float(cost["value"][1]) > 3 * 19
