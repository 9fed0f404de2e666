"""Build a :class:`Config` from flags, the YAML file and the environment, one small parser per section.

Precedence: command-line flags override the YAML file, the file overrides the environment
(``GITHUB_TOKEN``, ``GITHUB_API_URL``, ``GITHUB_APP_ID``, ``GITHUB_APP_PRIVATE_KEY_FILE``,
``GITHUB_APP_INSTALLATION_ID``) and the environment overrides the defaults. Every problem is
reported as a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from exporter.config import values
from exporter.config.durations import parse_duration
from exporter.config.model import LOG_FORMATS, LOG_LEVELS, Config, Secret, Target
from exporter.config.quoting import shown, shown_path
from exporter.config.reclaim import RECLAIM_KEYS, parse_reclaim
from exporter.config.seat_metrics import parse_seat_metrics
from exporter.config.sections import Given, Section
from exporter.config.web import load_web_config
from exporter.errors import ConfigError

# Keys accepted in the YAML file, each with the flag that overrides it (None: file only), in the order
# the refusal of an unknown key lists them; the data sources' sections (their parsers own them) add theirs.
FILE_KEYS: Mapping[str, str | None] = {
    "organizations": "--org",
    "enterprises": "--enterprise",
    "github": None,
    "poll_interval": "--poll-interval",
    "web": None,
    "log": None,
    "activity_windows": None,
    "seat_prices_usd": None,
    "seat_metrics": "--seat-metrics",
    "demo": "--demo",
    "reclaim": None,
}
GITHUB_KEYS = (
    "api_url",
    "token_file",
    "app_id",
    "app_private_key_file",
    "app_installation_id",
    "request_timeout",
    "max_concurrency",
    "requests_per_minute",
)
WEB_KEYS = ("listen_address", "telemetry_path", "config_file", "read_header_timeout", "write_timeout")
LOG_KEYS = ("level", "format")
MAX_REQUEST_TIMEOUT = 600.0
#: Bounds of web.read_header_timeout and web.write_timeout, in seconds.
WEB_TIMEOUT_RANGE = (1.0, 3600.0)
#: A URL path of printable ASCII without white space, query or fragment (a newline would split headers).
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {shown_path(path)}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("--config", f"{shown_path(path)} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            "--config", f"{shown_path(path)} must hold a mapping of settings, not {type(data).__name__}"
        )
    return data


def build_config(
    flags: Mapping[str, Any],
    file_data: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    sections: Sequence[Section] = (),
) -> Config:
    """Merge flags (None where not given), file settings and environment into a validated Config.

    ``sections`` are the data sources' own sections (:func:`exporter.wiring.build_config` passes those
    of the registry); each is parsed by its source and kept in :attr:`Config.sources`.
    """
    data = dict(file_data or {})
    known = dict(FILE_KEYS)
    for section in sections:
        known |= dict.fromkeys(section.keys if section.top_level else (section.name,))
    for key in data:
        if key not in known:
            raise ConfigError(key, f"unknown key; expected one of {', '.join(known)}")
    src = Given(flags, os.environ if environ is None else environ)
    demo = src.value("demo", data.get("demo"), False)
    if not isinstance(demo, bool):
        raise ConfigError("demo", "must be true or false")
    targets = _targets(src, data)
    if not demo and not targets:
        raise ConfigError(
            "organizations",
            "no target: give --org NAME or --enterprise SLUG (or organizations/enterprises in the file)",
        )
    settings: dict[str, Any] = {"targets": targets, "demo": demo}
    settings |= _github(src, values.section(data, "github", GITHUB_KEYS))
    settings |= _credentials(src, values.section(data, "github", GITHUB_KEYS), demo=demo)
    settings |= _web(src, values.section(data, "web", WEB_KEYS))
    settings |= _log(src, values.section(data, "log", LOG_KEYS))
    settings |= parse_seat_metrics(data, src)
    given = Given(flags, src.env, demo=demo)
    settings["sources"] = {section.name: section.parse(_part(data, section), given) for section in sections}
    settings["reclaim"] = parse_reclaim(values.section(data, "reclaim", RECLAIM_KEYS))
    return Config(**settings)


def _targets(src: Given, data: Mapping[str, Any]) -> tuple[Target, ...]:
    orgs = src.flags.get("org") or values.names(data.get("organizations"), "organizations")
    enterprises = src.flags.get("enterprise") or values.names(data.get("enterprises"), "enterprises")
    targets: list[Target] = []
    for kind, names in (
        ("org", values.names(orgs, "--org")),
        ("enterprise", values.names(enterprises, "--enterprise")),
    ):
        for name in names:
            target = Target(kind, name)  # type: ignore[arg-type]
            if target not in targets:
                targets.append(target)
    return tuple(targets)


def _github(src: Given, github: Mapping[str, Any]) -> dict[str, Any]:
    """``github``: where the API is and how hard the exporter may use it."""
    api_default = src.env.get("GITHUB_API_URL") or "https://api.github.com"
    api_url = values.api_url(src.value("api_url", github.get("api_url"), api_default), "github.api_url")
    timeout_value = src.value("request_timeout", github.get("request_timeout"), "30s")
    request_timeout = parse_duration(str(timeout_value), "github.request_timeout")
    if not 0 < request_timeout <= MAX_REQUEST_TIMEOUT:
        raise ConfigError("github.request_timeout", "must be positive and at most 10m")
    concurrency = values.whole(github.get("max_concurrency", 4), "github.max_concurrency", 1, 50)
    per_minute = github.get("requests_per_minute", 600)
    if isinstance(per_minute, bool) or not isinstance(per_minute, int | float) or not 0 < per_minute <= 900:
        raise ConfigError(
            "github.requests_per_minute",
            f"must be a number above 0 and at most 900 (GitHub's secondary limit), got {shown(per_minute)}",
        )
    return {
        "api_url": api_url,
        "request_timeout": request_timeout,
        "max_concurrency": concurrency,
        "requests_per_minute": float(per_minute),
    }


def _credentials(src: Given, github: Mapping[str, Any], *, demo: bool) -> dict[str, Any]:
    """A token (file or environment) or a GitHub App: exactly one, unless demo data is served."""
    token_file_value = src.value("token_file", github.get("token_file"), None)
    token_file = Path(values.string(token_file_value, "github.token_file")) if token_file_value else None
    app_id_value = src.value("app_id", github.get("app_id"), src.env.get("GITHUB_APP_ID") or None)
    key_file_value = src.value(
        "app_private_key_file",
        github.get("app_private_key_file"),
        src.env.get("GITHUB_APP_PRIVATE_KEY_FILE") or None,
    )
    installation_value = src.value(
        "app_installation_id",
        github.get("app_installation_id"),
        src.env.get("GITHUB_APP_INSTALLATION_ID") or None,
    )
    app_id = values.positive_id(app_id_value, "github.app_id") if app_id_value is not None else None
    installation_id = (
        values.positive_id(installation_value, "github.app_installation_id")
        if installation_value is not None
        else None
    )
    key_file = Path(values.string(key_file_value, "github.app_private_key_file")) if key_file_value else None
    if app_id is None and (key_file is not None or installation_id is not None):
        raise ConfigError("github.app_id", "GitHub App authentication needs the app id as well")
    app_key: Secret | None = None
    token: Secret | None = None
    if not demo and app_id is not None:
        if key_file is None:
            raise ConfigError(
                "github.app_private_key_file", "GitHub App authentication needs the app's private key"
            )
        if token_file is not None:
            raise ConfigError("github.token_file", "give a token file or a GitHub App, not both")
        app_key = values.read_private_key(key_file)
    elif not demo:
        if token_file is not None:
            token = values.read_token_file(token_file)
        elif src.env.get("GITHUB_TOKEN", "").strip():
            token = Secret(src.env["GITHUB_TOKEN"].strip())
        else:
            raise ConfigError(
                "GITHUB_TOKEN",
                "no GitHub token: set GITHUB_TOKEN or --github.token-file, or a GitHub App "
                "(--github.app-id and --github.app-private-key-file), or run with --demo for demo data",
            )
    return {
        "token": token,
        "token_file": token_file,
        "app_id": app_id,
        "app_private_key": app_key,
        "app_private_key_file": key_file,
        "app_installation_id": installation_id,
    }


def _web(src: Given, web: Mapping[str, Any]) -> dict[str, Any]:
    """``web``: where to listen, the metrics path and the exporter-toolkit web configuration."""
    host, port = values.parse_listen_address(src.value("listen_address", web.get("listen_address"), ":9185"))
    telemetry_path = values.string(
        src.value("telemetry_path", web.get("telemetry_path"), "/metrics"), "web.telemetry_path"
    )
    if not _PATH.fullmatch(telemetry_path) or telemetry_path in ("/", "/healthz", "/readyz"):
        raise ConfigError("web.telemetry_path", f"{shown(telemetry_path)} must be a path such as /metrics")
    web_file_value = src.value("web_config_file", web.get("config_file"), None)
    web_config = (
        load_web_config(Path(values.string(web_file_value, "web.config_file"))) if web_file_value else None
    )
    return {
        "listen_host": host,
        "listen_port": port,
        "telemetry_path": telemetry_path,
        "web_config": web_config,
        "web_read_header_timeout": _web_timeout(web, "read_header_timeout", "10s"),
        "web_write_timeout": _web_timeout(web, "write_timeout", "1m"),
    }


def _web_timeout(web: Mapping[str, Any], name: str, default: str) -> float:
    key = f"web.{name}"
    seconds = parse_duration(str(web.get(name, default)), key)
    low, high = WEB_TIMEOUT_RANGE
    if not low <= seconds <= high:
        raise ConfigError(key, f"must be between 1s and 1h, got {shown(web.get(name))}")
    return seconds


def _log(src: Given, log: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "log_level": values.choice(src.value("log_level", log.get("level"), "info"), "log.level", LOG_LEVELS),
        "log_format": values.choice(
            src.value("log_format", log.get("format"), "logfmt"), "log.format", LOG_FORMATS
        ),
    }


def _part(data: Mapping[str, Any], section: Section) -> Mapping[str, Any]:
    """What ``section``'s parser is given: its mapping (keys checked), or its top-level keys the file has."""
    if section.top_level:
        return {key: data[key] for key in section.keys if key in data}
    return values.section(data, section.name, section.keys)
