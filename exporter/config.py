"""Typed, validated, immutable configuration.

Precedence: command-line flags override the YAML file, the file overrides the environment
(``GITHUB_TOKEN``, ``GITHUB_API_URL``, ``GITHUB_APP_ID``, ``GITHUB_APP_PRIVATE_KEY_FILE``,
``GITHUB_APP_INSTALLATION_ID``) and the environment overrides the defaults. Every problem is
reported as a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from exporter.errors import ConfigError
from exporter.webconfig import WebConfig, load_web_config

TargetKind = Literal["org", "enterprise"]
PLANS = ("business", "enterprise")
DEFAULT_PRICES: Mapping[str, float] = {"business": 19.0, "enterprise": 39.0}
DEFAULT_WINDOWS = ("1d", "7d", "14d", "30d", "90d")
LOG_LEVELS = ("debug", "info", "warn", "error")
LOG_FORMATS = ("logfmt", "json")
SEAT_METRICS_MODES = ("login", "hashed", "off")
DEFAULT_MAX_SEAT_SERIES = 50_000
MIN_POLL_INTERVAL = 60.0
MAX_ACTIVITY_WINDOW = 90 * 86400.0

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


class Secret:
    """A credential that never shows itself in ``str``, ``repr``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def parse_duration(text: str, key: str) -> float:
    """Parse a Prometheus-style duration such as ``90s``, ``10m``, ``1h30m`` or ``7d`` into seconds."""
    value = str(text).strip()
    if not value:
        raise ConfigError(key, "empty duration; use e.g. 30s, 10m, 1h or 7d")
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value):
        raise ConfigError(key, f"invalid duration {value!r}; use e.g. 30s, 10m, 1h or 7d")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact rendering of a duration, used as a label value (``7d``, ``36h``, ``90s``)."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and math.isclose(seconds % size, 0.0, abs_tol=1e-9):
            if unit == "w":  # "7d" reads better than "1w" next to 1d/14d/30d.
                return f"{round(seconds / _UNITS['d'])}d"
            return f"{round(seconds / size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class Target:
    """One organization or enterprise whose seats are polled."""

    kind: TargetKind
    name: str

    @property
    def enterprise(self) -> str:
        return self.name if self.kind == "enterprise" else ""

    @property
    def org(self) -> str:
        return self.name if self.kind == "org" else ""

    def __str__(self) -> str:
        return f"{self.kind}={self.name}"


@dataclass(frozen=True, slots=True)
class ActivityWindow:
    label: str
    seconds: float


@dataclass(frozen=True)
class Config:
    targets: tuple[Target, ...] = ()
    token: Secret | None = field(default=None, repr=False)
    token_file: Path | None = None
    #: GitHub App authentication, instead of a token: app id, its private key, and optionally the
    #: installation (otherwise looked up per organization).
    app_id: int | None = None
    app_private_key: Secret | None = field(default=None, repr=False)
    app_private_key_file: Path | None = None
    app_installation_id: int | None = None
    api_url: str = "https://api.github.com"
    request_timeout: float = 30.0
    max_concurrency: int = 4
    requests_per_minute: float = 600.0
    poll_interval: float = 600.0
    listen_host: str = "0.0.0.0"
    listen_port: int = 9185
    telemetry_path: str = "/metrics"
    #: The exporter-toolkit web configuration (TLS, basic auth, headers) from --web.config.file.
    web_config: WebConfig | None = None
    activity_windows: tuple[ActivityWindow, ...] = tuple(
        ActivityWindow(w, parse_duration(w, "activity_windows")) for w in DEFAULT_WINDOWS
    )
    seat_prices_usd: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    #: How per-seat series name the user: by login, by a keyed hash of it, or not at all.
    seat_metrics: str = "login"
    seat_metrics_hash_key: Secret | None = field(default=None, repr=False)
    #: At most this many seats get per-seat series; aggregates always count every seat.
    max_seat_series: int = DEFAULT_MAX_SEAT_SERIES
    demo: bool = False
    log_level: str = "info"
    log_format: str = "logfmt"

    @property
    def listen_address(self) -> str:
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{host}:{self.listen_port}"

    def price(self, plan_type: str) -> float:
        return self.seat_prices_usd.get(plan_type, self.seat_prices_usd["business"])


