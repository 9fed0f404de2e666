"""Shared machinery of the test suite: the fake GitHub on loopback, the exporter as a process, tools.

Everything here drives real parts: the fake is served by uvicorn over HTTP, the exporter runs as the
installed console script, Prometheus and Alertmanager are Debian's binaries.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub, FakeOrg, FakeSeat
from tests.fakegithub.serving import exporter_command as exporter_command
from tests.fakegithub.serving import free_port as free_port
from tests.fakegithub.serving import wait_until as wait_until

REPO = Path(__file__).resolve().parent.parent
#: The project's shared/ folder beside the checkout; COPILOT_EXPORTER_SHARED points elsewhere (a worktree).
SHARED = Path(os.environ.get("COPILOT_EXPORTER_SHARED", REPO.parent / "shared"))
#: GitHub's published Copilot OpenAPI description: the project's shared copy beside the checkout when
#: there is one, else the copy in tests/ (a test keeps the two equal), so a lone clone tests the same.
VENDORED_SPEC = REPO / "tests" / "github-api" / "copilot-openapi.json"
SHARED_SPEC = SHARED / "github-api" / "copilot-openapi.json"
SPEC_PATH = SHARED_SPEC if SHARED_SPEC.exists() else VENDORED_SPEC
TOKEN = "ghp_testTOKEN0123456789abcdefghijklmnopqrs"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_binary(name: str) -> str:
    """Path of a system tool; skip the test without it, but fail under CI=true where it must be present."""
    path = shutil.which(name)
    if path is None:
        message = (
            f"{name} is not installed (make test installs Debian's prometheus / prometheus-alertmanager)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# -- the fake GitHub, served on loopback -----------------------------------------------------------


class ServedFake:
    """A FakeGitHub served by uvicorn in a background thread."""

    def __init__(self, app: FakeGitHub) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> ServedFake:
        self._thread.start()
        wait_until(lambda: self._server.started, 15, what="fake GitHub to start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def requests_to(self, fragment: str) -> list[str]:
        return [r.path + "?" + r.query for r in self.app.requests if fragment in r.path]


@contextlib.contextmanager
def serve_fake(app: FakeGitHub) -> Iterator[ServedFake]:
    served = ServedFake(app).start()
    try:
        yield served
    finally:
        served.stop()


class ServedApp:
    """Any ASGI app served by uvicorn on ``host`` (any 127.x.y.z is loopback) in a background thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[ServedApp]:
        self._thread.start()
        try:
            wait_until(lambda: self._server.started, 15, what=f"a fake server on {self.url} to start")
            yield self
        finally:
            self._server.should_exit = True
            self._thread.join(10)


# -- data sets -------------------------------------------------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


@dataclass
class Dataset:
    """A fake organization and enterprise with known contents, and the answers computed by hand."""

    org: FakeOrg
    enterprise: FakeEnterprise
    extra_orgs: list[FakeOrg] = field(default_factory=list)

    def app(self, **kwargs: object) -> FakeGitHub:
        return FakeGitHub([self.org, *self.extra_orgs], [self.enterprise], token=TOKEN, **kwargs)  # type: ignore[arg-type]


def standard_dataset(org_seats: int = 250) -> Dataset:
    """``acme``: ``org_seats`` seats over three teams with a fixed activity pattern (> 100, so pages).

    Seat i: i % 10 == 0 never used; i % 10 == 1 idle 45 days; i % 10 == 2 idle 10 days; i % 10 == 3
    active 3 days ago; others active 2 hours ago. i % 25 == 0 pending cancellation. Every 5th seat is on
    the ``enterprise`` plan, seat 7 has no plan_type (unknown: takes the org's plan).
    """
    teams = ["alpha", "beta", None]
    seats = []
    for i in range(org_seats):
        pattern = i % 10
        last = {0: None, 1: ago(days=45), 2: ago(days=10), 3: ago(days=3)}.get(pattern, ago(hours=2))
        seats.append(
            FakeSeat(
                login=f"user{i:04d}",
                user_id=1000 + i,
                created_at=ago(days=200),
                org="acme",
                team=teams[i % 3],
                plan_type=None if i == 7 else ("enterprise" if i % 5 == 4 else "business"),
                last_activity_at=last,
                last_activity_editor="vscode/1.95.0/copilot/1.2.3"
                if i % 2
                else "JetBrains-IU/2024.1/copilot/1.0",
                last_authenticated_at=last,
                pending_cancellation_date=date(2030, 1, 1) if i % 25 == 0 else None,
            )
        )
    org = FakeOrg(login="acme", id=1, seats=seats, plan_type="business", pending_invitation=3)
    ent_seats = [
        # carol: granted by two orgs; the earliest grant (org-b, 300 days) decides; latest activity wins.
        FakeSeat(
            "carol",
            1,
            ago(days=100),
            org="org-a",
            team="red",
            plan_type="enterprise",
            last_activity_at=ago(days=40),
            last_activity_editor="vscode/1/copilot/1",
        ),
        FakeSeat(
            "carol",
            1,
            ago(days=300),
            org="org-b",
            team="blue",
            plan_type="enterprise",
            last_activity_at=ago(hours=5),
            last_activity_editor="neovim/0.9/copilot.vim/1",
        ),
        # dave: one grant, never used.
        FakeSeat("dave", 2, ago(days=60), org="org-a", team=None, plan_type="enterprise"),
        # erin: granted at the enterprise level through an enterprise team, idle 35 days.
        FakeSeat(
            "erin",
            3,
            ago(days=120),
            org=None,
            team="everyone",
            team_kind="enterprise",
            plan_type="enterprise",
            last_activity_at=ago(days=35),
            last_activity_editor="copilot_pr_review",
        ),
        # frank: three grants, all pending cancellation.
        FakeSeat(
            "frank",
            4,
            ago(days=20),
            org="org-a",
            plan_type="enterprise",
            last_activity_at=ago(days=2),
            last_activity_editor="vscode/1/copilot/1",
            pending_cancellation_date=date(2030, 1, 1),
        ),
        FakeSeat(
            "frank",
            4,
            ago(days=10),
            org="org-b",
            plan_type="enterprise",
            pending_cancellation_date=date(2030, 1, 1),
        ),
    ]
    enterprise = FakeEnterprise(slug="acme-corp", id=10, seats=ent_seats)
    return Dataset(org, enterprise)


