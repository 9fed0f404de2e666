"""What a real Prometheus costs to hold a backfill's blocks: its RSS and series, before and after queries.

Used by ``backfill_bench.py --prometheus``; on its own, for blocks made before:

    .venv/bin/python benchmarks/prometheus_blocks.py BLOCKS_DIR FIRST_DAY LAST_DAY

A ``/usr/bin/prometheus`` in a temporary directory, on a loopback port, with the blocks copied into its
TSDB directory, retention long enough to keep them, and nothing to scrape but itself. The benchmark
reads its RSS (``VmRSS``, ``VmHWM`` from ``/proc``) and ``prometheus_tsdb_head_series`` once it is
ready, then runs the queries the dashboards run over the backfilled range (the per-user tables over
the whole range, the daily panels at a step of a day) and reads them again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakegithub.serving import free_port

PROMETHEUS = "/usr/bin/prometheus"
#: (name, PromQL, range) where range says whether it is a range query over the days at a step of 1d.
QUERIES = (
    ("series", 'count({__name__=~"github_copilot_.+"})', False),
    ("user_series", 'count({__name__=~"github_copilot_user_.+"})', False),
    ("top_users_over_range",
     "topk(20, sum by (user) (sum_over_time(github_copilot_user_interactions[{days}d])))", False),
    ("daily_interactions", "sum(last_over_time(github_copilot_user_interactions[1d]))", True),
    ("daily_credits_by_user", "topk(10, last_over_time(github_copilot_user_ai_credits_used[1d]))", True),
    ("daily_active_users", "max(last_over_time(github_copilot_usage_active_users[1d]))", True),
)  # fmt: skip


def _status(pid: int) -> dict[str, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


def _mib(kib: int) -> int:
    return round(kib / 1024)


def _metric(url: str, name: str) -> int:
    """One of Prometheus' own metrics, read from its /metrics."""
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise RuntimeError(f"no {name}")


def prometheus_figures(blocks: Path, first: date, last: date, scrape: str | None = None) -> dict[str, Any]:
    """Start Prometheus on a copy of ``blocks`` (the days ``first`` to ``last``) and measure it; with
    ``scrape`` (host:port of a running exporter) it also scrapes that exporter every 15 s."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="prometheus-blocks-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for block in blocks.iterdir():
            if block.is_dir() and block.name != "wal":
                shutil.copytree(block, data / block.name)
        config = Path(tmp) / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 15s}\n"
            "scrape_configs:\n  - {job_name: prometheus, static_configs: "
            f"[{{targets: ['127.0.0.1:{port}']}}]}}\n"
        )
        if scrape:
            config.write_text(
                config.read_text()
                + "  - {job_name: copilot, scrape_timeout: 14s, static_configs: "
                + f"[{{targets: ['{scrape}']}}]}}\n"
            )
        started = time.monotonic()
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=400d", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not _ready(url):
                if process.poll() is not None or time.monotonic() - started > 600:
                    raise RuntimeError("prometheus did not start")
                time.sleep(0.5)
            ready = round(time.monotonic() - started, 1)
            time.sleep(65 if scrape else 35)  # a few scrapes, as a running Prometheus has
            loaded = _status(process.pid)
            figures: dict[str, Any] = {
                "version": _version(),
                "ready_seconds": ready,
                "blocks_loaded": _metric(url, "prometheus_tsdb_blocks_loaded"),
                "rss_mib_loaded": _mib(loaded["VmRSS"]),
                "head_series_loaded": _metric(url, "prometheus_tsdb_head_series"),
                **({"scrape": _scrapes(url)} if scrape else {}),
                "queries": _queries(url, first, last),
            }
            after = _status(process.pid)
            figures.update(
                rss_mib_after_queries=_mib(after["VmRSS"]),
                peak_rss_mib=_mib(after["VmHWM"]),
                head_series_after_queries=_metric(url, "prometheus_tsdb_head_series"),
            )
            return figures
        finally:
            process.terminate()
            process.wait(60)


def _scrapes(url: str) -> dict[str, Any]:
    """The exporter's scrapes so far: how many, their samples and duration, as Prometheus saw them."""
    found = {}
    for name in ("scrape_samples_scraped", "scrape_duration_seconds", "up"):
        answer = httpx.get(f"{url}/api/v1/query", params={"query": f'{name}{{job="copilot"}}'}, timeout=60)
        result = answer.json()["data"]["result"]
        found[name] = float(result[0]["value"][1]) if result else None
    answer = httpx.get(
        f"{url}/api/v1/query", params={"query": 'count_over_time(up{job="copilot"}[10m])'}, timeout=60
    )
    result = answer.json()["data"]["result"]
    found["scrapes"] = int(float(result[0]["value"][1])) if result else 0
    return found


