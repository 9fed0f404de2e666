"""Backfill benchmark: a year of one enterprise's usage reports and billing, N users active every day.

    .venv/bin/python benchmarks/backfill_bench.py                    # 1,000 and 10,000 users, 362 days
    .venv/bin/python benchmarks/backfill_bench.py --users 1000 --days 30

A fake in its own process serves the enterprise's reports of every day (the demo world's rows of
usage_bench.py, built once, the day rewritten as each file is served) and a year of billing. The
``github-copilot-exporter backfill`` console script reads the days at the highest pacing the
configuration allows (900 requests a minute) into an OpenMetrics file, and the benchmark reports days
per minute, the ratio of the time to the pacing bound (the API requests alone at that pacing), bytes
per user-day and the backfill's peak RSS (``ru_maxrss`` of that child alone). The fake serves no
repository report: it is left out (``--repositories.enabled=false``). With
promtool on PATH it then runs the command ``backfill`` prints for the file, and reports promtool's time,
peak RSS and the size of the blocks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.usage_bench import (
    ENTERPRISE,
    TOKEN,
    Receive,
    Scope,
    Send,
    _answer,
    build_files,
)
from exporter.backfill.days import DayRange
from exporter.backfill.promtool import command
from exporter.demo.fake_billing import FakeBillingWorld, fake_account
from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub
from tests.fakegithub.serving import free_port

#: The pacing the benchmark configures (the most the configuration allows), and the API requests of
#: one day of the one enterprise: entity, users and user-teams report links, and billing.
REQUESTS_PER_MINUTE = 900
API_REQUESTS_PER_DAY = 4


class DailyReports:
    """Report endpoints answering every asked day with links to that day's files."""

    def __init__(self, github: FakeGitHub, names: dict[str, int], download_base: str) -> None:
        self.github = github
        self.names = names
        self.download_base = download_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or "/copilot/metrics/reports/" not in path:
            await self.github(scope, receive, send)
            return
        report = {"enterprise-1-day": "entity", "users-1-day": "users", "user-teams-1-day": "user_teams"}
        name = report.get(path.rsplit("/", 1)[1])
        asked = scope.get("query_string", b"").decode().removeprefix("day=")
        if name is None:
            await _answer(send, 404, b'{"message": "Not Found"}', b"application/json")
            return
        links = [f"{self.download_base}/{asked}/{name}/part-{n}.ndjson" for n in range(self.names[name])]
        body = json.dumps({"download_links": links, "report_day": asked}).encode()
        await _answer(send, 200, body, b"application/json")


class DailyDownloads:
    """The files of the one built day, with its date replaced by the asked one."""

    def __init__(self, day: date, files: dict[str, list[bytes]]) -> None:
        self.day = day.isoformat().encode()
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        asked, name, part = scope["path"].strip("/").split("/")
        body = self.files[name][int(part.removeprefix("part-").removesuffix(".ndjson"))]
        await _answer(send, 200, body.replace(self.day, asked.encode()), b"application/x-ndjson")


def serve_fake(users: int, api_port: int, download_port: int, ready_file: Path) -> None:
    now = datetime.now(UTC)
    day, files = build_files(users, now)
    billing = FakeBillingWorld(now=now.timestamp())
    billing.add(
        fake_account("enterprise", ENTERPRISE, now=now.timestamp(), seed=7, seats=users, plan="enterprise",
                     first_day=now.date() - timedelta(days=400))
    )  # fmt: skip
    github = FakeGitHub([], [FakeEnterprise(slug=ENTERPRISE, id=1)], token=TOKEN, billing=billing)
    github.record_requests = False
    api = DailyReports(github, {k: len(v) for k, v in files.items()}, f"http://127.0.0.2:{download_port}")
    ready_file.write_text(json.dumps({"users_report_bytes": sum(map(len, files["users"]))}))

    def server(app: Any, host: str, port: int) -> uvicorn.Server:
        return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))

    async def main() -> None:
        servers = [
            server(api, "127.0.0.1", api_port),
            server(DailyDownloads(day, files), "127.0.0.2", download_port),
        ]
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(main())


