"""``usage``'s limits on report downloads: a total deadline, a minimum rate, and the hosts links may name.

GitHub's report links point at its own report hosts, derived from ``github.api_url`` (see
:mod:`exporter.github.downloads`); ``allowed_download_hosts`` adds others, each a host name (HTTPS on
port 443), ``host:port`` (HTTPS), or a whole origin such as ``http://127.0.0.1:8080`` for a test fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from exporter.config.durations import parse_duration
from exporter.config.quoting import shown
from exporter.errors import ConfigError

#: (scheme, host in lower case, port): what a download link must match exactly.
Origin = tuple[str, str, int]
DEFAULT_PORTS = {"https": 443, "http": 80}
#: A report file of a few hundred megabytes reads in minutes; an hour past the deadline is a stall.
DEFAULT_DOWNLOAD_TIMEOUT = 1800.0
MAX_DOWNLOAD_TIMEOUT = 6 * 3600.0
#: Bytes per second, averaged over every period of ``github.request_timeout``: a trickle is cut early.
DEFAULT_DOWNLOAD_MIN_RATE = 16 * 1024
MAX_DOWNLOAD_MIN_RATE = 1 << 30
MAX_ALLOWED_HOSTS = 64
KEY_HOSTS = "usage.allowed_download_hosts"


def parse_origin(entry: Any, key: str = KEY_HOSTS) -> Origin:
    """``entry`` as an origin; a bare host or ``host:port`` means HTTPS."""
    if not isinstance(entry, str) or not entry.strip() or len(entry) > 300:
        raise ConfigError(key, f"each entry must be a host name or an origin, got {shown(entry)}")
    text = entry.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(key, f"{shown(text)} has an invalid port") from None
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            key, f"{shown(text)} must be a host name, host:port, or an origin such as https://host:port"
        )
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def download_settings(usage: Mapping[str, Any]) -> dict[str, Any]:
    """The ``UsageConfig`` fields of the download limits, validated."""
    timeout_text = str(usage.get("download_timeout", "30m"))
    timeout = parse_duration(timeout_text, "usage.download_timeout")
    if not 1.0 <= timeout <= MAX_DOWNLOAD_TIMEOUT:
        raise ConfigError("usage.download_timeout", f"{shown(timeout_text)} must be from 1s to 6h")
    rate = usage.get("download_min_rate", DEFAULT_DOWNLOAD_MIN_RATE)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_DOWNLOAD_MIN_RATE:
        raise ConfigError(
            "usage.download_min_rate",
            f"must be a whole number of bytes per second from 0 (no minimum) to {MAX_DOWNLOAD_MIN_RATE}, "
            f"got {shown(rate)}",
        )
    hosts = usage.get("allowed_download_hosts") or []
    if not isinstance(hosts, list) or len(hosts) > MAX_ALLOWED_HOSTS:
        raise ConfigError(KEY_HOSTS, f"must be a list of at most {MAX_ALLOWED_HOSTS} hosts or origins")
    return {
        "download_timeout": timeout,
        "download_min_rate": rate,
        "allowed_download_hosts": tuple(dict.fromkeys(parse_origin(entry) for entry in hosts)),
    }
