"""The configuration as typed, immutable objects; :mod:`exporter.config.loader` builds and validates them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from exporter.config.durations import MIN_POLL_INTERVAL as MIN_POLL_INTERVAL
from exporter.config.web import WebConfig

# Re-exported: Secret sits below the GitHub client, which takes one.
from exporter.secrets import Secret as Secret

TargetKind = Literal["org", "enterprise"]
#: The Copilot plans a seat may have: seat prices and AI credits per seat are configured per plan.
PLANS = ("business", "enterprise")
LOG_LEVELS = ("debug", "info", "warn", "error")
LOG_FORMATS = ("logfmt", "json")
DEFAULT_MAX_SEAT_SERIES = 50_000


class SeatMetricsMode(StrEnum):
    """``seat_metrics.mode`` (parsed in :mod:`exporter.config.seat_metrics`)."""

    #: Per-user series carry the login.
    LOGIN = "login"
    #: Per-user series carry a keyed hash of the login (``u`` and 16 hex digits).
    HASHED = "hashed"
    #: No per-user series at all.
    OFF = "off"


class Enabled(StrEnum):
    """A source's ``enabled`` key (``--SOURCE.enabled``); what ``auto`` decides is the source's own."""

    AUTO = "auto"
    TRUE = "true"
    FALSE = "false"


def has_usage_reports(api_url: str) -> bool:
    """Whether the API serves usage-metrics reports: GitHub Enterprise Server (``/api/v3``) has none."""
    return not api_url.rstrip("/").endswith("/api/v3")


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

    #: The ``enterprise`` and ``org`` label values of the target's series, in that order (kept, since
    #: every sample of the target's per-user series asks for them).
    labels: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", (self.enterprise, self.org))

    def __str__(self) -> str:
        return f"{self.kind}={self.name}"


@dataclass(frozen=True, slots=True)
class ActivityWindow:
    label: str
    seconds: float


@dataclass(frozen=True)
class ReclaimConfig:
    """The ``reclaim:`` policy: which idle seats ``reclaim plan`` proposes, and how ``apply`` writes."""

    #: Days without activity after which a seat is proposed (GitHub clears activity after 90).
    idle_days: int = 90
    #: Seats assigned fewer days ago than this are never proposed.
    grace_days: int = 30
    #: Whether seats never used (no activity at all) are proposed once past the grace.
    never_used: bool = True
    #: Logins and team slugs never proposed, lower-case.
    allow_logins: frozenset[str] = frozenset()
    allow_teams: frozenset[str] = frozenset()
    max_removals: int = 50
    #: Seconds a plan must have existed before ``apply`` accepts it.
    min_plan_age: float = 0.0
    #: The write credential: a token file, or a GitHub App installation with seat-management write.
    token_file: Path | None = None
    app_id: int | None = None
    app_private_key_file: Path | None = None
    app_installation_id: int | None = None
    #: Logins per DELETE request, and seconds between two requests.
    batch_size: int = 20
    batch_pause: float = 1.0


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
    listen_host: str = "0.0.0.0"
    listen_port: int = 9185
    telemetry_path: str = "/metrics"
    #: The exporter-toolkit web configuration (TLS, basic auth, headers) from --web.config.file.
    web_config: WebConfig | None = None
    #: Seconds a client has to complete a request's headers (its TLS handshake included).
    web_read_header_timeout: float = 10.0
    #: Seconds from a request's headers to the end of its response.
    web_write_timeout: float = 60.0
    #: How per-seat series name the user: by login, by a keyed hash of it, or not at all.
    seat_metrics: SeatMetricsMode = SeatMetricsMode.LOGIN
    seat_metrics_hash_key: Secret | None = field(default=None, repr=False)
    #: At most this many seats get per-seat series; aggregates always count every seat.
    max_seat_series: int = DEFAULT_MAX_SEAT_SERIES
    #: The sections of the data sources, by section name, each parsed by its source's own model
    #: (``exporter/sources/<source>/config.py``) and read back through it: the seat source's
    #: ``poll_interval``, ``activity_windows`` and ``seat_prices_usd`` too, top-level keys of the file.
    sources: Mapping[str, object] = field(default_factory=dict)
    reclaim: ReclaimConfig = field(default_factory=ReclaimConfig)
    demo: bool = False
    log_level: str = "info"
    log_format: str = "logfmt"

    @property
    def listen_address(self) -> str:
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{host}:{self.listen_port}"
