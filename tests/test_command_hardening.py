"""``report`` and ``backfill`` as users run them, against hostile answers and planted files: the token
never shows on their output or in the backfill's state, the state and the work directory are checked
before they are trusted, files are never written through a link, and a full disk is one line."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from exporter.demo.fake_usage import DEMO_ORG
from tests.backfill_support import HistoryFakes, history_fakes
from tests.fakegithub.fake_github import Fault
from tests.support import (
    TOKEN,
    ServedFake,
    exporter_command,
    exporter_env,
    run_exporter_cli,
    wait_until,
)

pytestmark = pytest.mark.e2e
NOW = time.time()
LAST = datetime.fromtimestamp(NOW, UTC).date() - timedelta(days=4)
FIRST = LAST - timedelta(days=1)
#: An error answer that echoes the request's Authorization header, as some proxies do.
ECHO = {"message": f"Validation failed for request with Authorization: Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def fakes() -> Iterator[HistoryFakes]:
    yield from history_fakes(NOW, FIRST - timedelta(days=40), FIRST - timedelta(days=40))


def _args(fakes: HistoryFakes, tmp: Path, output: Path, *extra: str) -> list[str]:
    config = tmp / "config.yml"
    config.write_text(yaml.safe_dump({"usage": {"allowed_download_hosts": [fakes.download_url]}}))
    return [
        "backfill", "--config", str(config), "--org", DEMO_ORG, "--github.api-url", fakes.api,
        "--usage.enabled=true", "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
        "--output", str(output), *extra,
    ]  # fmt: skip


def _backfill(args: list[str]) -> subprocess.CompletedProcess[str]:
    return run_exporter_cli(args, {"GITHUB_TOKEN": TOKEN}, timeout=300)


def _one_line_failure(done: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if text in line]
    assert len(lines) == 1, done.stderr


# -- item 6: the token in clear -----------------------------------------------------------------


def test_report_masks_a_token_echoed_by_an_error_answer(fake: ServedFake) -> None:
    fake.app.faults.append(Fault(r"/copilot/billing/seats", status=422, body=ECHO, times=None))
    done = run_exporter_cli(
        ["report", "--org", "acme", "--github.api-url", fake.url], {"GITHUB_TOKEN": TOKEN}
    )
    assert done.returncode == 1, done.stderr
    assert "report failed" in done.stderr
    assert "Authorization: Bearer ********" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_backfill_masks_a_token_echoed_by_an_error_answer_on_screen_and_in_its_state(
    fakes: HistoryFakes, tmp_path: Path
) -> None:
    output = tmp_path / "out.om"
    args = _args(fakes, tmp_path, output)
    state = output.with_name("out.om.partial") / "state.json"
    # 400: not retried by the client; the first day's three tries fail, and the second day goes on.
    fault = Fault(r"/orgs/[^/]+/copilot/metrics/reports/users-1-day", status=400, body=ECHO, times=3)
    fakes.github.faults.append(fault)
    fakes.faults.released.clear()
    fakes.faults.hold = f"/{LAST.isoformat()}/"  # the run stops at the second day: its state is kept
    try:
        with (tmp_path / "run.log").open("wb") as log:
            process = subprocess.Popen(
                [*exporter_command(), *args],
                env=exporter_env({"GITHUB_TOKEN": TOKEN}),
                stdout=log,
                stderr=log,
            )
        try:
            wait_until(lambda: json.loads(state.read_text())["next_day"] == LAST.isoformat(), 120,
                       what="the first day to be saved")  # fmt: skip
            saved = state.read_text()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(30)
    finally:
        fakes.faults.released.set()
        fakes.faults.hold = None
    assert "Bearer ********" in saved
    assert TOKEN not in saved
    assert TOKEN not in (tmp_path / "run.log").read_text()
    done = _backfill([*args, "--resume"])
    assert done.returncode == 1, done.stderr
    assert f"usage of org={DEMO_ORG} on {FIRST.isoformat()} failed" in done.stderr
    assert "Bearer ********" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


# -- item 13: backfill trusts its own files -----------------------------------------------------


def _interrupted_state(fakes: HistoryFakes, tmp_path: Path, output: Path) -> Path:
    """A work directory as an interrupted run leaves it: the first day written, its state saved."""
    workdir = output.with_name(output.name + ".partial")
    workdir.mkdir()
    family = "github_copilot_usage_report_day_timestamp_seconds"
    (workdir / f"{family}.om").write_bytes(b"")
    state = {"options": {}, "next_day": LAST.isoformat(), "sizes": {family: 0}, "no_report": 0,
             "samples": 0, "days_done": 1, "failures": [], "version": 1}  # fmt: skip
    (workdir / "state.json").write_text(json.dumps(state))
    return workdir / "state.json"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sizes": {"../secret": 0}}, "not a metric family"),
        ({"sizes": {"github_copilot_usage_users_reported": "12"}}, "not a whole number of bytes"),
        ({"next_day": ["x"]}, "next_day is not a date"),
        ({"failures": [{"day": 1}]}, "failures is not a list"),
        ({"days_done": True}, "days_done is not a whole number"),
    ],
)
def test_resume_refuses_a_state_that_is_not_its_own_in_one_line(
    fakes: HistoryFakes, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    output = tmp_path / "out.om"
    state_path = _interrupted_state(fakes, tmp_path, output)
    state = json.loads(state_path.read_text()) | change
    state_path.write_text(json.dumps(state))
    secret = tmp_path / "out.om.secret.om"
    done = _backfill([*_args(fakes, tmp_path, output), "--resume"])
    _one_line_failure(done, 2, message)
    assert "cannot resume from" in done.stderr
    assert not (tmp_path / "secret.om").exists()
    assert not secret.exists()


def test_a_link_planted_as_the_temporary_output_is_not_followed(fakes: HistoryFakes, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    output = tmp_path / "out.om"
    output.with_name("out.om.tmp").symlink_to(victim)
    done = _backfill(_args(fakes, tmp_path, output))
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious\n"
    assert output.read_bytes().endswith(b"# EOF\n")
    assert not output.is_symlink()
    assert output.stat().st_mode & 0o777 == 0o600


def test_a_work_directory_that_is_a_link_is_refused(fakes: HistoryFakes, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = tmp_path / "out.om"
    output.with_name("out.om.partial").symlink_to(elsewhere)
    done = _backfill(_args(fakes, tmp_path, output))
    _one_line_failure(done, 2, "is a symbolic link")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_work_directory_of_another_user_is_refused(fakes: HistoryFakes, tmp_path: Path) -> None:
    output = tmp_path / "out.om"
    workdir = output.with_name("out.om.partial")
    workdir.mkdir()
    os.chown(workdir, 65534, 65534)
    done = _backfill(_args(fakes, tmp_path, output))
    _one_line_failure(done, 2, "belongs to another user")
    assert list(workdir.iterdir()) == []


def test_a_full_disk_is_one_line_and_status_1(fakes: HistoryFakes, tmp_path: Path) -> None:
    def small_files() -> None:
        # ulimit -f: a write past 4 KiB fails with EFBIG (SIGXFSZ ignored, as a shell would not).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    output = tmp_path / "out.om"
    done = subprocess.run(
        [*exporter_command(), *_args(fakes, tmp_path, output)],
        env=exporter_env({"GITHUB_TOKEN": TOKEN}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=small_files,
    )
    _one_line_failure(done, 1, "cannot write")
    assert "File too large" in done.stderr
    assert not output.exists()