def run(users: int, days: int) -> dict[str, Any]:
    api_port, download_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="backfill-bench-") as tmp:
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
            while not ready.exists():
                if fake.poll() is not None:
                    raise RuntimeError("the fake did not start")
                time.sleep(0.5)
            time.sleep(2)  # the servers start after the ready file is written
            last = datetime.now(UTC).date() - timedelta(days=4)
            first = last - timedelta(days=days - 1)
            config = Path(tmp) / "config.yml"
            config.write_text(
                f"github:\n  requests_per_minute: {REQUESTS_PER_MINUTE}\n"
                f"usage:\n  allowed_download_hosts: ['http://127.0.0.2:{download_port}']\n"
            )
            output = Path(tmp) / "history.om"
            script = Path(sys.executable).with_name("github-copilot-exporter")
            started = time.monotonic()
            backfill = subprocess.Popen(
                [str(script), "backfill", "--config", str(config), "--enterprise", ENTERPRISE,
                 "--github.api-url", f"http://127.0.0.1:{api_port}", "--usage.enabled=true",
                 "--repositories.enabled=false", "--from", first.isoformat(), "--to", last.isoformat(),
                 "--output", str(output), "--log.level", "warn"],
                env={"GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
            )  # fmt: skip
            _, status, usage = os.wait4(backfill.pid, 0)
            seconds = time.monotonic() - started
            if status != 0:
                raise RuntimeError(f"backfill exited with status {status}")
            size = output.stat().st_size
            bound = pacing_bound(days)
            return {
                "users": users,
                "days": days,
                "seconds": round(seconds, 1),
                "pacing_bound_seconds": round(bound, 1),
                "ratio": round(seconds / bound, 2),
                "days_per_minute": round(days / seconds * 60, 1),
                "output_bytes": size,
                "bytes_per_user_day": round(size / (users * days)),
                "peak_rss_mib": round(usage.ru_maxrss / 1024),
                **promtool_figures(output, Path(tmp) / "blocks", DayRange(first, last, 0)),
            }
        finally:
            fake.terminate()
            fake.wait(30)


def pacing_bound(days: int) -> float:
    """The least time the API requests alone allow: per day the three report-link requests and the
    billing request, at the configured pacing (downloads go to another host and are not paced)."""
    return days * API_REQUESTS_PER_DAY * 60.0 / REQUESTS_PER_MINUTE


def promtool_figures(output: Path, blocks: Path, days: DayRange) -> dict[str, Any]:
    """promtool's time and peak RSS on ``output`` with the command ``backfill`` prints; {} without it."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return {}
    argv = command(promtool, output, blocks, days)
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"promtool exited with status {status}")
    return {
        "promtool_block_duration": argv[4].partition("=")[2],
        "promtool_seconds": round(time.monotonic() - started, 1),
        "promtool_peak_rss_mib": round(usage.ru_maxrss / 1024),
        # promtool reads the file once per block window: with every day present, once per block.
        "blocks": sum(1 for entry in blocks.iterdir() if entry.is_dir() and entry.name != "wal"),
        "blocks_bytes": sum(f.stat().st_size for f in blocks.rglob("*") if f.is_file()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, action="append")
    # A year of reports less the three days not final yet: everything GitHub lets a backfill read.
    parser.add_argument("--days", type=int, default=362)
    parser.add_argument("--serve-fake", nargs=4, metavar=("USERS", "API_PORT", "DOWNLOAD_PORT", "READY"))
    args = parser.parse_args()
    if args.serve_fake:
        users, api_port, download_port, ready = args.serve_fake
        serve_fake(int(users), int(api_port), int(download_port), Path(ready))
        return 0
    for users in args.users or [1000, 10_000]:
        print(json.dumps(run(users, args.days)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
