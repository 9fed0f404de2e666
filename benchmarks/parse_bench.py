"""Parse-only benchmark: one day's users report of N users, read and parsed as the usage poll does.

    .venv/bin/python benchmarks/parse_bench.py                  # 10,000 and 100,000 users
    .venv/bin/python benchmarks/parse_bench.py --users 10000

The report is the demo world's rows of usage_bench.py (everyone active), written to a file once. Each
case then reads that file and goes through its lines, best of ``--repeat`` runs:

* ``bound``: a plain read and ``json.loads`` of every line, the floor any parse of these bytes has;
* ``exporter``: the exporter's own parse, every line through
  :class:`~exporter.sources.usage.aggregate.UsageAggregator` (decode, validate, fold), as a poll does
  after the download; ``exporter:json`` the same with ``json.loads`` as the decoder, as before msgspec;
* ``decode:NAME``: a plain read and a decode of every line with each fast decoder installed;
* ``exporter:NAME``: the exporter's parse with that decoder in place of ``json.loads``, which is what
  adopting it would gain on the whole parse;
* ``workers:N``: the usage source's reading as ``backfill --parse-workers N`` does it, runs of lines
  parsed in N worker processes and their parts added in order; its ``ratio`` is of wall times, since
  this process's CPU is no longer the parse's.

Each case runs in its own process and prints one JSON line: the best of ``--repeat`` runs in seconds
of wall time and of CPU time, the ``ratio`` of its CPU time to the bound's (CPU time holds better on a
shared machine), and the process's peak RSS (``VmHWM``) over its RSS before the file is read (the
file's bytes and their lines are in it: the exporter streams, and holds neither).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.usage_bench import build_files
from exporter.sources.usage.aggregate import UsageAggregator
from exporter.sources.usage.model import ReportLinks
from exporter.sources.usage.runs import RUN_LINES, RunReader
from exporter.workers import WorkerPool

#: A fixed clock: the report is the same bytes on every run.
NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def decoders() -> dict[str, Callable[[bytes], Any]]:
    """The fast decoders installed: msgspec (a dependency) and orjson (``pip install orjson`` to compare)."""
    import msgspec

    found: dict[str, Callable[[bytes], Any]] = {"msgspec": msgspec.json.Decoder().decode}
    with contextlib.suppress(ImportError):
        found["orjson"] = importlib.import_module("orjson").loads
    return found


def measure(path: Path, work: Callable[[bytes], object], repeat: int) -> dict[str, float]:
    gc.collect()
    before = _rss_kib("VmRSS")
    best = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        kept = work(path.read_bytes())
        best = min(best, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
        del kept
    return {
        "seconds": round(best, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_added_mib": round((_rss_kib("VmHWM") - before) / 1024, 1),
    }


def plain(decode: Callable[[bytes], Any]) -> Callable[[bytes], object]:
    def work(data: bytes) -> object:
        for line in data.splitlines():
            decode(line)
        return None

    return work


def exporter_parse(day: date, decode: Callable[[bytes], Any] | None = None) -> Callable[[bytes], object]:
    if decode is not None:
        from exporter.github import reports

        reports._decode = decode  # type: ignore[assignment]

    def work(data: bytes) -> object:
        # In runs of lines, as the usage source parses a download (here, in this one process).
        aggregator = UsageAggregator(day)
        lines = data.splitlines()
        for start in range(0, len(lines), RUN_LINES):
            aggregator.feed_user_lines(lines[start : start + RUN_LINES])
        return aggregator

    return work


class _FileLines:
    """A download of ``data``'s lines, as the client hands them to the usage source."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]:
        for line in self.data.splitlines():
            yield line


def pooled_parse(day: date, workers: WorkerPool) -> Callable[[bytes], object]:
    """The usage source's reading with ``workers``: runs parsed there, parts added here in order."""

    def work(data: bytes) -> object:
        aggregator = UsageAggregator(day)

        async def read() -> None:
            runs = RunReader(_FileLines(data), aggregator, workers, max_bytes=len(data))
            try:
                await runs.read(ReportLinks(day, ("file",)), "users")
                await runs.added()
            finally:
                runs.abandon()

        asyncio.run(read())
        return aggregator

    return work


def one_case(case: str, path: Path, day: date, repeat: int) -> dict[str, float]:
    kind, _, name = case.partition(":")
    if kind == "workers":
        workers = WorkerPool(int(name))
        try:
            # Once before, so that starting the workers is not in the figures.
            pooled_parse(day, workers)(path.read_bytes()[:100_000].rpartition(b"\n")[0])
            return measure(path, pooled_parse(day, workers), repeat)
        finally:
            workers.close()
    decode = {"json": json.loads, **decoders()}[name] if name else None
    if kind == "bound":
        return measure(path, plain(json.loads), repeat)
    if kind == "decode" and decode is not None:
        return measure(path, plain(decode), repeat)
    return measure(path, exporter_parse(day, decode), repeat)


def run(users: int, repeat: int) -> list[dict[str, Any]]:
    day, files = build_files(users, NOW)
    with tempfile.TemporaryDirectory(prefix="parse-bench-") as tmp:
        path = Path(tmp) / "users.ndjson"
        path.write_bytes(b"".join(files["users"]))
        del files
        size = path.stat().st_size
        cases = ["bound", "exporter", "exporter:json"]
        for name in decoders():
            cases += [f"decode:{name}", f"exporter:{name}"]
        cases += [f"workers:{count}" for count in (1, 2)]
        results = {}
        for case in cases:
            args = ["--case", case, str(path), day.isoformat(), "--repeat", str(repeat)]
            answer = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True)
            results[case] = json.loads(answer.stdout)
    bound = results["bound"]["cpu_seconds"]
    # Parsed in worker processes, this process's CPU is not the parse's: those cases compare wall
    # times (the bound's wall time is its CPU time, within a few milliseconds).
    return [
        {"case": case, "users": users, "bytes": size, **got,
         "ratio": round(got["seconds" if case.startswith("workers:") else "cpu_seconds"] / bound, 2)}
        for case, got in results.items()
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, action="append", help="default: 10000 and 100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        case, path, day = args.case
        print(json.dumps(one_case(case, Path(path), date.fromisoformat(day), args.repeat)))
        return 0
    for users in args.users or [10_000, 100_000]:
        for line in run(users, args.repeat):
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