@contextlib.contextmanager
def live_exporter(users: int) -> Iterator[str]:
    """The console script polling a fake enterprise of ``users`` seats and users (usage_bench.py's),
    once its three sources have polled: its host:port."""
    from benchmarks.usage_bench import ENTERPRISE, TOKEN, measure, served_fake

    port = free_port()
    with served_fake(users) as (api_url, download_port, _), tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        config.write_text(
            "github:\n  requests_per_minute: 900\n"
            f"usage:\n  allowed_download_hosts: ['http://127.0.0.2:{download_port}']\n"
        )
        script = Path(sys.executable).with_name("github-copilot-exporter")
        exporter = subprocess.Popen(
            [str(script), "--config", str(config), "--enterprise", ENTERPRISE, "--github.api-url", api_url,
             "--usage.enabled=true", "--seat-metrics", "login", "--web.listen-address",
             f"127.0.0.1:{port}", "--log.level", "warn"],
            env={"GITHUB_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        try:
            measure(exporter, f"http://127.0.0.1:{port}")
            yield f"127.0.0.1:{port}"
        finally:
            exporter.terminate()
            exporter.wait(30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _version() -> str:
    done = subprocess.run([PROMETHEUS, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).split("\n", 1)[0]


def _queries(url: str, first: date, last: date) -> dict[str, Any]:
    """Each query's wall time and result size, over the backfilled days (stamped 23:59:59 of day+1)."""
    start = datetime.combine(first + timedelta(days=2), clock(), UTC)
    end = datetime.combine(last + timedelta(days=2), clock(), UTC)
    days = (last - first).days + 1
    results = {}
    for name, query, ranged in QUERIES:
        expr = query.replace("{days}", str(days))
        params: dict[str, str | float] = (
            {"query": expr, "start": start.timestamp(), "end": end.timestamp(), "step": "1d"}
            if ranged
            else {"query": expr, "time": end.timestamp()}
        )
        began = time.monotonic()
        answer = httpx.get(f"{url}/api/v1/{'query_range' if ranged else 'query'}", params=params, timeout=600)
        seconds = time.monotonic() - began
        answer.raise_for_status()
        result = answer.json()["data"]["result"]
        value = result[0]["value"][1] if result and not ranged and len(result) == 1 else None
        results[name] = {
            "seconds": round(seconds, 2),
            "results": len(result),
            **({"value": value} if value else {}),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("blocks", type=Path)
    parser.add_argument("first", type=date.fromisoformat, help="first backfilled day")
    parser.add_argument("last", type=date.fromisoformat, help="last backfilled day")
    parser.add_argument(
        "--scrape-users", type=int, metavar="N", help="also scrape an exporter of N seats and users"
    )
    args = parser.parse_args()
    if args.scrape_users:
        with live_exporter(args.scrape_users) as target:
            figures = prometheus_figures(args.blocks, args.first, args.last, target)
        figures["scrape_users"] = args.scrape_users
    else:
        figures = prometheus_figures(args.blocks, args.first, args.last)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
