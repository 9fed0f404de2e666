"""All-sources benchmark: the installed exporter reading N seats, one day's usage reports of N users, billing.

    .venv/bin/python benchmarks/usage_bench.py                 # 10,000 and 100,000 users
    .venv/bin/python benchmarks/usage_bench.py --users 10000

For each size a fake in its own process (so its CPU and memory are not the exporter's) serves an
enterprise with N seats and N users' usage: the report endpoints on 127.0.0.1 and the NDJSON files,
built once with the demo world's row generator and held in memory, from 127.0.0.2. The files of the
users report are split in four, as GitHub splits large reports. The ``github-copilot-exporter``
fake also serves the enterprise's billing (a month of spend over three cost centers, AI credits,
budgets). The console script then polls all three sources as users run it, and the benchmark
reports from outside:

* the usage poll's wall time (``github_copilot_poll_duration_seconds{source="usage"}``: the report
  endpoints, then downloading and parsing every file) and the bytes downloaded;
* the seat and billing polls' wall times, for scale;
* the exporter's peak RSS (``VmHWM``) after the three polls and a few scrapes of ``/metrics``, and the number
  of per-user usage series served (capped by ``seat_metrics.max_series``, 50,000 by default).

With ``--case first-usage`` it polls in its own process instead and reports when the first usage
snapshot is published while the seat and billing polls run, with each poll taking its turns at the
request pacer and with every poll in one queue, as a ratio to the usage poll alone at the same pacing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import random
import subprocess
import sys
import tempfile
import time
import unittest.mock
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for tests.fakegithub

from exporter.demo.fake_billing import FakeBillingWorld, FakeCostCenter, fake_account
from exporter.demo.fake_usage import assign_teams, make_users
from exporter.demo.usage_rows import user_row, user_team_rows
from exporter.demo.usage_world import UsageEntity, UsageWorld, breakdowns, day_activity, totals
from exporter.sources.usage.model import COUNTER_FIELDS
from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub, FakeSeat
from tests.fakegithub.serving import free_port

ENTERPRISE = "bench-enterprise"
TOKEN = "ghp_benchTOKEN0123456789abcdefghijklmnop"
USER_FILES = 4
SOURCES = ("seats", "usage", "billing")
REPO = Path(__file__).resolve().parent.parent
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# -- the fake, in its own process -------------------------------------------------------------------


def build_files(users: int, now: datetime) -> tuple[date, dict[str, list[bytes]]]:
    """Yesterday's three reports of an enterprise with ``users`` users, as NDJSON files."""
    rng = random.Random(7)
    world = UsageWorld(now, seed=7)
    entity = world.add(UsageEntity("enterprise", ENTERPRISE, 1, first_day=now.date() - timedelta(days=40)))
    # Everyone active on the day: the users report then has a row for each of the N users.
    entity.users = [
        dataclasses.replace(u, activity=1.0) for u in make_users(rng, "bench-user", 1_000_000, users)
    ]
    assign_teams(entity, 9_000)
    day = now.date() - timedelta(days=1)
    found = day_activity(world, entity, day)
    cells = [cell for a in found for cell in a.cells]
    # The entity's own row: its users' activity summed (the window counts are not what is measured).
    entity_row = {
        "day": day.isoformat(),
        "enterprise_id": "1",
        "daily_active_users": len(found),
        "weekly_active_users": len(found),
        "monthly_active_users": len(found),
        **dict(zip(COUNTER_FIELDS, totals(cells), strict=True)),
        **breakdowns(cells),
    }
    rows = [json.dumps(user_row(entity, a, day)).encode() + b"\n" for a in found]
    size = -(-len(rows) // USER_FILES)
    team_rows = [json.dumps(r).encode() + b"\n" for r in user_team_rows(entity, day)]
    files = {
        "entity": [json.dumps(entity_row).encode() + b"\n"],
        "users": [b"".join(rows[i : i + size]) for i in range(0, len(rows), size)],
        "user_teams": [b"".join(team_rows)],
    }
    return day, files


def seats(users: int, now: datetime) -> list[FakeSeat]:
    return [
        FakeSeat(
            login=f"bench-user-{i:03d}",
            user_id=1_000_000 + i,
            created_at=now - timedelta(days=100),
            org="bench-org",
            plan_type="enterprise",
            last_activity_at=now - timedelta(hours=i % 500),
            last_activity_editor="vscode/1.95.3/copilot/1.245.0",
        )
        for i in range(users)
    ]


def billing(users: int, now: datetime) -> FakeBillingWorld:
    """The enterprise's billing: its seats over three cost centers (and some in none), as GitHub bills."""
    world = FakeBillingWorld(now=now.timestamp())
    share = users // 4
    centers = [(FakeCostCenter(f"cc-{n}", f"center-{n}", [], pool_enabled=n == 0), share) for n in range(3)]
    world.add(
        fake_account("enterprise", ENTERPRISE, now=now.timestamp(), seed=7, seats=users, plan="enterprise",
                     cost_centers=centers)
    )  # fmt: skip
    return world


class Reports:
    """The report endpoints (links to ``download_base``) in front of the fake seat API."""

    def __init__(
        self, github: FakeGitHub, day: date, files: dict[str, list[bytes]], download_base: str
    ) -> None:
        self.github = github
        self.day = day
        self.files = files
        self.download_base = download_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or "/copilot/metrics/reports/" not in path:
            await self.github(scope, receive, send)
            return
        report = {"enterprise-1-day": "entity", "users-1-day": "users", "user-teams-1-day": "user_teams"}
        name = report.get(path.rsplit("/", 1)[1])
        asked = scope.get("query_string", b"").decode().removeprefix("day=")
        if name is None or asked != self.day.isoformat():
            await _answer(send, 404, b'{"message": "Not Found"}', b"application/json")
            return
        links = [f"{self.download_base}/{name}/part-{n}.ndjson" for n in range(len(self.files[name]))]
        body = json.dumps({"download_links": links, "report_day": self.day.isoformat()}).encode()
        await _answer(send, 200, body, b"application/json")


class Downloads:
    def __init__(self, files: dict[str, list[bytes]]) -> None:
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        name, _, part = scope["path"].strip("/").partition("/")
        number = int(part.removeprefix("part-").removesuffix(".ndjson") or 0)
        body = self.files[name][number]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/x-ndjson"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        step = 1 << 20
        for start in range(0, len(body), step):
            await send({"type": "http.response.body", "body": body[start : start + step], "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]}
    )
    await send({"type": "http.response.body", "body": body})


def serve_fake(users: int, api_port: int, download_port: int, ready_file: Path) -> None:
    now = datetime.now(UTC)
    started = time.monotonic()
    day, files = build_files(users, now)
    enterprise = FakeEnterprise(slug=ENTERPRISE, id=1, seats=seats(users, now))
    github = FakeGitHub([], [enterprise], token=TOKEN, billing=billing(users, now))
    github.record_requests = False
    api = Reports(github, day, files, f"http://127.0.0.2:{download_port}")
    sizes = {name: sum(map(len, parts)) for name, parts in files.items()}
    ready_file.write_text(json.dumps({"build_seconds": time.monotonic() - started, "bytes": sizes}))

    async def main() -> None:
        servers = [
            uvicorn.Server(
                uvicorn.Config(api, host="127.0.0.1", port=api_port, log_level="warning", lifespan="off")
            ),
            uvicorn.Server(
                uvicorn.Config(
                    Downloads(files),
                    host="127.0.0.2",
                    port=download_port,
                    log_level="warning",
                    lifespan="off",
                )
            ),
        ]
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(main())


# -- the measurement --------------------------------------------------------------------------------


def metric(text: str, name: str, **labels: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


@contextlib.contextmanager
def served_fake(users: int) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """The fake of ``users`` users in its own process: its API URL, download port and build figures."""
    api_port, download_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp:
        ready = Path(tmp) / "ready.json"
        fake = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-fake",
                str(users),
                str(api_port),
                str(download_port),
                str(ready),
            ]
        )
        try:
            deadline = time.monotonic() + 1800
            while not ready.exists() or not _answers(f"http://127.0.0.1:{api_port}/rate_limit"):
                if fake.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the fake did not start")
                time.sleep(0.5)
            yield f"http://127.0.0.1:{api_port}", download_port, json.loads(ready.read_text())
        finally:
            fake.terminate()
            fake.wait(30)


def run(users: int, seat_metrics: str = "login") -> dict[str, Any]:
    exporter_port = free_port()
    with served_fake(users) as (api_url, download_port, built), tempfile.TemporaryDirectory() as tmp:
        script = Path(sys.executable).with_name("github-copilot-exporter")
        config = Path(tmp) / "config.yml"
        config.write_text(f"usage:\n  allowed_download_hosts: ['http://127.0.0.2:{download_port}']\n")
        exporter = subprocess.Popen(
            [
                str(script),
                "--config",
                str(config),
                "--enterprise",
                ENTERPRISE,
                "--github.api-url",
                api_url,
                "--usage.enabled=true",
                "--seat-metrics",
                seat_metrics,
                "--web.listen-address",
                f"127.0.0.1:{exporter_port}",
                "--log.level",
                "warn",
            ],
            env={"GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
        )
        try:
            measured = measure(exporter, f"http://127.0.0.1:{exporter_port}")
            unpaced = asyncio.run(fetch_unpaced(api_url, download_port))
            return {"users": users, **built, **measured, "download_and_parse_seconds": unpaced}
        finally:
            exporter.terminate()
            exporter.wait(30)


def first_usage(users: int) -> dict[str, Any]:
    """When the first usage snapshot is published while the seat and billing polls run, at the default
    pacing, as a ratio to the usage poll alone at that pacing: with each poll taking its turns at the
    pacer, and with every poll in one queue, as before the turns (the pacer's default share)."""
    from exporter import gc_tuning

    gc_tuning.tune()  # as the console script does at start
    with served_fake(users) as (api_url, download_port, _):
        alone = asyncio.run(publish_times(api_url, download_port, ("usage",)))["usage"]
        fair = asyncio.run(publish_times(api_url, download_port, SOURCES))
        with unittest.mock.patch("exporter.poller.pacing_share", return_value=contextlib.nullcontext()):
            one_queue = asyncio.run(publish_times(api_url, download_port, SOURCES))
    return {
        "case": "first_usage",
        "users": users,
        "usage_alone_seconds": round(alone, 2),
        "turns": {**{k: round(v, 2) for k, v in fair.items()}, "ratio": round(fair["usage"] / alone, 3)},
        "one_queue": {
            **{k: round(v, 2) for k, v in one_queue.items()},
            "ratio": round(one_queue["usage"] / alone, 3),
        },
    }


async def publish_times(api_url: str, download_port: int, sources: tuple[str, ...]) -> dict[str, float]:
    """Seconds from the start of one poll of ``sources`` together to each one's publish, in this process,
    wired as the console script wires them (default pacing, a fresh client without cached answers)."""
    from exporter.poller import Poller
    from exporter.web.server import Exporter
    from exporter.wiring import build_client, build_config

    config = build_config(
        {"enterprise": [ENTERPRISE], "api_url": api_url, "usage_enabled": "true"},
        {"usage": {"allowed_download_hosts": [f"http://127.0.0.2:{download_port}"]}},
        {"GITHUB_TOKEN": TOKEN},
    )
    client = build_client(config)
    try:
        exporter = Exporter(config, client)
        polled = [s for s in exporter.sources if s.name in sources]
        await Poller(polled, exporter.state).poll_once()
        statuses = {s.name: exporter.state.statuses[(s.name, s.targets[0])] for s in polled}
        durations = {name: status.last_duration for name, status in statuses.items() if status.up}
        if len(durations) != len(statuses):
            raise RuntimeError(f"a poll failed: {statuses}")
        return {name: duration or 0.0 for name, duration in durations.items()}
    finally:
        await client.aclose()


async def fetch_unpaced(api_url: str, download_port: int) -> float:
    """The usage poll alone, in this process, without pacing: requests, downloads and parsing."""
    from exporter.config import Target
    from exporter.github.auth import StaticToken
    from exporter.github.client import GitHubClient
    from exporter.github.downloads import DownloadLimits
    from exporter.github.pacing import RequestPacer
    from exporter.sources.usage.fetch import fetch_usage

    links = DownloadLimits.for_api(api_url, ("http", "127.0.0.2", download_port))
    client = GitHubClient(
        api_url, StaticToken(TOKEN), pacer=RequestPacer(concurrency=4, per_minute=0), downloads=links
    )
    try:
        started = time.monotonic()
        await fetch_usage(client, Target("enterprise", ENTERPRISE), today=datetime.now(UTC).date())
        return time.monotonic() - started
    finally:
        await client.aclose()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code < 500
    except httpx.HTTPError:
        return False


def measure(exporter: subprocess.Popen[bytes], url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 1800
    text = ""
    while time.monotonic() < deadline:
        if exporter.poll() is not None:
            raise RuntimeError(f"the exporter exited with {exporter.returncode}")
        try:
            text = httpx.get(f"{url}/metrics", timeout=60).text
        except httpx.HTTPError:
            text = ""
        done = [metric(text, "github_copilot_polls_total", source=s) for s in SOURCES]
        if all(done):
            break
        time.sleep(1)
    up = {s: metric(text, "github_copilot_up", source=s) for s in SOURCES}
    scrapes = []
    for _ in range(5):
        started = time.monotonic()
        text = httpx.get(f"{url}/metrics", timeout=60).text
        scrapes.append(time.monotonic() - started)
    return {
        "up": up,
        "usage_poll_seconds": metric(text, "github_copilot_poll_duration_seconds", source="usage"),
        "seat_poll_seconds": metric(text, "github_copilot_poll_duration_seconds", source="seats"),
        "billing_poll_seconds": metric(text, "github_copilot_poll_duration_seconds", source="billing"),
        "users_reported": metric(text, "github_copilot_usage_users_reported"),
        "user_series": text.count("\ngithub_copilot_user_ai_credits_used{"),
        "user_series_dropped": metric(text, "github_copilot_usage_user_series_dropped"),
        "scrape_seconds_max": max(scrapes),
        "peak_rss_mib": peak_rss_mib(exporter.pid),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, action="append", help="default: 10000 and 100000")
    parser.add_argument("--serve-fake", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--seat-metrics", default="login", choices=("login", "off"), help="per-user series")
    parser.add_argument(
        "--case",
        default="all-sources",
        choices=("all-sources", "first-usage"),
        help="the console script polling everything, or the first usage snapshot beside the seat poll",
    )
    args = parser.parse_args(argv)
    if args.serve_fake:
        users, api_port, download_port, ready = args.serve_fake
        serve_fake(int(users), int(api_port), int(download_port), Path(ready))
        return 0
    for users in args.users or [10_000, 100_000]:
        if args.case == "first-usage":
            line = first_usage(users)
        else:
            line = {"seat_metrics": args.seat_metrics, **run(users, args.seat_metrics)}
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
