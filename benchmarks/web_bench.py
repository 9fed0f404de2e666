"""Does ``/seats.csv`` starve ``/metrics``? Scrape latency alone and under clients looping on the report.

    .venv/bin/python benchmarks/web_bench.py                 # 50,000 seats, 6 looping clients
    .venv/bin/python benchmarks/web_bench.py --seats 10000 --clients 3 --scrapes 20
    .venv/bin/python benchmarks/web_bench.py --exporter /other/checkout/.venv/bin/github-copilot-exporter

One enterprise of N seats served by bench.py's FakeGitHub in its own process, the console script polling
it with per-seat series for every seat. Once the first poll is in and ``/metrics`` was scraped once (the
first scrape lays out the per-seat cache), it times ``--scrapes`` sequential gzip scrapes of
``/metrics`` (as Prometheus asks for them) in three cases: alone; while ``--clients`` processes each
loop on ``GET /seats.csv``, reading every body; and alone again. Prints one JSON line per case, then
one with the ratio of the loaded median to the first alone median.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, for benchmarks.bench
from benchmarks.bench import ENTERPRISE, TOKEN, fake_process, percentile, scrape
from tests.fakegithub.serving import exporter_command, free_port, wait_until


def loop_on(url: str) -> int:
    """Entry point of one looping client: GET ``url`` until SIGTERM, then print how many answers came."""
    done = 0
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    with httpx.Client(timeout=120) as client:
        while not stop:
            with client.stream("GET", url) as response:
                for _ in response.iter_raw():
                    pass
            done += 1
    print(done, flush=True)
    return 0


def timed_scrapes(client: httpx.Client, url: str, count: int) -> dict[str, float]:
    times, size = [], 0
    for _ in range(count):
        seconds, size = scrape(client, url, use_gzip=True)
        times.append(seconds)
    return {
        "scrapes": count,
        "median_s": round(statistics.median(times), 4),
        "p90_s": round(percentile(times, 0.9), 4),
        "max_s": round(max(times), 4),
        "bytes": size,
    }


def run(seats: int, clients: int, scrapes: int, exporter: list[str]) -> list[dict[str, object]]:
    pages = math.ceil(seats / 100)
    with fake_process(seats, 0.0, per_minute=1_000_000) as fake_url, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "web-bench.yml"
        config.write_text(
            f"enterprises: [{ENTERPRISE}]\npoll_interval: 1h\n"
            f"github: {{api_url: '{fake_url}', requests_per_minute: 900, max_concurrency: 8}}\n"
            f"seat_metrics: {{max_series: {seats}}}\n"
            "billing: {enabled: false}\nusage: {enabled: 'false'}\n"
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "exporter.log").open("wb")
        process = subprocess.Popen(
            [*exporter, "--config", str(config), "--web.listen-address", f"127.0.0.1:{port}"],
            env={**os.environ, "GITHUB_TOKEN": TOKEN},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        loops: list[subprocess.Popen[str]] = []
        try:
            client = httpx.Client(timeout=120)
            wait_until(lambda: client.get(f"{url}/readyz").status_code == 200, 60 + pages, 0.5, "poll 1")
            scrape(client, f"{url}/metrics", use_gzip=True)  # lays out the per-seat cache
            csv_bytes = len(client.get(f"{url}/seats.csv").content)
            common = {"seats": seats, "seats_csv_bytes": csv_bytes}
            results: list[dict[str, object]] = [
                {"case": "metrics_alone", **common, **timed_scrapes(client, f"{url}/metrics", scrapes)}
            ]
            command = [sys.executable, __file__, "loop", f"{url}/seats.csv"]
            loops = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(clients)]
            time.sleep(2.0)  # every client in its loop
            started = time.perf_counter()
            loaded = timed_scrapes(client, f"{url}/metrics", scrapes)
            elapsed = time.perf_counter() - started
            answered = 0
            for loop in loops:
                loop.send_signal(signal.SIGTERM)
                out, _ = loop.communicate(timeout=120)
                answered += int(out.strip() or 0)
            loops = []
            results.append(
                {
                    "case": f"metrics_with_{clients}_clients_looping_on_seats_csv",
                    **common,
                    **loaded,
                    "seats_csv_answers_per_s": round(answered / (elapsed + 2.0), 2),
                }
            )
            results.append(
                {"case": "metrics_alone_after", **common, **timed_scrapes(client, f"{url}/metrics", scrapes)}
            )
            before, after = (float(str(results[i]["median_s"])) for i in (0, 2))
            median = float(str(loaded["median_s"]))
            results.append(
                {
                    "case": "ratio",
                    "seats": seats,
                    "loaded_to_alone_before": round(median / before, 2),
                    "loaded_to_alone_after": round(median / after, 2),
                }
            )
            client.close()
            return results
        finally:
            for loop in loops:
                loop.kill()
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            log.close()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "loop":
        return loop_on(args[1])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seats", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=6, help="processes looping on /seats.csv")
    parser.add_argument("--scrapes", type=int, default=30, help="timed /metrics scrapes per case")
    parser.add_argument("--exporter", help="the console script to run (default: this checkout's)")
    options = parser.parse_args(args)
    exporter = [options.exporter] if options.exporter else exporter_command()
    for result in run(options.seats, options.clients, options.scrapes, exporter):
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
