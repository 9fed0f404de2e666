"""``backfill`` against the fake GitHub's 60 days of reports and billing, through Debian's promtool into
TSDB blocks, and a real Prometheus answering range queries on those blocks.

Expected values come from the fake over HTTP (tests/backfill_support.py), never from the exporter's
code; every usage and spend dashboard query runs over the backfilled range.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG
from tests.backfill_support import (
    HistoryFakes,
    config_file,
    day_stamp,
    days,
    entity_record,
    history_fakes,
    net_ai_credit_spend,
)
from tests.clock import today as real_today
from tests.support import (
    REPO,
    TOKEN,
    exporter_command,
    exporter_env,
    free_port,
    need_binary,
    run_exporter_cli,
    run_process,
    wait_until,
)

pytestmark = pytest.mark.e2e
NOW = real_today().timestamp()  # the backfill command runs on the real clock
TODAY = datetime.fromtimestamp(NOW, UTC).date()
LAST = TODAY - timedelta(days=4)  # the newest final day
FIRST = LAST - timedelta(days=59)
ORG_FIRST_REPORT = FIRST + timedelta(days=2)
TARGETS = (("org", DEMO_ORG), ("enterprise", DEMO_ENTERPRISE))
DAY = 86400
#: Series GitHub keeps no history of: the seat list, budgets, AI-credit pools and month-to-date spend
#: describe the present only, so a backfill cannot have them (docs/history.md).
LIVE_ONLY = re.compile(
    r"github_copilot_(seats|estimated_monthly_cost_usd|budget_\w+|ai_credits_\w+)\b|period=\"month\""
)


@pytest.fixture(scope="module")
def fakes() -> Iterator[HistoryFakes]:
    yield from history_fakes(NOW, FIRST - timedelta(days=40), ORG_FIRST_REPORT)


def _args(fakes: HistoryFakes, tmp: Path, first: date, last: date, output: Path) -> list[str]:
    return [
        "backfill", "--config", str(config_file(tmp, fakes)), "--github.api-url", fakes.api,
        "--usage.enabled=true", "--from", first.isoformat(), "--to", last.isoformat(),
        "--output", str(output),
    ]  # fmt: skip


def _backfill(args: list[str]) -> subprocess.CompletedProcess[str]:
    return run_exporter_cli(args, {"GITHUB_TOKEN": TOKEN}, timeout=600)


def _blocks(source: Path, blocks: Path) -> None:
    promtool = need_binary("promtool")
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", str(source),
         str(blocks)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _dump(blocks: Path) -> list[str]:
    promtool = need_binary("promtool")
    (blocks / "wal").mkdir(exist_ok=True)  # dump reads the head too, which a directory of blocks lacks
    done = subprocess.run(
        [promtool, "tsdb", "dump", str(blocks)], capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.splitlines())


@contextlib.contextmanager
def _prometheus_on(blocks: Path) -> Iterator[str]:
    binary = need_binary("prometheus")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="prometheus-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text("global: {}\n")
        command = [
            binary, f"--config.file={config}", f"--storage.tsdb.path={blocks}",
            # Blocks older than the retention are deleted at start: the default 15d would drop the backfill.
            "--storage.tsdb.retention.time=400d", f"--web.listen-address=127.0.0.1:{port}",
        ]  # fmt: skip
        with run_process("prometheus", command, Path(tmp)) as process:
            url = f"http://127.0.0.1:{port}"
            wait_until(process.ready_or_exited(url), 60, what="Prometheus on the blocks")
            assert process.process.poll() is None, process.log()
            yield url


def _range(url: str, expr: str, first: date, last: date) -> list[dict[str, Any]]:
    """``expr`` at 00:00 UTC after each day's stamp: 1d steps aligned to UTC midnight, as the panels."""
    answer = httpx.get(
        f"{url}/api/v1/query_range",
        params={
            "query": expr,
            "start": str(day_stamp(first) + 2 * DAY),
            "end": str(day_stamp(last) + 2 * DAY),
            "step": str(DAY),
        },
        timeout=60,
    ).json()
    assert answer["status"] == "success", (expr, answer)
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _by_day(series: dict[str, Any]) -> dict[date, float]:
    return {datetime.fromtimestamp(t - 2 * DAY, UTC).date(): float(v) for t, v in series["values"]}


def _labels(kind: str, name: str) -> str:
    return f'enterprise="{name if kind == "enterprise" else ""}", org="{name if kind == "org" else ""}"'


