"""``report``: one poll of the seat source, then one row per seat (GitHub's "Get report", and more).

The same configuration, credentials, pacing and privacy mode as the exporter; exit status 0 on
success, 2 for bad arguments or configuration, 1 with a one-line reason when GitHub fails (the reason
and hint the exporter would log). The report is all or nothing: a target that fails fails the command,
and ``--output`` is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from exporter.commands import complain
from exporter.config import Config
from exporter.errors import ConfigError, ExporterError
from exporter.github.client import GitHubClient
from exporter.poller import Poller
from exporter.privacy import UserLabels
from exporter.sources.seats.report import FORMATS, SeatReport, build_report, render
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.state import ExporterState
from exporter.wiring import build_sources

HELP = "poll the seats once and print one row per seat (CSV, JSON or a table)"
DESCRIPTION = (
    "Poll the configured organizations and enterprises once and write one row per seat: GitHub's "
    "Copilot access report columns (report_time, login, last_authenticated_at, last_activity_at, "
    "last_surface_used, organization), then enterprise, team, plan_type, created_at, "
    "pending_cancellation_date, idle_days and monthly_cost_usd. Takes every flag of the exporter. "
    "Exit status: 0 on success, 2 for bad arguments or configuration, 1 when GitHub fails."
)


class ReportFailedError(ExporterError):
    """A target could not be read; the message is one line, as the exporter would log it."""


def _days(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"must be a whole number of days >= 0, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="format", choices=FORMATS, default="csv", help="default csv")
    parser.add_argument(
        "--output", dest="output", metavar="FILE", default="-", help="write to FILE, not standard output"
    )
    parser.add_argument(
        "--idle-days",
        dest="idle_days",
        metavar="N",
        type=_days,
        default=None,
        help="only seats idle longer than N days, longest idle first",
    )


def check_config(config: Config) -> None:
    if config.seat_metrics == "off":
        raise ConfigError(
            "seat_metrics",
            "is off, so no user may be named: the report needs mode login or hashed "
            "(hashed names each user by a keyed hash of the login)",
        )


def run(config: Config, options: dict[str, Any], client: GitHubClient) -> int:
    _quiet_logging(config.log_level)
    try:
        report = asyncio.run(poll_report(config, client, idle_days=options.get("idle_days")))
    except ReportFailedError as exc:
        complain(f"report failed: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    body = render(report, options.get("format") or "csv")
    output = options.get("output") or "-"
    if output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(output).write_bytes(body)
    except OSError as exc:
        complain(f"report failed: cannot write {output}: {exc.strerror}")
        return 1
    return 0


async def poll_report(config: Config, client: GitHubClient, *, idle_days: int | None = None) -> SeatReport:
    """Poll every target once, as the exporter's poller does, and build the report of the snapshots."""
    users = UserLabels(config)
    (source,) = build_sources(config, client, users=users, only=("seats",))
    state = ExporterState((source.name, target) for target in source.targets)
    try:
        await Poller([source], state).poll_once()
    finally:
        await client.aclose()
    statuses = state.of_source(source.name)
    failed = [status for status in statuses if not status.up]
    if failed:
        reasons = (f"{s.target}: {s.error_reason}: {' '.join(s.error_message.split())}" for s in failed)
        raise ReportFailedError("; ".join(reasons))
    snapshots = [s.snapshot for s in statuses if isinstance(s.snapshot, TargetSnapshot)]
    return build_report(snapshots, users, idle_days=idle_days)


def _quiet_logging(level: str) -> None:
    """Standard error is for the one line that says why the report failed, unless debug logs are asked.

    The poller's own log line of a failure would only repeat that line; progress lines of a serving
    exporter (the request budget, a re-read seat list) say nothing to a script.
    """
    if level == "debug":
        return
    logging.getLogger().setLevel(logging.ERROR if level == "error" else logging.WARNING)
    logging.getLogger("exporter.poller").setLevel(logging.CRITICAL)