# Keys accepted in the YAML file, each with the flag that overrides it (None: file only).
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
WEB_KEYS = ("listen_address", "telemetry_path", "config_file")
LOG_KEYS = ("level", "format")
SEAT_METRICS_KEYS = ("mode", "hash_key_file", "max_series")
HASH_KEY_ENV = "GITHUB_COPILOT_EXPORTER_HASH_KEY"


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("--config", f"{path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{path} must hold a mapping of settings, not {type(data).__name__}")
    return data


def _section(data: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    value = data.get(name, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a mapping with keys {', '.join(allowed)}")
    for key in value:
        if key not in allowed:
            raise ConfigError(f"{name}.{key}", f"unknown key; expected one of {', '.join(allowed)}")
    return value


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _names(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(key, "must be a list of names")
    names = []
    for item in value:
        name = _string(item, key)
        if not _NAME_RE.match(name):
            raise ConfigError(key, f"{name!r} is not a valid GitHub organization or enterprise name")
        names.append(name)
    return names


def parse_listen_address(value: str, key: str = "web.listen_address") -> tuple[str, int]:
    text = _string(value, key)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(key, f"{text!r} must be HOST:PORT or :PORT, e.g. :9185")
    host = host.strip("[]")
    return (host or "0.0.0.0"), int(port_text)


def _api_url(value: Any, key: str) -> str:
    url = _string(value, key).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(key, f"{url!r} must be an http(s) URL such as https://api.github.com")
    return url


def _windows(value: Any) -> tuple[ActivityWindow, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError("activity_windows", "must be a non-empty list of durations, e.g. [1d, 7d, 30d]")
    seconds = sorted({parse_duration(str(item), "activity_windows") for item in value})
    if seconds[0] <= 0:
        raise ConfigError("activity_windows", "durations must be positive")
    if seconds[-1] > MAX_ACTIVITY_WINDOW:
        # GitHub clears last_activity_at after 90 idle days, so a longer window would undercount.
        raise ConfigError(
            "activity_windows",
            f"{format_duration(seconds[-1])} is longer than the 90d of activity GitHub keeps",
        )
    return tuple(ActivityWindow(format_duration(s), s) for s in seconds)


def _prices(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError("seat_prices_usd", "must be a mapping such as {business: 19, enterprise: 39}")
    prices = dict(DEFAULT_PRICES)
    for plan, price in value.items():
        key = f"seat_prices_usd.{plan}"
        if plan not in PLANS:
            raise ConfigError(key, f"unknown plan; expected one of {', '.join(PLANS)}")
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise ConfigError(key, f"must be a non-negative number, got {price!r}")
        prices[plan] = float(price)
    return prices


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    text = _string(value, key).lower()
    if text == "warning":
        text = "warn"
    if text not in choices:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(choices)}")
    return text


def _read_token_file(path: Path) -> Secret:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("github.token_file", f"cannot read {path}: {exc.strerror}") from None
    if not token:
        raise ConfigError("github.token_file", f"{path} is empty")
    return Secret(token)


def _positive_id(value: Any, key: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(key, f"must be a positive whole number, got {value!r}")
    return value


def _read_private_key(path: Path) -> Secret:
    key = "github.app_private_key_file"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    try:
        loaded = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # Never quote the file: it may be a key in another format.
        raise ConfigError(key, f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(loaded, RSAPrivateKey):
        raise ConfigError(key, f"{path} is not an RSA key; GitHub Apps sign with RS256")
    return Secret(data.decode("ascii", errors="replace"))


def build_config(
    flags: Mapping[str, Any],
    file_data: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge flags (None where not given), file settings and environment into a validated Config."""
    data = dict(file_data or {})
    env = os.environ if environ is None else environ
    for key in data:
        if key not in FILE_KEYS:
            raise ConfigError(key, f"unknown key; expected one of {', '.join(FILE_KEYS)}")
    github = _section(data, "github", GITHUB_KEYS)
    web = _section(data, "web", WEB_KEYS)
    log = _section(data, "log", LOG_KEYS)
    if isinstance(data.get("seat_metrics"), str):  # the short form `seat_metrics: hashed`
        data["seat_metrics"] = {"mode": data["seat_metrics"]}
    seat_section = _section(data, "seat_metrics", SEAT_METRICS_KEYS)

    def pick(flag: str, file_value: Any, default: Any) -> Any:
        value = flags.get(flag)
        if value is not None:
            return value
        return default if file_value is None else file_value

    orgs = flags.get("org") or _names(data.get("organizations"), "organizations")
    enterprises = flags.get("enterprise") or _names(data.get("enterprises"), "enterprises")
    orgs = _names(orgs, "--org")
    enterprises = _names(enterprises, "--enterprise")

    demo_value = pick("demo", data.get("demo"), False)
    if not isinstance(demo_value, bool):
        raise ConfigError("demo", f"must be true or false, got {demo_value!r}")

    targets: list[Target] = []
    for kind, names in (("org", orgs), ("enterprise", enterprises)):
        for name in names:
            target = Target(kind, name)  # type: ignore[arg-type]
            if target not in targets:
                targets.append(target)

    api_default = env.get("GITHUB_API_URL") or "https://api.github.com"
    api_url = _api_url(pick("api_url", github.get("api_url"), api_default), "github.api_url")

    timeout_value = pick("request_timeout", github.get("request_timeout"), "30s")
    request_timeout = parse_duration(str(timeout_value), "github.request_timeout")
    if request_timeout <= 0:
        raise ConfigError("github.request_timeout", "must be positive")

    concurrency = github.get("max_concurrency", 4)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 50:
        raise ConfigError(
            "github.max_concurrency", f"must be a whole number from 1 to 50, got {concurrency!r}"
        )
    per_minute = github.get("requests_per_minute", 600)
    if isinstance(per_minute, bool) or not isinstance(per_minute, int | float) or not 0 < per_minute <= 900:
        raise ConfigError(
            "github.requests_per_minute",
            f"must be a number above 0 and at most 900 (GitHub's secondary limit), got {per_minute!r}",
        )

    poll_text = str(pick("poll_interval", data.get("poll_interval"), "10m"))
    poll_interval = parse_duration(poll_text, "poll_interval")
    if poll_interval < MIN_POLL_INTERVAL:
        raise ConfigError("poll_interval", f"{poll_text} is too short; the minimum is 1m")

    host, port = parse_listen_address(pick("listen_address", web.get("listen_address"), ":9185"))
    telemetry_path = _string(
        pick("telemetry_path", web.get("telemetry_path"), "/metrics"), "web.telemetry_path"
    )
    if not telemetry_path.startswith("/") or telemetry_path in ("/", "/healthz", "/readyz"):
        raise ConfigError("web.telemetry_path", f"{telemetry_path!r} must be a path such as /metrics")

    windows = Config.activity_windows
    if data.get("activity_windows") is not None:
        windows = _windows(data["activity_windows"])
    prices = dict(DEFAULT_PRICES)
    if data.get("seat_prices_usd") is not None:
        prices = _prices(data["seat_prices_usd"])

    seat_mode = _choice(
        pick("seat_metrics", seat_section.get("mode"), "login"), "seat_metrics.mode", SEAT_METRICS_MODES
    )
    max_series = seat_section.get("max_series", DEFAULT_MAX_SEAT_SERIES)
    if isinstance(max_series, bool) or not isinstance(max_series, int) or max_series < 0:
        raise ConfigError("seat_metrics.max_series", f"must be a whole number >= 0, got {max_series!r}")
    hash_key: Secret | None = None
    if seat_mode == "hashed":
        key_file = seat_section.get("hash_key_file")
        if key_file is not None:
            key_path = Path(_string(key_file, "seat_metrics.hash_key_file"))
            try:
                key_text = key_path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    "seat_metrics.hash_key_file", f"cannot read {key_path}: {exc.strerror}"
                ) from None
        else:
            key_text = env.get(HASH_KEY_ENV, "").strip()
        if len(key_text) < 16:
            raise ConfigError(
                "seat_metrics.hash_key_file",
                f"hashed seat metrics need a secret key of at least 16 characters, from "
                f"seat_metrics.hash_key_file or {HASH_KEY_ENV}",
            )
        hash_key = Secret(key_text)

    log_level = _choice(pick("log_level", log.get("level"), "info"), "log.level", LOG_LEVELS)
    log_format = _choice(pick("log_format", log.get("format"), "logfmt"), "log.format", LOG_FORMATS)

    web_file_value = pick("web_config_file", web.get("config_file"), None)
    web_config = load_web_config(Path(_string(web_file_value, "web.config_file"))) if web_file_value else None

    token_file_value = pick("token_file", github.get("token_file"), None)
    token_file = Path(_string(token_file_value, "github.token_file")) if token_file_value else None
    app_id_value = pick("app_id", github.get("app_id"), env.get("GITHUB_APP_ID") or None)
    key_file_value = pick(
        "app_private_key_file",
        github.get("app_private_key_file"),
        env.get("GITHUB_APP_PRIVATE_KEY_FILE") or None,
    )
    installation_value = pick(
        "app_installation_id",
        github.get("app_installation_id"),
        env.get("GITHUB_APP_INSTALLATION_ID") or None,
    )
    app_id = _positive_id(app_id_value, "github.app_id") if app_id_value is not None else None
    installation_id = (
        _positive_id(installation_value, "github.app_installation_id")
        if installation_value is not None
        else None
    )
    key_file = Path(_string(key_file_value, "github.app_private_key_file")) if key_file_value else None
    app_key: Secret | None = None
    if app_id is None and (key_file is not None or installation_id is not None):
        raise ConfigError("github.app_id", "GitHub App authentication needs the app id as well")
    token: Secret | None = None
    if not demo_value and app_id is not None:
        if key_file is None:
            raise ConfigError(
                "github.app_private_key_file", "GitHub App authentication needs the app's private key"
            )
        if token_file is not None:
            raise ConfigError("github.token_file", "give a token file or a GitHub App, not both")
        app_key = _read_private_key(key_file)
    elif not demo_value:
        if token_file is not None:
            token = _read_token_file(token_file)
        elif env.get("GITHUB_TOKEN", "").strip():
            token = Secret(env["GITHUB_TOKEN"].strip())
        else:
            raise ConfigError(
                "GITHUB_TOKEN",
                "no GitHub token: set GITHUB_TOKEN or --github.token-file, or a GitHub App "
                "(--github.app-id and --github.app-private-key-file), or run with --demo for demo data",
            )
    if not demo_value and not targets:
        raise ConfigError(
            "organizations",
            "no target: give --org NAME or --enterprise SLUG (or organizations/enterprises in the file)",
        )

    return Config(
        targets=tuple(targets),
        token=token,
        token_file=token_file,
        app_id=app_id,
        app_private_key=app_key,
        app_private_key_file=key_file,
        app_installation_id=installation_id,
        api_url=api_url,
        request_timeout=request_timeout,
        max_concurrency=concurrency,
        requests_per_minute=float(per_minute),
        poll_interval=poll_interval,
        listen_host=host,
        listen_port=port,
        telemetry_path=telemetry_path,
        web_config=web_config,
        activity_windows=windows,
        seat_prices_usd=prices,
        seat_metrics=seat_mode,
        seat_metrics_hash_key=hash_key,
        max_seat_series=max_series,
        demo=demo_value,
        log_level=log_level,
        log_format=log_format,
    )
