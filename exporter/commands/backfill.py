"""``backfill``: past days of usage reports and billing as OpenMetrics text for ``promtool``.

The same configuration, credentials, pacing and privacy mode as the exporter. Exit status: 0 when
every day was written, 1 when a day failed (each is named in the log) or the output cannot be
written, 2 for bad arguments, dates beyond GitHub's retention, or a work directory that cannot be
resumed; 130 when interrupted (``--resume`` continues). See docs/history.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import shutil
import signal
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from exporter.backfill.days import DateRangeError, DayRange, check_range, first_day, parse_day, sample_time
from exporter.backfill.openmetrics import SpillWriter
from exporter.backfill.progress import Summary, progress_for, report
from exporter.backfill.promtool import PromtoolError, create_blocks, find_promtool, shown
from exporter.backfill.promtool import command as promtool_command
from exporter.backfill.state import ResumeError, RunState, open_state
from exporter.backfill.walk import DayWalk, Plan, Reading
from exporter.commands import complain
from exporter.config import Config
from exporter.errors import ConfigError
from exporter.github.client import GitHubClient
from exporter.privacy import UserLabels
from exporter.sources.spec import BackfillPart, BackfillWiring
from exporter.wiring import enabled_specs, specs
from exporter.workers import WorkerError, WorkerPool

HELP = "write past days of usage reports and billing as OpenMetrics for promtool's TSDB blocks"
DESCRIPTION = (
    "Read, for each target and each day from --from (default: as far back as GitHub keeps) to --to, "
    "the 1-day usage reports (entity, users, user-teams) and the billing usage of the day, and write "
    "OpenMetrics text with timestamps for `promtool tsdb create-blocks-from openmetrics FILE DIR`: the "
    "exporter's own metric names and labels. Takes every flag of the exporter. Exit status: 0 when every "
    "day was written, 1 when a day failed, 2 for bad arguments or dates, 130 when interrupted (--resume "
    "continues). See docs/history.md."
)
log = logging.getLogger("exporter.backfill")
#: Parse workers by default at most: beyond these the downloads and the writing set the pace.
MAX_WORKERS = 4


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date as YYYY-MM-DD (UTC), got {text!r}") from None


def default_workers() -> int:
    """One parse worker per CPU this process may run on, at most :data:`MAX_WORKERS`."""
    # macOS has no affinity.
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return min(cpus, MAX_WORKERS)


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_WORKERS * 4:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_WORKERS * 4}, got {text!r}")
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    first = parser.add_mutually_exclusive_group()
    first.add_argument(
        "--from",
        dest="from_day",
        metavar="DATE",
        type=_day,
        help="first day; default as far back as GitHub keeps",
    )
    first.add_argument(
        "--days", dest="days", metavar="N", type=int, help="instead of --from: the last N days up to --to"
    )
    parser.add_argument(
        "--to", dest="to_day", metavar="DATE", type=_day, help="last day; default the newest final day"
    )
    parser.add_argument("--output", dest="output", metavar="FILE", required=True, help="OpenMetrics file")
    parser.add_argument(
        "--resume", dest="resume", action="store_true", help="continue the interrupted run of FILE.partial/"
    )
    parser.add_argument(
        "--no-per-user", dest="no_per_user", action="store_true", help="leave out the per-user series"
    )
    parser.add_argument(
        "--parse-workers",
        dest="parse_workers",
        metavar="N",
        type=_workers,
        default=default_workers(),
        help="processes that parse the usage reports while the next lines download; 0 parses in this "
        f"one (default: one per CPU, at most {MAX_WORKERS})",
    )
    parser.add_argument(
        "--blocks",
        dest="blocks",
        metavar="DIR",
        help="then run promtool (on PATH) to turn FILE into TSDB blocks in DIR, and check them",
    )


def check_config(config: Config) -> None:
    if config.demo:
        raise ConfigError("demo", "backfill reads GitHub; the demo has no history to read")
    if not config.targets:
        raise ConfigError("targets", "no organization or enterprise to backfill (--org, --enterprise)")


def plan_for(
    config: Config, client: GitHubClient, *, today: date, no_per_user: bool, workers: WorkerPool | None = None
) -> Plan:
    """The targets, and the day reader and families of every enabled source with a backfill part."""
    users = UserLabels(config)
    user_label = users if users.enabled and not no_per_user else None
    wiring = BackfillWiring(config, client, today, user_label, sample_time, workers)
    readings = []
    for spec in enabled_specs(config):
        part = spec.backfill
        if part is not None:
            read_day = part.reader(wiring)
            readings.append(Reading(spec.name, part, read_day, _families(part, wiring)))
    return Plan(config, config.targets, tuple(readings), per_user=user_label is not None)


def _families(part: BackfillPart, wiring: BackfillWiring) -> Any:
    return lambda snapshots: part.families(wiring, snapshots)


def _options(config: Config, plan: Plan, days: DayRange) -> dict[str, Any]:
    """What must not change between a run and its resumption."""
    enabled = {reading.name for reading in plan.readings}
    options: dict[str, Any] = {
        "api_url": config.api_url,
        "targets": [str(t) for t in plan.targets],
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "per_user": config.seat_metrics if plan.per_user else "off",
        "max_user_series": config.max_seat_series,
    }
    for spec in specs():
        if spec.backfill is not None:
            options[spec.name] = spec.name in enabled
            options.update(spec.backfill.options(config))
    return options


def run(config: Config, options: dict[str, Any], client: GitHubClient, *, today: date | None = None) -> int:
    return _run(config, options, client, today or datetime.now(UTC).date())


async def _walk_then_close(walk: DayWalk, days: list[date], client: GitHubClient) -> None:
    # One event loop for the walk and the closing of its connections, which belong to that loop.
    try:
        await walk.run(days)
    finally:
        await client.aclose()


def _run(config: Config, options: dict[str, Any], client: GitHubClient, today: date) -> int:
    count = options.get("parse_workers", 0)
    workers = WorkerPool(count) if count else None
    # Stopped by a supervisor (systemd, Kubernetes, timeout) as by Ctrl-C: the days written are
    # kept for --resume, and the workers are shut down.
    stopping = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _run_with(config, options, client, today, workers)
    finally:
        signal.signal(signal.SIGTERM, stopping)
        if workers is not None:
            workers.close()


def _run_with(
    config: Config, options: dict[str, Any], client: GitHubClient, today: date, workers: WorkerPool | None
) -> int:
    started = time.monotonic()
    no_per_user = bool(options.get("no_per_user"))
    plan = plan_for(config, client, today=today, no_per_user=no_per_user, workers=workers)
    parts = [reading.part for reading in plan.readings]
    output = Path(options["output"])
    workdir = output.with_name(output.name + ".partial")
    try:
        promtool = find_promtool() if options.get("blocks") else None
        first = first_day(options.get("from_day"), options.get("to_day"), options.get("days"), today, parts)
        days = check_range(first, options.get("to_day"), today, parts)
        state = open_state(workdir, _options(config, plan, days), days.first.isoformat(),
                           resume=bool(options.get("resume")))  # fmt: skip
    except (DateRangeError, ResumeError, PromtoolError) as exc:
        asyncio.run(client.aclose())
        complain(f"backfill: {exc}")
        return 2
    writer = SpillWriter(workdir)
    try:
        if options.get("resume"):
            writer.restore(state.sizes)
    except OSError as exc:
        asyncio.run(client.aclose())
        complain(f"backfill: cannot resume from {workdir}: {exc.strerror or exc}")
        return 2
    all_days = days.days
    progress = progress_for(len(all_days), state.days_done)
    walk = DayWalk(client, plan, writer, state, workdir, progress=progress)
    try:
        asyncio.run(_walk_then_close(walk, all_days, client))
    except KeyboardInterrupt:
        progress.close()
        writer.close()
        complain("backfill interrupted; continue with the same flags and --resume")
        return 130
    except WorkerError as exc:
        progress.close()
        writer.close()
        complain(f"backfill: {exc}")
        return 1
    except OSError as exc:
        # Disk full, a file size limit, a directory gone: the day being written is lost, the ones
        # before it are saved, and --resume continues once there is room.
        progress.close()
        writer.close()
        where = exc.filename or workdir
        complain(f"backfill: cannot write {where}: {exc.strerror or exc}; --resume continues once fixed")
        return 1
    progress.close()
    blocks = Path(options["blocks"]) if options.get("blocks") else None
    status = _finish(writer, state, output, workdir, Summary(
        days=state.days_done, no_report=state.no_report, not_final=days.not_final,
        failed=len(state.failures), series=0, samples=state.samples, bytes=0,
        requests=walk.requests(), seconds=time.monotonic() - started,
    ))  # fmt: skip
    if status == 2:
        return 1  # the output could not be written
    return _import(promtool, output, blocks, days) or status


def _import(promtool: str | None, output: Path, blocks: Path | None, days: DayRange) -> int:
    """Print the promtool command for ``output``, or with ``--blocks`` run it: 0, or 1 when it failed."""
    if promtool is None or blocks is None:
        argv = promtool_command("promtool", output, blocks or Path("BLOCKS_DIR"), days)
        complain(f"backfill: turn it into TSDB blocks with: {shown(argv)}")
        return 0
    complain(f"backfill: running {shown(promtool_command(promtool, output, blocks, days))}")
    try:
        made = create_blocks(promtool, output, blocks, days)
    except PromtoolError as exc:
        complain(f"backfill: {exc}; {output} is complete, run the command again once fixed")
        return 1
    complain(f"backfill: promtool made {made.created} blocks of {made.samples:,} samples in {blocks}")
    return 0


def _finish(writer: SpillWriter, state: RunState, output: Path, workdir: Path, summary: Summary) -> int:
    """0 when every day was written, 1 when a day failed, 2 when ``output`` could not be written."""
    try:
        size, series = writer.assemble(output)
    except OSError as exc:
        complain(f"backfill: cannot write {output}: {exc.strerror or exc}")
        return 2
    finally:
        writer.close()
    shutil.rmtree(workdir, ignore_errors=True)
    report(dataclasses.replace(summary, series=series, bytes=size))
    for failure in state.failures:
        complain(f"backfill: {failure.source} of {failure.target} on {failure.day} failed: {failure.reason}")
    if state.failures:
        failed_days = sorted({failure.day for failure in state.failures})
        complain(
            f"backfill: days that failed: {', '.join(failed_days)}; backfill each into another file "
            "(the same flags with --from DAY --to DAY --output OTHER) and turn that into blocks as well"
        )
        return 1
    return 0