# -- the exporter as a process ---------------------------------------------------------------------


@dataclass
class RunningExporter:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    port: int

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def metrics(self) -> str:
        response = self.get("/metrics")
        response.raise_for_status()
        return response.text

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        wait_until(lambda: self.get("/readyz").status_code == 200, timeout, what="exporter readiness")

    def stop(self) -> int:
        return stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, a bounded wait, then SIGKILL: every process a test starts ends with the test."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


@dataclass
class Process:
    """A system tool (Prometheus, Alertmanager) run by a test, its output captured for failure messages."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def ready_or_exited(self, url: str) -> Callable[[], bool]:
        return lambda: self.process.poll() is not None or httpx.get(f"{url}/-/ready").status_code == 200

    def log(self) -> str:
        return f"--- {self.name} log ---\n" + self.log_path.read_text(errors="replace")[-6000:]


@contextlib.contextmanager
def run_process(name: str, command: list[str], workdir: Path) -> Iterator[Process]:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        yield Process(name, process, log_path)
    finally:
        stop_process(process)


def exporter_env(extra: dict[str, str] | None) -> dict[str, str]:
    """This process's environment without GitHub settings a developer may have exported, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_API_URL")}
    env.update(extra or {})
    return env


def run_exporter_cli(
    args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run the console script to completion (for --version and configuration errors)."""
    return subprocess.run(
        [*exporter_command(), *args],
        env=exporter_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _usage_off(args: Sequence[str]) -> bool:
    """Whether ``args`` turn the usage source off (``--usage.enabled=false`` or ``--usage.enabled false``)."""
    for i, arg in enumerate(args):
        if arg == "--usage.enabled=false" or (
            arg == "--usage.enabled" and list(args[i + 1 : i + 2]) == ["false"]
        ):
            return True
    return False


@contextlib.contextmanager
def start_exporter(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    *,
    wait_ready: bool = True,
    nofile: int | None = None,
) -> Iterator[RunningExporter]:
    """The console script on a free port; ``nofile`` sets its file-descriptor limit (``ulimit -n``)."""

    def limit_files() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    port = free_port()
    if not any(arg.startswith("--usage.enabled") for arg in args):
        # Tests of the seats meet a fake without usage reports; the usage tests switch them on.
        args = [*args, "--usage.enabled=false"]
    if not any(arg.startswith("--repositories.enabled") for arg in args):
        # The repository report is a usage-metrics report: off where the test turns usage off.
        args = [*args, f"--repositories.enabled={'false' if _usage_off(args) else 'auto'}"]
    log_dir = Path(tempfile.mkdtemp(prefix="exporter-log-"))
    log_path = log_dir / "exporter.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*exporter_command(), "--web.listen-address", f"127.0.0.1:{port}", *args],
            env=exporter_env(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files if nofile is not None else None,
        )
    running = RunningExporter(process, f"http://127.0.0.1:{port}", log_path, port)
    try:
        wait_until(
            lambda: process.poll() is not None or running.get("/healthz").status_code == 200,
            30,
            what="exporter to listen",
        )
        if process.poll() is not None:
            raise AssertionError(f"exporter exited with {process.returncode}:\n{running.log()}")
        if wait_ready:
            running.wait_ready()
        yield running
    finally:
        running.stop()


# -- reading expositions ---------------------------------------------------------------------------

Labels = frozenset[tuple[str, str]]


def parse_exposition(text: str) -> dict[str, dict[Labels, float]]:
    """Exposition text as {sample name: {labels: value}} (parsed by prometheus_client's own parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return out


def value(parsed: dict[str, dict[Labels, float]], name: str, **labels: str) -> float | None:
    """The value of the one series of ``name`` whose labels include ``labels``; None when absent."""
    matches = [v for k, v in parsed.get(name, {}).items() if set(labels.items()) <= set(k)]
    if len(matches) > 1:
        raise AssertionError(f"{name}{labels} matches {len(matches)} series")
    return matches[0] if matches else None


def total(parsed: dict[str, dict[Labels, float]], name: str, **labels: str) -> float:
    """Sum over every series of ``name`` whose labels include ``labels``."""
    return sum(v for k, v in parsed.get(name, {}).items() if set(labels.items()) <= set(k))
