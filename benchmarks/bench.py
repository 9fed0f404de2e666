"""Enterprise-scale benchmark: the installed exporter against a fake GitHub with N seats on loopback.

    make bench                                    # 1k, 10k and 100k seats, 50 ms per request
    make bench BENCH_ARGS="--seats 10000 --memory-polls 20"
    .venv/bin/python benchmarks/bench.py --help

For each size it serves one enterprise with N seats (N/100 pages) from a FakeGitHub in its own process
(so the fake's CPU is not counted as the exporter's) with a fixed latency per request and GitHub's
secondary limits enforced, then runs the ``github-copilot-exporter`` console script as users do, with
default pacing and a poll interval of 1m (more when a poll takes longer), and measures from outside:

* poll 1 (everything new) and poll 2 (unchanged: conditional requests): wall time as the exporter
  reports it (``github_copilot_poll_duration_seconds``), its ratio to the lower bound set by latency,
  concurrency and pacing, requests and 304s, and the exporter's CPU time (``/proc/<pid>/stat``);
* scrapes of ``/metrics`` (uncompressed and gzip, alternately) while poll 3 runs: median and p99
  latency and body size; the first scrape after new data (which lays out the per-seat cache) apart;
* the exporter's peak RSS (``VmHWM``), and the fake's peak requests in flight and secondary-limit hits.

With ``--memory-polls K`` it then polls K times in-process against a zero-latency fake, changing 1% of
the seats before each poll and rendering ``/metrics`` after it, and reports the RSS after each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for tests.fakegithub

from exporter.github.pacing import batch_spacing, paced_seconds
from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub, FakeSeat
from tests.fakegithub.serving import exporter_command, free_port, wait_until

ENTERPRISE = "bench-enterprise"
TOKEN = "ghp_benchTOKEN0123456789abcdefghijklmnop"
#: Seconds of idle CPU measured between poll 2 and poll 3 (every size leaves more than that idle).
IDLE_WINDOW = 20.0
EDITORS = (
    "vscode/1.95.3/copilot/1.245.0",
    "JetBrains-IU/2024.3/copilot-intellij/1.5.29",
    "VisualStudio/17.12.1/copilot-vs/1.207.0",
    "Neovim/0.10.2/copilot.vim/1.41.0",
    "copilot-chat-platform",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


# -- data ------------------------------------------------------------------------------------------


def make_enterprise(seats: int, seed: int = 7) -> FakeEnterprise:
    """``seats`` users over 1 org per 2,000 seats (at least 5) and 12 teams, with a realistic activity mix."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    orgs = [f"org-{i:03d}" for i in range(max(5, seats // 2000))]
    teams = [f"team-{i:02d}" for i in range(12)] + [None, None]
    out = []
    for i in range(seats):
        roll = rng.random()
        last: datetime | None
        if roll < 0.6:
            last = now - timedelta(hours=rng.uniform(1, 24))
        elif roll < 0.85:
            last = now - timedelta(days=rng.uniform(1, 60))
        else:
            last = None
        out.append(
            FakeSeat(
                login=f"user-{i:06d}",
                user_id=1_000_000 + i,
                created_at=now - timedelta(days=rng.uniform(60, 600)),
                org=rng.choice(orgs),
                team=rng.choice(teams),
                plan_type="enterprise",
                last_activity_at=last,
                last_activity_editor=rng.choice(EDITORS) if last else None,
                last_authenticated_at=last,
                pending_cancellation_date=None,
            )
        )
    return FakeEnterprise(slug=ENTERPRISE, id=42, seats=out)


