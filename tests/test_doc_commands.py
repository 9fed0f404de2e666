"""Every command README.md and docs/*.md show runs as written, on any date, against the fake GitHub.

The fenced ``sh`` blocks are read as a user copies them: each ``github-copilot-exporter`` command (and
``promtool tsdb``, which turns a backfill into blocks) runs in one working directory per document, in the
documents' order, with ``GITHUB_TOKEN`` and ``GITHUB_API_URL`` pointing at a fake that knows the names
the docs use (``my-org``, ``my-enterprise``, …) and ``exporter.yml`` written beside it. A command fails
the test when it exits with status 2 (bad arguments, dates or configuration) or prints a traceback; a
serving command must come up and answer ``/readyz``. Commands that build, deploy or need a host of
their own (make, docker, kubectl, curl, …) are listed in SKIPPED, so that a new kind of command in the
docs is noticed here rather than left out in silence.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from exporter.demo.fake_billing import FakeBillingWorld, fake_account
from exporter.demo.fake_usage import assign_teams, make_users
from exporter.demo.usage_world import UsageEntity, UsageWorld
from tests.fakegithub.fake_downloads import FakeDownloads, UsageReports
from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub, FakeOrg
from tests.fakegithub.world import demo_github
from tests.support import REPO, TOKEN, ServedApp, exporter_command, free_port, need_binary, wait_until

pytestmark = pytest.mark.e2e
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^ *```(?:sh|bash|shell|console)\n(.*?)^ *```", re.S | re.M)
EXPORTER = ("github-copilot-exporter", ".venv/bin/github-copilot-exporter")
#: First words of commands not run here, and why.
SKIPPED = {
    "make": "builds the checkout itself (make test runs this suite)",
    "export": "sets the token, which the test passes in the environment",
    "curl": "needs a running exporter with basic auth at exporter:9185",
    "cp": "copies the compose example's environment file into the checkout",
    "mv": "writes into a Prometheus data directory",
    "docker": "needs a container runtime",
    "kubectl": "needs a cluster",
    "for": "a kubectl loop",
    "name=": "part of the kubectl loop",
    "|": "part of the kubectl loop",
    "done": "end of the kubectl loop",
    ".venv/bin/python": "benchmarks and generators, run by hand (tests check the generated files)",
    "promtool check": "the shipped rules and configs are checked by tests/test_alerting.py",
    "promtool test": "the shipped rule tests run in tests/test_alerting.py",
    "amtool": "the shipped routes are tested in tests/test_alerting.py",
}
#: Names the docs use for targets, served by the fake.
ORGS = ("my-org", "other-org")
ENTERPRISES = ("my-enterprise", "my-ent")


@dataclass(frozen=True)
class DocCommand:
    doc: str
    line: str
    words: list[str]
    stdout: str | None  # "> FILE"


def doc_commands() -> list[DocCommand]:
    commands = []
    for doc in DOCS:
        for block in FENCE.findall(doc.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if not words:
                    continue
                stdout = None
                if ">" in words:
                    at = words.index(">")
                    words, stdout = words[:at], words[at + 1]
                commands.append(DocCommand(doc.name, line.strip(), words, stdout))
    return commands


def runnable(command: DocCommand) -> bool:
    if command.words[0] in EXPORTER or command.words[:2] == ["promtool", "tsdb"]:
        return True
    text = " ".join(command.words)
    assert any(text.startswith(prefix) for prefix in SKIPPED), (
        f"{command.doc}: a command this test neither runs nor knows to skip: {command.line}"
    )
    return False


def test_the_docs_show_commands_of_every_kind_this_test_runs() -> None:
    run = [c for c in doc_commands() if runnable(c)]
    subcommands = {c.words[1] for c in run if c.words[0] in EXPORTER and not c.words[1].startswith("-")}
    assert {"report", "backfill"} <= subcommands
    assert any(c.words[0] in EXPORTER and c.words[1].startswith("-") for c in run)  # serving
    assert any(c.words[0] == "promtool" for c in run)
    assert {"README.md", "history.md"} <= {c.doc for c in run}


# -- the fake, with the docs' names ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_api() -> Iterator[tuple[str, str]]:
    """The fake API's URL and its report host's, which exporter.yml allows report links to."""
    now = time.time()
    moment = datetime.fromtimestamp(now, UTC)
    demo = demo_github(now)
    (demo_org,) = demo.orgs.values()
    (demo_enterprise,) = demo.enterprises.values()
    orgs = [FakeOrg(login=name, id=9_100_000 + i, seats=demo_org.seats[:120]) for i, name in enumerate(ORGS)]
    enterprises = [
        FakeEnterprise(slug=name, id=7_100_000 + i, seats=demo_enterprise.seats)
        for i, name in enumerate(ENTERPRISES)
    ]
    world = UsageWorld(moment, 2026)
    billing = FakeBillingWorld(now=now)
    first_day = moment.date() - timedelta(days=20)
    for i, (kind, name) in enumerate([("org", n) for n in ORGS] + [("enterprise", n) for n in ENTERPRISES]):
        entity = world.add(UsageEntity(kind, name, 9_200_000 + i, first_day=first_day))
        entity.users = make_users(random.Random(i), f"{name}-user", 20_000 + 1_000 * i, 40)
        assign_teams(entity, 30_000 + 100 * i)
        billing.add(fake_account(kind, name, now=now, seed=i, seats=40, first_day=first_day))
    github = FakeGitHub(orgs, enterprises, token=TOKEN, clock=lambda: now, billing=billing)
    with ServedApp(FakeDownloads(world, clock=lambda: now), "127.0.0.2").running() as downloads:
        github.usage = UsageReports(world, downloads.url)
        with ServedApp(github).running() as api:
            yield api.url, downloads.url


# -- running them ----------------------------------------------------------------------------------


def _env(api: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": api}


def _argv(command: DocCommand) -> list[str]:
    if command.words[0] in EXPORTER:
        return [*exporter_command(), *command.words[1:]]
    return [need_binary(command.words[0]), *command.words[1:]]


def _no_traceback(command: DocCommand, output: str) -> None:
    assert "Traceback (most recent call last)" not in output, f"{command.line}\n{output}"


def _serve(command: DocCommand, env: dict[str, str], cwd: Path) -> None:
    port = free_port()
    argv = [*_argv(command), "--web.listen-address", f"127.0.0.1:{port}"]
    log = cwd / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                return True
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 120, what=f"{command.line} to be ready")
        assert process.poll() is None, f"{command.line} exited with {process.returncode}:\n{log.read_text()}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    _no_traceback(command, log.read_text())


def _interrupted_first(command: DocCommand, env: dict[str, str], cwd: Path) -> None:
    """What ``--resume`` continues: the same command without it, stopped by Ctrl-C after some days."""
    argv = [word for word in _argv(command) if word != "--resume"]
    output = Path(cwd, command.words[command.words.index("--output") + 1])
    state = output.with_name(output.name + ".partial") / "state.json"
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: state.exists() or process.poll() is not None, 300, what="a day written")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr.decode()


def _planned_first(command: DocCommand, env: dict[str, str], cwd: Path) -> None:
    """What ``reclaim apply PLAN`` carries out: the plan ``reclaim plan`` writes with the same flags."""
    at = command.words.index("apply")
    plan = Path(cwd, command.words[at + 1])
    if plan.exists():
        return
    plan.parent.mkdir(parents=True, exist_ok=True)
    flags = [word for word in command.words[at + 2 :] if word != "--dry-run"]
    argv = [*exporter_command(), "reclaim", "plan", *flags, "--output", str(plan)]
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command.line}: the plan before it failed:\n{done.stderr.decode()}"


def _run(command: DocCommand, env: dict[str, str], cwd: Path) -> None:
    if command.words[0] in EXPORTER and command.words[1].startswith("-"):
        _serve(command, env, cwd)
        return
    if "--resume" in command.words:
        _interrupted_first(command, env, cwd)
    if command.words[1:3] == ["reclaim", "apply"]:
        _planned_first(command, env, cwd)
    with contextlib.ExitStack() as stack:
        stdout = (
            stack.enter_context(Path(cwd, command.stdout).open("wb")) if command.stdout else subprocess.PIPE
        )
        done = subprocess.run(
            _argv(command), env=env, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, timeout=900, check=False
        )
    stderr = done.stderr.decode()
    _no_traceback(command, stderr)
    if command.words[0] == "promtool":
        assert done.returncode == 0, f"{command.line}\n{stderr}"
    assert done.returncode != 2, f"{command.doc}: `{command.line}` exited with 2:\n{stderr}"


def test_every_command_in_the_docs_runs_as_written(fake_api: tuple[str, str], tmp_path: Path) -> None:
    api, downloads = fake_api
    write_token = tmp_path / "write-token"
    write_token.write_text("ghp_write_token_of_the_docs\n")
    # One working directory for all documents, as one user following them: a command shown twice
    # (README.md and docs/history.md give the same backfill) runs once.
    (tmp_path / "exporter.yml").write_text(
        yaml.safe_dump(
            {
                "organizations": list(ORGS[:1]),
                "github": {"requests_per_minute": 900, "max_concurrency": 50},
                "usage": {"allowed_download_hosts": [downloads]},
                # reclaim apply writes with a token of its own, never the read token.
                "reclaim": {"token_file": str(write_token)},
            }
        )
    )
    env = _env(api)
    ran: set[tuple[str, ...]] = set()
    for command in doc_commands():
        if runnable(command) and tuple(command.words) not in ran:
            _run(command, env, tmp_path)
            ran.add(tuple(command.words))
    assert len(ran) >= 8
