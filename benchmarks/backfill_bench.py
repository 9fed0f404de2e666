"""Backfill benchmark: a year of one enterprise's usage reports and billing, N users active every day.

    .venv/bin/python benchmarks/backfill_bench.py                    # 1,000 and 10,000 users, 362 days
    .venv/bin/python benchmarks/backfill_bench.py --users 1000 --days 30
    .venv/bin/python benchmarks/backfill_bench.py --users 100000 --days 30 --both --prometheus

A fake in its own process serves the enterprise's reports of every day (the demo world's rows of
usage_bench.py, built once, the day rewritten as each file is served) and a year of billing, and
counts the requests it answers: on the API (report links, billing) and on the download host. The
``github-copilot-exporter backfill`` console script reads the days at the highest pacing the
configuration allows (900 requests a minute) into an OpenMetrics file. Each case is one JSON line:
the time against the bound the API requests alone set at that pacing (``ratio``; the downloads go to
the report host, not paced against the REST limit), the steady wall and CPU time of a day (from the
backfill's log line as each day is written), the final assembly, the backfill's peak RSS
(``ru_maxrss`` of that child alone) and its RSS as every tenth day is written, bytes per user-day,
and for a run shorter than a year, a year extrapolated from the measured per-day cost. With promtool
on PATH it then runs the command ``backfill`` prints for the file, and reports promtool's time, peak
RSS and the size of the blocks (``du -sb``); with ``--prometheus`` a real Prometheus loads the blocks
(``benchmarks/prometheus_blocks.py``). ``--both`` runs each size with and without ``--no-per-user``.
The fake serves no repository report: it is left out (``--repositories.enabled=false``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
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

#: The most the configuration allows.
REQUESTS_PER_MINUTE = 900
#: A year of reports less the three days not final yet: everything GitHub lets a backfill read.
YEAR = 362
#: The fake's count of the requests it answered (``api`` on 127.0.0.1, ``downloads`` on 127.0.0.2).
COUNTS_PATH = "/_bench/requests"


class DailyReports:
    """Report endpoints answering every asked day with links to that day's files."""

    def __init__(
        self, github: FakeGitHub, names: dict[str, int], download_base: str, counts: dict[str, int]
    ) -> None:
        self.github = github
        self.names = names
        self.download_base = download_base
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == COUNTS_PATH:  # the benchmark's own question, not counted
            await _answer(send, 200, json.dumps(self.counts).encode(), b"application/json")
            return
        if scope["type"] == "http":
            self.counts["api"] += 1
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

    def __init__(self, day: date, files: dict[str, list[bytes]], counts: dict[str, int]) -> None:
        self.day = day.isoformat().encode()
        self.files = files
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.counts["downloads"] += 1
        asked, name, part = scope["path"].strip("/").split("/")
        body = self.files[name][int(part.removeprefix("part-").removesuffix(".ndjson"))]
        await _answer(send, 200, body.replace(self.day, asked.encode()), b"application/x-ndjson")


def serve_fake(users: int, api_port: int, download_port: int, ready_file: Path) -> None:
    now = datetime.now(UTC)
    started = time.monotonic()
    day, files = build_files(users, now)
    billing = FakeBillingWorld(now=now.timestamp())
    billing.add(
        fake_account("enterprise", ENTERPRISE, now=now.timestamp(), seed=7, seats=users, plan="enterprise",
                     first_day=now.date() - timedelta(days=400))
    )  # fmt: skip
    github = FakeGitHub([], [FakeEnterprise(slug=ENTERPRISE, id=1)], token=TOKEN, billing=billing)
    github.record_requests = False
    counts = {"api": 0, "downloads": 0}
    names = {k: len(v) for k, v in files.items()}
    api = DailyReports(github, names, f"http://127.0.0.2:{download_port}", counts)
    users_bytes = sum(map(len, files["users"]))
    ready_file.write_text(
        json.dumps({"seconds": round(time.monotonic() - started, 1), "users_report_bytes": users_bytes})
    )

    def server(app: Any, host: str, port: int) -> uvicorn.Server:
        return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))

    async def main() -> None:
        servers = [
            server(api, "127.0.0.1", api_port),
            server(DailyDownloads(day, files, counts), "127.0.0.2", download_port),
        ]
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(main())


