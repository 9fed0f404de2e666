"""Repository-report benchmark: one poll of a 10,000-repository ``repos-1-day`` report, in-process.

    .venv/bin/python benchmarks/repos_bench.py                  # 10,000 repositories
    .venv/bin/python benchmarks/repos_bench.py --repos 50000

A fake in its own process (so its CPU and memory are not the exporter's) serves one organization's
repository report from :mod:`exporter.demo.fake_repos`: the report endpoint on 127.0.0.1 and the
NDJSON files, built once and held in memory, from 127.0.0.2, split in four as GitHub splits large
reports. This process then runs the repository source's fetch as the poller does (the real client
over HTTP: the report endpoint, every file downloaded, parsed and cut to the top N) and builds its
metric families once. Printed as one JSON line: the repositories in the report, the bytes
downloaded, the wall time of the fetch and of the families, and this process's peak RSS
(``ru_maxrss``) before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for tests.fakegithub

from exporter.config import Target
from exporter.demo.fake_repos import RepoDownloads, RepoReports, RepoWorld
from exporter.demo.usage_world import UsageWorld
from exporter.demo.world import demo_github
from exporter.sources.repositories.source import RepositoriesSource
from exporter.wiring import build_client, build_config
from tests.fakegithub.fake_downloads import FakeDownloads
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.serving import free_port

ORG = "octodemo"
TOKEN = "ghp_benchTOKEN0123456789abcdefghijklmnop"
#: A fixed moment, so that every run reads the same report day.
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
FILES = 4


class HeldWorld(RepoWorld):
    """The fake's world with each day's files built once: the fake's CPU stays out of the figures."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._files: dict[tuple[str, str, date], list[bytes]] = {}

    def hold(self, kind: str, name: str, day: date, files: list[bytes]) -> None:
        self._files[(kind, name, day)] = files

    def files(self, kind: str, name: str, day: date) -> list[bytes]:
        key = (kind, name, day)
        if key not in self._files:
            self._files[key] = super().files(kind, name, day)
        return self._files[key]


def _serve(app: Any, host: str) -> tuple[uvicorn.Server, int]:
    port = free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def _fake(repos: int, pipe: Connection) -> None:
    # RepoWorld leaves out about half the idle repositories of a day: ask for twice as many.
    world = HeldWorld(repos_per_entity=repos * 2, entities={"org": {ORG}, "enterprise": set()})
    day = NOW.date() - timedelta(days=1)  # today's report is not out at NOW: yesterday's is read
    rows = world.rows("org", ORG, day)[:repos]
    size = -(-len(rows) // FILES)
    held = [
        b"".join(json.dumps(r).encode() + b"\n" for r in rows[i : i + size])
        for i in range(0, len(rows), size)
    ]
    world.hold("org", ORG, day, held)
    github = FakeGitHub(demo_github(NOW.timestamp()).orgs.values(), [], token=TOKEN, clock=NOW.timestamp)
    downloads, download_port = _serve(RepoDownloads(world, FakeDownloads(UsageWorld(now=NOW))), "127.0.0.2")
    github.usage = RepoReports(world, f"http://127.0.0.2:{download_port}")  # type: ignore[assignment]
    api, api_port = _serve(github, "127.0.0.1")
    pipe.send((api_port, download_port, len(rows), sum(map(len, held))))
    pipe.recv()  # until the benchmark is done
    api.should_exit = downloads.should_exit = True


async def _poll(api: str, host: str) -> dict[str, float]:
    config = build_config(
        {"org": [ORG], "api_url": api, "usage_enabled": "false", "repositories_enabled": "true"},
        {"usage": {"allowed_download_hosts": [host]}},
        {"GITHUB_TOKEN": TOKEN},
    )
    client = build_client(config)
    source = RepositoriesSource(config, client, clock=NOW.timestamp)
    target = Target("org", ORG)
    try:
        start = time.perf_counter()
        snapshot = await source.fetch(target, None)
        fetched = time.perf_counter()
        series = sum(len(family.samples) for family in source.families([snapshot], NOW.timestamp()))
        built = time.perf_counter()
    finally:
        await client.aclose()
    return {
        "reported": snapshot.reported,
        "series": series,
        "fetch_seconds": round(fetched - start, 3),
        "families_seconds": round(built - fetched, 4),
    }


def run(repos: int) -> dict[str, Any]:
    ours, theirs = multiprocessing.Pipe()
    fake = multiprocessing.get_context("spawn").Process(target=_fake, args=(repos, theirs), daemon=True)
    fake.start()
    try:
        api_port, download_port, served, served_bytes = ours.recv()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        polled = asyncio.run(_poll(f"http://127.0.0.1:{api_port}", f"http://127.0.0.2:{download_port}"))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ours.send("done")
    finally:
        fake.join(10)
        if fake.is_alive():
            fake.terminate()
    if polled["reported"] != served:
        raise SystemExit(f"read {polled['reported']} repositories of the {served} served")
    return {
        "benchmark": "repos",
        "repositories": served,
        "files": FILES,
        "downloaded_bytes": served_bytes,
        **polled,
        "peak_rss_mib_before": round(before / 1024, 1),
        "peak_rss_mib": round(after / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=10_000)
    args = parser.parse_args()
    print(json.dumps(run(args.repos)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
