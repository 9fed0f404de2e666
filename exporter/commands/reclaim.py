"""``reclaim``: propose idle seats for removal (``plan``, read only), then remove them (``apply PLAN``).

Exit status: 0 on success; 1 when GitHub fails (a read, or a write, after which the audit log holds
what was done); 2 for bad arguments or configuration, a missing or read-only write credential, or a
plan that no longer fits (other targets or policy, younger than ``reclaim.min_plan_age``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from exporter import PROG as BASE_PROG
from exporter.commands.report import _quiet_logging
from exporter.config import Config
from exporter.errors import ConfigError
from exporter.github.client import GitHubClient
from exporter.github.writes import GitHubWriter
from exporter.privacy import UserLabels
from exporter.reclaim import apply as applying
from exporter.reclaim.audit import AuditLog
from exporter.reclaim.plan import FORMATS, Plan, PlanError, parse_plan, plan_of, render_plan, summary_lines
from exporter.reclaim.policy import select, select_all
from exporter.reclaim.wiring import PollFailedError, read_world, write_token
from exporter.wiring import build_sources

HELP = "propose idle seats for removal (plan, read only), then remove a reviewed plan (apply PLAN)"
DESCRIPTION = (
    "reclaim plan (the default) polls the seats once, and the usage reports where enabled, and writes a "
    "plan of the seats the reclaim: policy proposes to remove (JSON; --format csv or table for people). "
    "reclaim apply PLAN reads every seat again and removes those that still match, in batches, with "
    "the write credential of reclaim.token_file or reclaim.app_id, appending each removal to an audit "
    "log. Exit status: 0 on success, 1 when GitHub fails, 2 for bad arguments, configuration or a "
    "stale plan."
)
PROG = f"{BASE_PROG} reclaim"
ACTIONS = ("plan", "apply")
#: The sources a plan is made of: who holds a seat, and who used Copilot when.
READS = ("seats", "usage")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="plan", help="default plan")
    parser.add_argument("plan_file", nargs="?", metavar="PLAN", help="apply: the plan file to carry out")
    parser.add_argument("--format", dest="format", choices=FORMATS, default="json", help="plan: default json")
    parser.add_argument(
        "--output",
        dest="output",
        metavar="FILE|DIR",
        default="-",
        help="plan: write to FILE, or to reclaim-plan-TIME-ID.EXT in DIR; default standard output",
    )
    parser.add_argument("--dry-run", dest="dry_run", action="store_true", help="apply: print, send nothing")
    parser.add_argument(
        "--audit-log",
        dest="audit_log",
        metavar="FILE",
        help="apply: default PLAN.audit.jsonl",
    )


def check_config(config: Config) -> None:
    if config.seat_metrics == "off":
        raise ConfigError(
            "seat_metrics",
            "is off, so no user may be named: a reclaim plan needs mode login or hashed",
        )


def run(config: Config, options: dict[str, Any], client: GitHubClient) -> int:
    _quiet_logging(config.log_level)
    action = options.get("action") or "plan"
    if action == "apply" and not options.get("plan_file"):
        print(f"{PROG}: apply needs the plan file: reclaim apply PLAN", file=sys.stderr)
        asyncio.run(client.aclose())
        return 2
    try:
        if action == "plan":
            return asyncio.run(_closing(client, plan_command(config, options, client)))
        return asyncio.run(_closing(client, apply_command(config, options, client)))
    except KeyboardInterrupt:
        return 130


async def _closing(client: GitHubClient, work: Awaitable[int]) -> int:
    try:
        return await work
    finally:
        await client.aclose()


async def build_plan(config: Config, client: GitHubClient, *, clock: Callable[[], float] = time.time) -> Plan:
    users = UserLabels(config)
    world = await read_world(build_sources(config, client, users=users, clock=clock, only=READS))
    return plan_of(world.seats, select_all(world.seats, config.reclaim, world.usage), config.reclaim, users)


async def plan_command(
    config: Config, options: dict[str, Any], client: GitHubClient, *, clock: Callable[[], float] = time.time
) -> int:
    try:
        plan = await build_plan(config, client, clock=clock)
    except PollFailedError as exc:
        print(f"{PROG}: plan failed: {exc}", file=sys.stderr)
        return 1
    fmt = options.get("format") or "json"
    body = render_plan(plan, fmt)
    output = options.get("output") or "-"
    if output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return 0
    path = Path(output)
    # "plans/" names a directory, as in a shell: it is made when missing, never written as a file.
    if output.endswith("/"):
        try:
            await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            print(f"{PROG}: plan failed: cannot write {output}: {exc.strerror}", file=sys.stderr)
            return 1
    if await asyncio.to_thread(path.is_dir):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(plan.created_at))
        path = path / f"reclaim-plan-{stamp}-{plan.plan_id}.{fmt}"
    try:
        path.write_bytes(body)
    except OSError as exc:
        print(f"{PROG}: plan failed: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{path}: {summary_lines(plan)}", end="", file=sys.stderr)
    return 0


def _read_plan(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PlanError(f"{path} is not UTF-8 text") from None
    return parse_plan(text)


async def apply_command(
    config: Config,
    options: dict[str, Any],
    client: GitHubClient,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    plan_path = Path(options["plan_file"])
    dry_run = bool(options.get("dry_run"))
    try:
        plan = _read_plan(plan_path)
        applying.check_plan(plan, config, clock())
        writer = None if dry_run else GitHubWriter(client, write_token(config, client.http))
    except (PlanError, ConfigError) as exc:
        print(f"{PROG}: apply refused: {exc}", file=sys.stderr)
        return 2
    users = UserLabels(config)
    try:
        world = await read_world(build_sources(config, client, users=users, clock=clock, only=READS))
    except PollFailedError as exc:
        print(f"{PROG}: apply failed before any change: {exc}", file=sys.stderr)
        return 1
    fresh = select(world.seats, config.reclaim, world.usage, limit=len(plan.removals) + 1)
    removals, skipped = applying.still_matching(plan, fresh, world.seats, config, users)
    planned = applying.batches(removals, config.reclaim.batch_size)
    for user, why in skipped:
        print(f"skip {user}: {why}", file=sys.stderr)
    if dry_run:
        for batch in planned:
            body = {"selected_usernames": batch.logins}
            print(f"DELETE {client.api_url}/orgs/{batch.org}/copilot/billing/selected_users {body}")
        print(f"dry run: {len(removals)} seats in {len(planned)} requests, nothing sent", file=sys.stderr)
        return 0
    assert writer is not None
    audit = AuditLog(Path(options.get("audit_log") or f"{plan_path}.audit.jsonl"))
    try:
        outcome = await applying.remove(
            plan, planned, writer, audit, pause=config.reclaim.batch_pause, clock=clock, sleep=sleep
        )
    finally:
        await writer.aclose()
    print(
        f"plan {plan.plan_id}: {outcome.removed} seats set pending cancellation, {len(skipped)} skipped; "
        f"audit log {audit.path}",
        file=sys.stderr,
    )
    if outcome.failure is not None:
        print(
            f"{PROG}: apply stopped: {outcome.failure.reason}: {outcome.failure}; the audit log holds "
            "what was done, and apply PLAN again carries out the rest",
            file=sys.stderr,
        )
        return 1
    return 0