def run(
    users: int, days: int, *, per_user: bool = True, keep: Path | None = None, prometheus: bool = False,
    workers: int | None = None, promtool: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """One backfill of ``days`` days of ``users`` users, then promtool (and Prometheus) on its output."""
    api_port, download_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="backfill-bench-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ready = Path(tmp) / "ready.json"
        fake = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", str(users), str(api_port), str(download_port),
             str(ready)]
        )  # fmt: skip
        try:
            api_url = f"http://127.0.0.1:{api_port}"
            while not ready.exists() or not _answers(api_url + COUNTS_PATH):
                if fake.poll() is not None:
                    raise RuntimeError("the fake did not start")
                time.sleep(0.5)
            last = datetime.now(UTC).date() - timedelta(days=4)
            first = last - timedelta(days=days - 1)
            config = Path(tmp) / "config.yml"
            config.write_text(
                f"github:\n  requests_per_minute: {REQUESTS_PER_MINUTE}\n"
                f"usage:\n  allowed_download_hosts: ['http://127.0.0.2:{download_port}']\n"
            )
            output = work / ("history.om" if per_user else "history-no-per-user.om")
            backfill = backfill_figures(
                config, api_url, first, last, output, per_user=per_user, workers=workers
            )
            counts = json.loads(httpx.get(api_url + COUNTS_PATH).content)
            size = output.stat().st_size
            bound = counts["api"] / (REQUESTS_PER_MINUTE / 60)
            figures = {
                "users": users,
                "days": days,
                "per_user": per_user,
                "parse_workers": workers,
                "built": json.loads(ready.read_text()),
                **backfill,
                "days_per_minute": round(days / backfill["seconds"] * 60, 1),
                # The bound the API requests alone set: report links and billing at the pacing; the
                # downloads go to the report host, which the REST pacing does not protect.
                "api_requests": counts["api"],
                "downloads": counts["downloads"],
                "pacing_bound_seconds": round(bound, 1),
                "ratio": round(backfill["seconds"] / bound, 2),
                "output_bytes": size,
                "bytes_per_user_day": round(size / (users * days)),
            }
            if days < YEAR:
                figures.update(year_estimate(figures, bound / days))
            blocks = work / ("blocks" if per_user else "blocks-no-per-user")
            if promtool:
                figures.update(promtool_figures(output, blocks, DayRange(first, last, 0)))
            if prometheus and figures.get("blocks"):
                from benchmarks.prometheus_blocks import prometheus_figures

                figures["prometheus"] = prometheus_figures(blocks, first, last)
            return figures
        finally:
            fake.terminate()
            fake.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def backfill_figures(
    config: Path,
    api_url: str,
    first: date,
    last: date,
    output: Path,
    *,
    per_user: bool,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run the console script; its time, peak RSS, and its RSS as each day is written (from its log).

    Its parse workers are processes of their own: the ``tree_`` figures are of the backfill and all
    its descendants together (CPU, and RSS and PSS summed, sampled every quarter of a second).
    """  # fmt: skip
    script = Path(sys.executable).with_name("github-copilot-exporter")
    started = time.monotonic()
    process = subprocess.Popen(
        [str(script), "backfill", "--config", str(config), "--enterprise", ENTERPRISE,
         "--github.api-url", api_url, "--usage.enabled=true", "--repositories.enabled=false",
         "--from", first.isoformat(),
         "--to", last.isoformat(), "--output", str(output), "--log.level", "info", "--log.format", "json",
         *([] if per_user else ["--no-per-user"]),
         *([] if workers is None else ["--parse-workers", str(workers)])],
        env={"GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}, stderr=subprocess.PIPE,
    )  # fmt: skip
    tree = TreeSampler(process.pid)
    tree.start()
    # Seconds, VmRSS and VmHWM in KiB, and CPU seconds, as each day is written.
    written: list[tuple[float, int, int, float]] = []
    tree_cpu: list[float] = []
    finished: dict[str, Any] = {}

    def follow() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            try:
                record = json.loads(line)
            except ValueError:
                sys.stderr.write(line.decode(errors="replace"))
                continue
            if record.get("msg") == "day written":
                written.append((time.monotonic() - started, *_sample(process.pid)))
                tree_cpu.append(tree.cpu())
            elif record.get("msg") == "backfill finished":
                finished.update(record)
            elif record.get("level") in ("warning", "error", "critical", "warn"):
                sys.stderr.write(line.decode(errors="replace"))

    reader = threading.Thread(target=follow)
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    reader.join()
    tree.stop()
    if status != 0 or not written:
        raise RuntimeError(f"backfill exited with status {status}")
    walk = written[-1][0]
    return {
        "seconds": round(seconds, 1),
        "walk_seconds": round(walk, 1),
        # The steady cost of a day: from the first day written to the last, the start-up left out.
        "per_day_seconds": round((walk - written[0][0]) / max(1, len(written) - 1), 3),
        "assemble_seconds": round(seconds - walk, 1),
        # CPU seconds (user and system) of the backfill alone: what a shared machine does not inflate.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "per_day_cpu_seconds": round((written[-1][3] - written[0][3]) / max(1, len(written) - 1), 3),
        "assemble_cpu_seconds": round(usage.ru_utime + usage.ru_stime - written[-1][3], 1),
        "series": finished.get("series"),
        "samples": finished.get("samples"),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        # VmHWM when the 10th, 20th, ... day was written: flat if memory does not grow with the days.
        "peak_rss_mib_by_day": {
            str(n): round(written[n - 1][2] / 1024) for n in range(10, len(written) + 1, 10)
        },
        "rss_mib_by_day": {str(n): round(written[n - 1][1] / 1024) for n in range(10, len(written) + 1, 10)},
        "processes": tree.most_processes,
        "per_day_tree_cpu_seconds": round((tree_cpu[-1] - tree_cpu[0]) / max(1, len(tree_cpu) - 1), 3),
        "peak_tree_rss_mib": round(tree.peak_rss / 1024),
        "peak_tree_pss_mib": round(tree.peak_pss / 1024),
    }


class TreeSampler(threading.Thread):
    """Samples a process and its descendants: the highest sums of their RSS and PSS, in KiB."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = self.peak_pss = self.most_processes = 0
        self._done = threading.Event()

    def pids(self) -> list[int]:
        parents: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rpartition(")")[2].split()
                parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(parents.get(pid, ()))
        return found

    def cpu(self) -> float:
        """CPU seconds so far of the processes alive now."""
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError):
                ticks = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[11:13]
                total += sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK")
        return total

    def run(self) -> None:
        while not self._done.wait(0.25):
            rss = pss = 0
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    rollup = dict(
                        line.split(":", 1)
                        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
                    )
                    rss += int(rollup["Rss"].split()[0])
                    pss += int(rollup["Pss"].split()[0])
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.most_processes = max(self.most_processes, len(pids))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _sample(pid: int) -> tuple[int, int, float]:
    """VmRSS and VmHWM in KiB, and the CPU seconds so far, of process ``pid``."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    # /proc/PID/stat: utime and stime are fields 14 and 15, after the command name in brackets.
    ticks = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[11:13]
    cpu = sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK")
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]), cpu


def year_estimate(figures: dict[str, Any], bound_per_day: float) -> dict[str, Any]:
    """A year (362 days) from the measured run: the start-up once, the steady cost of a day 362 times,
    and the final assembly in proportion to the output's size."""
    startup = figures["walk_seconds"] - figures["per_day_seconds"] * figures["days"]
    seconds = (
        max(0.0, startup) + figures["per_day_seconds"] * YEAR
        + figures["assemble_seconds"] * YEAR / figures["days"]
    )  # fmt: skip
    return {
        "year_estimate_seconds": round(seconds),
        "year_estimate_ratio": round(seconds / (bound_per_day * YEAR), 2),
        "year_estimate_output_bytes": round(figures["output_bytes"] * YEAR / figures["days"]),
    }


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
        "blocks_bytes": int(
            subprocess.run(
                ["du", "-sb", str(blocks)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, action="append")
    # A year of reports less the three days not final yet: everything GitHub lets a backfill read.
    parser.add_argument("--days", type=int, default=YEAR)
    parser.add_argument("--no-per-user", action="store_true", help="backfill with --no-per-user")
    parser.add_argument("--both", action="store_true", help="each size with and without per-user series")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the output and blocks in DIR")
    parser.add_argument(
        "--prometheus", action="store_true", help="load the blocks into /usr/bin/prometheus and query them"
    )
    parser.add_argument(
        "--parse-workers", type=int, metavar="N", help="the backfill's --parse-workers (default: its own)"
    )
    parser.add_argument("--no-promtool", action="store_true", help="leave promtool out")
    parser.add_argument("--serve-fake", nargs=4, metavar=("USERS", "API_PORT", "DOWNLOAD_PORT", "READY"))
    args = parser.parse_args()
    if args.serve_fake:
        users, api_port, download_port, ready = args.serve_fake
        serve_fake(int(users), int(api_port), int(download_port), Path(ready))
        return 0
    modes = [True, False] if args.both else [not args.no_per_user]
    for users in args.users or [1000, 10_000]:
        for per_user in modes:
            keep = args.keep / f"{users}-users" if args.keep else None
            figures = run(
                users, args.days, per_user=per_user, keep=keep, prometheus=args.prometheus,
                workers=args.parse_workers, promtool=not args.no_promtool,
            )  # fmt: skip
            print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
