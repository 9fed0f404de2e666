"""Command line: flags in the style of Go exporters, then serve (poller and web server together) or run
one command once (see :mod:`exporter.commands`)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exporter import PROG, __version__, gc_tuning, malloc
from exporter.commands import Command, backfill, reclaim, report
from exporter.config import Config, format_duration, load_file
from exporter.errors import ConfigError
from exporter.github.client import GitHubClient
from exporter.logs import setup_logging
from exporter.sources import registry
from exporter.sources.seats import budget
from exporter.sources.seats.config import seats_config
from exporter.web.server import Exporter
from exporter.wiring import build_client, build_config, source_costs

log = logging.getLogger("exporter")
#: Commands that run once and exit, each a module of exporter.commands.
COMMANDS: dict[str, Command] = {"report": report, "backfill": backfill, "reclaim": reclaim}


def build_parser() -> argparse.ArgumentParser:
    """The flags of the exporter that serves: its invocation without a command."""
    commands = "; ".join(f"{name}: {command.HELP}" for name, command in COMMANDS.items())
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Prometheus exporter for GitHub Copilot: seats, billing (spend, AI credits, budgets) and "
        "the usage-metrics reports, each a source of its own. Flags override the config file, "
        "which overrides the environment (GITHUB_TOKEN, GITHUB_API_URL, GITHUB_APP_ID, "
        "GITHUB_APP_PRIVATE_KEY_FILE, GITHUB_APP_INSTALLATION_ID) and the defaults.",
        epilog=f"Commands, given before any flag, run once with the same flags and exit: {commands}. "
        "Give a command --help for its own flags.",
    )
    add_config_flags(p)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def build_command_parser(name: str) -> argparse.ArgumentParser:
    command = COMMANDS[name]
    p = argparse.ArgumentParser(prog=f"{PROG} {name}", description=command.DESCRIPTION)
    add_config_flags(p)
    command.add_arguments(p)
    return p


def parse_args(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The flags, and under ``command`` the command named first (None to serve)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        return {**vars(build_command_parser(args[0]).parse_args(args[1:])), "command": args[0]}
    return {**vars(build_parser().parse_args(args)), "command": None}


def add_config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="YAML configuration file")
    p.add_argument("--org", action="append", metavar="NAME", help="organization to poll (repeatable)")
    p.add_argument("--enterprise", action="append", metavar="SLUG", help="enterprise to poll (repeatable)")
    p.add_argument("--web.listen-address", dest="listen_address", metavar="HOST:PORT", help="default :9185")
    p.add_argument("--web.telemetry-path", dest="telemetry_path", metavar="PATH", help="default /metrics")
    p.add_argument(
        "--poll-interval", dest="poll_interval", metavar="DURATION", help="default 10m, at least 1m"
    )
    p.add_argument("--github.api-url", dest="api_url", metavar="URL", help="default https://api.github.com")
    p.add_argument(
        "--github.token-file",
        dest="token_file",
        metavar="FILE",
        help="file holding the token, re-read when it changes",
    )
    p.add_argument("--github.app-id", dest="app_id", metavar="ID", help="GitHub App id (instead of a token)")
    p.add_argument(
        "--github.app-private-key-file",
        dest="app_private_key_file",
        metavar="FILE",
        help="the GitHub App's private key (PEM)",
    )
    p.add_argument(
        "--github.app-installation-id",
        dest="app_installation_id",
        metavar="ID",
        help="the app's installation; default: looked up for each organization",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config_file",
        metavar="FILE",
        help="exporter-toolkit web configuration: TLS, basic auth, HTTP headers",
    )
    p.add_argument(
        "--demo", action="store_const", const=True, help="serve built-in demo data, no token needed"
    )
    p.add_argument(
        "--seat-metrics",
        dest="seat_metrics",
        metavar="MODE",
        help="per-seat series: login (default), hashed (keyed hash of the login) or off",
    )
    for spec in registry.specs():
        for flag in spec.flags:
            p.add_argument(flag.option, dest=flag.dest, metavar=flag.metavar, help=flag.help)
    p.add_argument("--log.level", dest="log_level", metavar="LEVEL", help="debug, info, warn or error")
    p.add_argument("--log.format", dest="log_format", metavar="FORMAT", help="logfmt or json")


def load_config(argv: Sequence[str] | None = None) -> Config:
    return config_from_args(parse_args(argv))


def config_from_args(args: dict[str, Any]) -> Config:
    file_data: dict[str, Any] = {}
    if args.get("config"):
        file_data = load_file(Path(args["config"]))
    config = build_config(args, file_data)
    if config.demo:
        from exporter.demo.world import DEMO_TARGETS  # the demo world only when demo data is asked for

        config = dataclasses.replace(config, targets=DEMO_TARGETS)
    return config


def auth_mode(config: Config) -> str:
    if config.demo:
        return "none (demo)"
    if config.app_id is not None:
        return "github_app"
    return "token_file" if config.token_file is not None else "token"


async def serve(config: Config, client: GitHubClient) -> None:
    exporter = Exporter(config, client)
    web = config.web_config
    log.info(
        "starting",
        extra={
            "version": __version__,
            "address": config.listen_address,
            "telemetry_path": config.telemetry_path,
            "targets": ",".join(str(t) for t in config.targets),
            "poll_interval": format_duration(seats_config(config).poll_interval),
            "demo": config.demo,
            "github_auth": auth_mode(config),
            "tls": web is not None and web.tls is not None,
            "basic_auth": web is not None and bool(web.basic_auth_users),
        },
    )
    if not config.demo:
        budget.log_expected(config, source_costs(config))
    try:
        await exporter.run()
    finally:
        log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = COMMANDS[args["command"]] if args["command"] is not None else None
    try:
        config = config_from_args(args)
        if command is not None:
            command.check_config(config)
    except ConfigError as exc:
        print(f"{PROG}: configuration error: {exc}", file=sys.stderr)
        return 2
    secrets = [
        s.reveal()
        for s in (config.token, config.seat_metrics_hash_key, config.app_private_key)
        if s is not None
    ]
    setup_logging(config.log_level, config.log_format, secrets)
    gc_tuning.tune()
    # A backfill frees a day's large blocks after every day as the server does after every poll.
    malloc.tune()
    if command is not None:
        return command.run(config, args, build_client(config))
    # uvicorn re-raises the signal that stopped it once it has shut down; a no-op handler makes that
    # a clean exit with status 0 instead of death by signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    asyncio.run(serve(config, build_client(config)))
    return 0