class BenchFake:
    """The FakeGitHub plus a control API under ``/_bench/``: its counters, and changing seats."""

    def __init__(self, fake: FakeGitHub, enterprise: FakeEnterprise) -> None:
        self.fake = fake
        self.enterprise = enterprise
        self.codes: Counter[int] = Counter()
        self._rng = random.Random(11)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_bench/"):
            await self._control(scope, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.codes[message["status"]] += 1
            await send(message)

        await self.fake(scope, receive, counting_send)

    async def _control(self, scope: Scope, send: Any) -> None:
        if scope["path"] == "/_bench/touch":
            query = parse_qs(scope.get("query_string", b"").decode())
            count = int(query.get("n", ["0"])[0])
            now = datetime.now(UTC)
            for seat in self._rng.sample(self.enterprise.seats, min(count, len(self.enterprise.seats))):
                seat.last_activity_at = now
                seat.last_authenticated_at = now
                seat.last_activity_editor = EDITORS[0]
            body: dict[str, Any] = {"touched": count}
        else:
            body = {
                "requests": sum(self.codes.values()),
                "codes": {str(k): v for k, v in self.codes.items()},
                "peak_in_flight": self.fake.peak_in_flight,
                "secondary_limit_hits": self.fake.secondary_limit_hits,
            }
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": data})


def serve_fake(seats: int, latency: float, port: int, per_minute: int) -> None:
    """Entry point of the fake's own process."""
    enterprise = make_enterprise(seats)
    fake = FakeGitHub(
        [],
        [enterprise],
        token=TOKEN,
        latency=latency,
        rate_limit=1_000_000,
        per_minute_per_endpoint=per_minute,
    )
    fake.record_requests = False  # a list of every request would grow through the whole run
    config = uvicorn.Config(
        BenchFake(fake, enterprise), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uvicorn.Server(config).run()


# -- processes -------------------------------------------------------------------------------------


@contextlib.contextmanager
def fake_process(seats: int, latency: float, per_minute: int = 900) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, __file__, "serve-fake", str(seats), str(latency), str(port), str(per_minute)]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/_bench/stats").status_code == 200, 120, 0.1, "the fake GitHub")
        yield url
    finally:
        process.terminate()
        process.wait(15)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def status_kib(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def settle_cpu(pid: int, quiet: float = 0.02, window: float = 0.5) -> float:
    """The process's CPU time once it has stopped working (less than ``quiet`` s CPU per ``window``)."""
    before = cpu_seconds(pid)
    while True:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now - before < quiet:
            return now
        before = now


def metric(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    found = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                found += sample.value
    return found


# -- one size --------------------------------------------------------------------------------------


@dataclass
class Scrape:
    seconds: float
    size: int
    gzip: bool
    during_poll: bool


@dataclass
class Result:
    seats: int
    pages: int
    bound: float
    polls: list[dict[str, float]] = field(default_factory=list)
    first_scrape: float = 0.0
    scrapes: list[Scrape] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    peak_in_flight: int = 0
    secondary_limit_hits: int = 0
    memory: list[float] = field(default_factory=list)
    memory_peak_mib: float = 0.0
    idle_cpu_per_hour: float = 0.0


def poll_bound(pages: int, latency: float, concurrency: int, per_minute: float) -> float:
    """The least wall time of a poll: pages in batches of ``concurrency`` at the pacing, or latency bound.

    Page 1 opens the first batch; the others join it once page 1 has told the page count, and the last
    batch starts one batch spacing short of the pacer's whole time (it has no spacing to wait out).
    """
    pacing = paced_seconds(pages, concurrency, per_minute) - batch_spacing(concurrency, per_minute)
    return max(pages * latency / concurrency, pacing) + latency


def scrape(client: httpx.Client, url: str, use_gzip: bool) -> tuple[float, int]:
    encoding = "gzip" if use_gzip else "identity"
    start = time.perf_counter()
    with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as response:
        response.raise_for_status()
        size = sum(len(chunk) for chunk in response.iter_raw())
    return time.perf_counter() - start, size


def run_size(seats: int, latency: float, scrapes: int, workdir: Path, seat_metrics: str = "login") -> Result:
    concurrency, per_minute = 4, 600.0  # the exporter's defaults, which the config below leaves alone
    pages = max(1, math.ceil(seats / 100))
    result = Result(seats, pages, poll_bound(pages, latency, concurrency, per_minute))
    with fake_process(seats, latency) as fake_url:
        # Polls must not run into each other, or one poll's CPU time could not be told from the next's.
        interval = max(1, math.ceil(result.bound * 1.3 / 60))
        config = workdir / f"bench-{seats}.yml"
        config.write_text(
            f"enterprises: [{ENTERPRISE}]\npoll_interval: {interval}m\n"
            f"github: {{api_url: '{fake_url}'}}\n"
            f"seat_metrics: {{mode: '{seat_metrics}', max_series: {seats}}}\n"
            # The fake serves seats only; billing, usage and the repository report have benchmarks
            # of their own.
            "billing: {enabled: false}\nusage: {enabled: 'false'}\nrepositories: {enabled: 'false'}\n"
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "GITHUB_TOKEN": TOKEN}
        log_path = workdir / f"exporter-{seats}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*exporter_command(), "--config", str(config), "--web.listen-address", f"127.0.0.1:{port}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            measure(result, process.pid, url, fake_url, scrapes)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    return result


def fake_requests(client: httpx.Client, fake_url: str) -> int:
    stats = client.get(f"{fake_url}/_bench/stats").json()
    return int(stats["requests"])


def measure(result: Result, pid: int, url: str, fake_url: str, scrapes: int) -> None:
    pages = result.pages
    client = httpx.Client(timeout=120)
    wait_until(lambda: client.get(f"{url}/healthz").status_code == 200, 60, 0.1, "the exporter to listen")
    cpu_start = cpu_seconds(pid)
    # Watch the fake, not the exporter, while the pages come in: a probe of /readyz every 0.1 s would
    # add a thousand answered requests to the CPU time of a 100 s poll. Only the snapshot build after
    # the last page is watched at the exporter.
    wait_until(lambda: fake_requests(client, fake_url) >= pages, 3600, 0.2, "poll 1 pages")
    wait_until(lambda: client.get(f"{url}/readyz").status_code == 200, 600, 0.05, "poll 1")
    # Read at once: a second later the collector starts laying out the per-seat exposition.
    cpu_poll1 = cpu_seconds(pid)
    # The first scrape after new data lays out the per-seat cache; it is reported on its own.
    result.first_scrape, _ = scrape(client, f"{url}/metrics", use_gzip=True)
    text = client.get(f"{url}/metrics").text
    settle_cpu(pid)
    result.polls.append(
        {
            "wall": metric(text, "github_copilot_poll_duration_seconds"),
            "requests": metric(text, "github_copilot_api_requests_total"),
            "not_modified": metric(text, "github_copilot_api_requests_total", code="304"),
            "cpu": cpu_poll1 - cpu_start,
        }
    )

    # Poll 2: the same data, asked for with the ETags of poll 1.
    wait_until(lambda: fake_requests(client, fake_url) > pages, 3600, 0.05, "poll 2 to start")
    cpu_before_poll2 = cpu_seconds(pid)
    wait_until(lambda: fake_requests(client, fake_url) >= 2 * pages, 3600, 0.2, "poll 2")
    cpu_poll2 = settle_cpu(pid)
    text = client.get(f"{url}/metrics").text
    if metric(text, "github_copilot_polls_total") != 2:
        raise RuntimeError("poll 2 has not completed although the fake answered all its requests")
    requests = metric(text, "github_copilot_api_requests_total")
    result.polls.append(
        {
            "wall": metric(text, "github_copilot_poll_duration_seconds"),
            "requests": requests - result.polls[0]["requests"],
            "not_modified": metric(text, "github_copilot_api_requests_total", code="304")
            - result.polls[0]["not_modified"],
            "cpu": cpu_poll2 - cpu_before_poll2,
        }
    )

    # Idle: between poll 2 and poll 3 the process only waits (and answers nothing).
    idle_start = cpu_seconds(pid)
    time.sleep(IDLE_WINDOW)
    result.idle_cpu_per_hour = (cpu_seconds(pid) - idle_start) * 3600 / IDLE_WINDOW

    # Scrapes while poll 3 runs (for small sizes the poll ends before the scrapes do: counted apart).
    wait_until(lambda: fake_requests(client, fake_url) > 2 * pages, 3600, 0.05, "poll 3")
    for i in range(scrapes):
        use_gzip = i % 2 == 1
        seconds, size = scrape(client, f"{url}/metrics", use_gzip)
        during = fake_requests(client, fake_url) < 3 * pages
        result.scrapes.append(Scrape(seconds, size, use_gzip, during))

    result.peak_rss_mib = status_kib(pid, "VmHWM") / 1024
    stats = client.get(f"{fake_url}/_bench/stats").json()
    result.peak_in_flight = stats["peak_in_flight"]
    result.secondary_limit_hits = stats["secondary_limit_hits"]
    client.close()


# -- memory over many polls, in-process -----------------------------------------------------------


def memory_over_polls(seats: int, polls: int) -> tuple[list[float], float]:
    """RSS (MiB) after each of ``polls`` polls with 1% of the seats changed before each, and a scrape;
    and the peak RSS over them all."""
    from exporter import gc_tuning, malloc
    from exporter.exposition import render_pieces
    from exporter.github.auth import StaticToken
    from exporter.github.client import GitHubClient
    from exporter.github.pacing import RequestPacer
    from exporter.web.server import Exporter
    from exporter.wiring import build_config

    gc_tuning.tune()  # as the console script does at start
    malloc.tune()
    # Reset VmHWM (Linux >= 4.0), so that the peak is this run's, not an earlier size's.
    Path("/proc/self/clear_refs").write_text("5")
    with fake_process(seats, 0.0, per_minute=1_000_000) as fake_url:
        config = build_config(
            {"enterprise": [ENTERPRISE], "api_url": fake_url},
            {
                "seat_metrics": {"max_series": seats},
                "billing": {"enabled": False},
                "usage": {"enabled": False},
                "repositories": {"enabled": False},
            },
            {"GITHUB_TOKEN": TOKEN},
        )

        async def run() -> list[float]:
            client = GitHubClient(fake_url, StaticToken(TOKEN), pacer=RequestPacer(8, 1_000_000))
            exporter = Exporter(config, client)
            state, poller, registry = exporter.state, exporter.poller, exporter.registry
            rss = []
            async with httpx.AsyncClient() as control:
                for _ in range(polls):
                    await control.post(f"{fake_url}/_bench/touch", params={"n": max(1, seats // 100)})
                    await poller.poll_once()
                    if not state.ready:
                        raise RuntimeError("a poll failed during the memory run")
                    # As the server answers a scrape: the body as pieces, which it sends without joining.
                    for encoding in ("gzip", ""):
                        await asyncio.to_thread(render_pieces, registry, "", encoding)
                    gc.collect()
                    rss.append(status_kib("self", "VmRSS") / 1024)
            await client.aclose()
            return rss

        readings = asyncio.run(run())
    return readings, status_kib("self", "VmHWM") / 1024


# -- report ----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def report(results: list[Result], latency: float) -> str:
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"latency {latency * 1000:.0f} ms per request, default pacing (4 in flight, 600 requests/min)",
        "",
        "| seats | pages | poll | wall s | bound s | ratio | requests | 304s | CPU s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for n, poll in enumerate(r.polls, 1):
            ratio = poll["wall"] / r.bound
            lines.append(
                f"| {r.seats:,} | {r.pages:,} | {n} | {poll['wall']:.2f} | {r.bound:.2f} | {ratio:.3f} "
                f"| {poll['requests']:.0f} | {poll['not_modified']:.0f} | {poll['cpu']:.2f} |"
            )
    lines += [
        "",
        "| seats | CPU s per 1,000 pages, poll 1 / poll 2 | idle CPU s per hour | 304 share "
        "| peak RSS MiB | peak in flight | secondary-limit hits |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        first, second = r.polls
        per_1000 = 1000 / r.pages
        lines.append(
            f"| {r.seats:,} | {first['cpu'] * per_1000:.2f} / {second['cpu'] * per_1000:.2f} "
            f"| {r.idle_cpu_per_hour:.1f} "
            f"| {second['not_modified'] / second['requests']:.1%} | {r.peak_rss_mib:.0f} "
            f"| {r.peak_in_flight} | {r.secondary_limit_hits} |"
        )
    lines += [
        "",
        "| seats | encoding | scrapes (during poll) | median s | p99 s | max s | bytes | first scrape s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for use_gzip in (False, True):
            chosen = [s for s in r.scrapes if s.gzip == use_gzip]
            times = [s.seconds for s in chosen]
            lines.append(
                f"| {r.seats:,} | {'gzip' if use_gzip else 'identity'} "
                f"| {len(chosen)} ({sum(s.during_poll for s in chosen)}) "
                f"| {statistics.median(times):.3f} | {percentile(times, 0.99):.3f} | {max(times):.3f} "
                f"| {chosen[-1].size:,} | {r.first_scrape:.3f} |"
            )
    memory = [r for r in results if r.memory]
    if memory:
        # Levels rather than single readings: the first poll has no previous snapshot to hold beside the
        # new one, and single readings after a poll scatter by some MiB with the allocator's timing.
        lines += [
            "",
            "| seats | polls | RSS after poll 1 MiB | median of polls 2-10 | median of the last 10 | max "
            "| peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in memory:
            early = r.memory[1:10] or r.memory
            late = r.memory[-10:]
            lines.append(
                f"| {r.seats:,} | {len(r.memory)} | {r.memory[0]:.0f} | {statistics.median(early):.0f} "
                f"| {statistics.median(late):.0f} | {max(r.memory):.0f} | {r.memory_peak_mib:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "serve-fake":
        serve_fake(int(args[1]), float(args[2]), int(args[3]), int(args[4]))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seats", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request at the fake")
    parser.add_argument("--scrapes", type=int, default=50, help="scrapes of /metrics per size")
    parser.add_argument("--memory-polls", type=int, default=50, help="in-process polls per size (0: skip)")
    parser.add_argument(
        "--seat-metrics",
        default="login",
        choices=("login", "off"),
        help="per-seat series of the console script",
    )
    options = parser.parse_args(args)
    sizes = [int(s) for s in options.seats.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
        for seats in sizes:
            print(f"-- {seats:,} seats", file=sys.stderr, flush=True)
            result = run_size(seats, options.latency, options.scrapes, Path(tmp), options.seat_metrics)
            if options.memory_polls:
                result.memory, result.memory_peak_mib = memory_over_polls(seats, options.memory_polls)
                readings = " ".join(f"{mib:.0f}" for mib in result.memory)
                print(f"RSS MiB after each poll: {readings}", file=sys.stderr, flush=True)
            results.append(result)
            print(report([result], options.latency), file=sys.stderr, flush=True)
    print(report(results, options.latency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