@pytest.fixture(scope="module")
def backfilled(fakes: HistoryFakes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("backfill")
    output = tmp / "history.om"
    done = _backfill(_args(fakes, tmp, FIRST, LAST, output))
    assert done.returncode == 0, done.stderr
    _blocks(output, tmp / "blocks")
    with _prometheus_on(tmp / "blocks") as url:
        yield url, done.stderr


def test_the_summary_counts_the_days_and_the_days_without_a_report(backfilled: tuple[str, str]) -> None:
    _, log = backfilled
    (line,) = [line for line in log.splitlines() if 'msg="backfill finished"' in line]
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    assert fields["days"] == "60"
    assert fields["days_without_report"] == "2"  # the organization's first two days
    assert fields["failed"] == "0"
    assert int(fields["samples"]) > 0
    assert int(fields["series"]) > 0
    assert int(fields["requests"]) > 60 * 2 * 4
    assert len([line for line in log.splitlines() if 'msg="day written"' in line]) == 60


@pytest.mark.parametrize(("kind", "name"), TARGETS)
def test_prometheus_on_the_blocks_answers_each_day_with_the_fakes_figures(
    backfilled: tuple[str, str], fakes: HistoryFakes, kind: str, name: str
) -> None:
    url, _ = backfilled
    target = _labels(kind, name)
    active = _range(url, f'last_over_time(github_copilot_usage_active_users{{{target}, window="1d"}}[1d])',
                    FIRST, LAST)  # fmt: skip
    prompts = _range(url, f"last_over_time(github_copilot_usage_interactions{{{target}}}[1d])", FIRST, LAST)
    spend = _range(
        url,
        f'sum(last_over_time(github_copilot_billing_net_amount_usd{{{target}, period="day"}}[1d]))',
        FIRST,
        LAST,
    )
    active_days, prompt_days, spend_days = _by_day(active[0]), _by_day(prompts[0]), _by_day(spend[0])
    expected_usage_days = days(ORG_FIRST_REPORT if kind == "org" else FIRST, LAST)
    assert sorted(active_days) == expected_usage_days
    assert sorted(spend_days) == days(FIRST, LAST)
    for day in days(FIRST, LAST):
        record = entity_record(fakes.api, kind, name, day)
        if day in expected_usage_days:
            assert record is not None
            assert active_days[day] == record["daily_active_users"], day
            assert prompt_days[day] == record["user_initiated_interaction_count"], day
        else:
            assert record is None
        assert spend_days[day] == pytest.approx(net_ai_credit_spend(fakes.api, kind, name, day)), day


def _dashboard_queries(uid: str) -> Iterator[tuple[str, str]]:
    dashboard = json.loads((REPO / "grafana" / "dashboards" / f"{uid}.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def _interpolate(expr: str) -> str:
    values = {"enterprise": ".*", "org": ".*", "team": ".*", "__rate_interval": "5m", "__interval": "1d"}
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], expr)


@pytest.mark.parametrize("uid", ["copilot-usage", "copilot-spend"])
def test_every_dashboard_query_returns_data_over_the_backfilled_range(
    backfilled: tuple[str, str], uid: str
) -> None:
    url, _ = backfilled
    empty, checked = [], 0
    for title, expr in _dashboard_queries(uid):
        if LIVE_ONLY.search(expr) and "or vector(0)" not in expr:
            continue
        checked += 1
        if not _range(url, _interpolate(expr), ORG_FIRST_REPORT, LAST):
            empty.append(f"{title}: {expr}")
    assert checked >= 5
    assert not empty, "queries without data over the backfilled days:\n" + "\n".join(empty)


def test_the_token_never_reaches_the_download_host(backfilled: tuple[str, str], fakes: HistoryFakes) -> None:
    assert fakes.downloads.requests, "the backfill downloaded the reports"
    assert fakes.downloads.authorized_requests == []


# SIGKILL: nothing of the run's own handling happens; SIGTERM (a supervisor's stop): as Ctrl-C.
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_a_resumed_run_after_a_kill_gives_the_same_blocks_as_one_uninterrupted_run(
    fakes: HistoryFakes, tmp_path: Path, stop: signal.Signals
) -> None:
    first, last = LAST - timedelta(days=7), LAST
    held = first + timedelta(days=4)
    whole = tmp_path / "whole.om"
    assert _backfill(_args(fakes, tmp_path, first, last, whole)).returncode == 0

    resumed = tmp_path / "resumed.om"
    args = _args(fakes, tmp_path, first, last, resumed)
    fakes.faults.released.clear()
    fakes.faults.hold = f"/{held.isoformat()}/"
    state = resumed.with_name("resumed.om.partial") / "state.json"
    try:
        with (tmp_path / "killed.log").open("wb") as log:
            process = subprocess.Popen(
                [*exporter_command(), *args],
                env=exporter_env({"GITHUB_TOKEN": TOKEN}),
                stdout=log,
                stderr=log,
            )
        try:
            wait_until(
                lambda: json.loads(state.read_text())["next_day"] == held.isoformat(), 120,
                what="the run to stop at the held day",
            )  # fmt: skip
            time.sleep(0.2)  # let it write part of the held day's requests; the kill is what matters
            # Its parse workers (and their fork server) are its descendants.
            children = _descendants(process.pid)
        finally:
            process.send_signal(stop)
            status = process.wait(30)
    finally:
        fakes.faults.released.set()
        fakes.faults.hold = None
    assert not resumed.exists()
    if stop == signal.SIGTERM:
        assert status == 130
        said = (tmp_path / "killed.log").read_text()
        assert "interrupted; continue with the same flags and --resume" in said
    assert children
    wait_until(lambda: not any(map(_alive, children)), 60, what="the backfill's workers to end with it")

    again = _backfill(args)
    assert again.returncode == 2
    assert "--resume" in again.stderr
    done = _backfill([*args, "--resume"])
    assert done.returncode == 0, done.stderr
    assert resumed.read_bytes() == whole.read_bytes()
    _blocks(whole, tmp_path / "whole-blocks")
    _blocks(resumed, tmp_path / "resumed-blocks")
    assert _dump(tmp_path / "resumed-blocks") == _dump(tmp_path / "whole-blocks")


def test_a_failing_day_is_retried_then_reported_and_the_others_written(
    fakes: HistoryFakes, tmp_path: Path
) -> None:
    first, last = LAST - timedelta(days=3), LAST
    bad = first + timedelta(days=1)
    output = tmp_path / "out.om"
    fakes.faults.fail = f"/org/{DEMO_ORG}/entity/{bad.isoformat()}/"
    fakes.faults.failed_requests = 0
    try:
        done = _backfill(_args(fakes, tmp_path, first, last, output))
    finally:
        fakes.faults.fail = None
    assert done.returncode == 1
    assert f"usage of org={DEMO_ORG} on {bad.isoformat()} failed" in done.stderr, done.stderr
    assert f"days that failed: {bad.isoformat()}" in done.stderr
    assert fakes.faults.failed_requests == 3  # the day was tried three times
    text = output.read_text()
    stamps = re.findall(
        rf'github_copilot_usage_report_day_timestamp_seconds\{{enterprise="",org="{DEMO_ORG}"\}} (\S+)', text
    )
    assert sorted(float(s) for s in stamps) == [day_stamp(d) for d in days(first, last) if d != bad]
    assert "github_copilot_billing_net_amount_usd" in text


# Whole numbers are days from the command's today, resolved when it runs (the suite may pass midnight).
@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["--from", "2026-02-30"], "must be a date as YYYY-MM-DD"),
        (["--from", "yesterday"], "must be a date as YYYY-MM-DD"),
        (["--from", -9, "--to", -19], "after --to"),
        (["--from", 1], "in the future"),
        (["--from", "2025-06-01"], "beyond GitHub's retention of usage reports"),
        (["--from", -2], "left to the live exporter"),
    ],
)  # fmt: skip
def test_bad_dates_and_ranges_beyond_retention_exit_with_status_2(
    dates: list[str | int], message: str, tmp_path: Path
) -> None:
    today = real_today().date()
    given = [(today + timedelta(days=d)).isoformat() if isinstance(d, int) else d for d in dates]
    args = ["backfill", "--org", DEMO_ORG, "--github.api-url", "http://127.0.0.1:9", *given,
            "--output", str(tmp_path / "out.om")]  # fmt: skip
    done = run_exporter_cli(args, {"GITHUB_TOKEN": TOKEN})
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "out.om").exists()


@pytest.mark.parametrize("count", ["-1", "many", "17"])
def test_a_bad_number_of_parse_workers_exits_with_status_2(count: str, tmp_path: Path) -> None:
    args = ["backfill", "--org", DEMO_ORG, "--github.api-url", "http://127.0.0.1:9", "--days", "3",
            "--parse-workers", count, "--output", str(tmp_path / "out.om")]  # fmt: skip
    done = run_exporter_cli(args, {"GITHUB_TOKEN": TOKEN})
    assert done.returncode == 2
    assert f"--parse-workers: must be a whole number from 0 to 16, got '{count}'" in done.stderr
    assert not (tmp_path / "out.om").exists()


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], list(parents.get(pid, ()))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(parents.get(child, ()))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
