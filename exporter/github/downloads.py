"""Report files from signed download links: streamed line by line, bounded, and never with the token.

The usage reports' links point at another host (GitHub's report host) and carry their own signature.
A link is followed only to one of GitHub's report hosts for the configured API (or a host the
configuration allows); the request goes out with no Authorization header whatever the host, is
inflated with a bound on its decoded size (a compressed bomb is refused, never inflated), must end
within a deadline and keep up a minimum rate, and holds one line at a time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from exporter.config.downloads import (
    DEFAULT_DOWNLOAD_MIN_RATE,
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_PORTS,
    Origin,
)
from exporter.errors import (
    DownloadRefusedError,
    MalformedResponseError,
    RequestTimeoutError,
    UnexpectedStatusError,
)
from exporter.github.bodies import ACCEPT_ENCODING, BodyError, iter_body
from exporter.github.lines import LineSplitter, LineTooLongError
from exporter.github.sending import http_errors
from exporter.github.stats import ClientStats
from exporter.github.text import quoted

#: A report file's largest decoded size: a day of 100,000 users is some hundreds of megabytes.
MAX_DOWNLOAD_BYTES = 4 * 1024 * 1024 * 1024
#: One NDJSON record; a user's day is a few kilobytes.
MAX_LINE_BYTES = 1024 * 1024
#: GitHub's report host, named after the API host: ``api.github.com`` -> ``copilot-reports.github.com``.
REPORT_HOST_PREFIX = "copilot-reports."


def report_origins(api_url: str) -> tuple[Origin, ...]:
    """The HTTPS origins GitHub's report links point at for the API at ``api_url``.

    ``api.github.com`` and data residency's ``api.TENANT.ghe.com`` name their report host
    ``copilot-reports.github.com`` and ``copilot-reports.TENANT.ghe.com``; a GitHub Enterprise Server
    (``https://HOST/api/v3``) serves from its own host, or a ``copilot-reports.HOST`` by the same rule.
    """
    host = (urlsplit(api_url).hostname or "").lower()
    if not host:
        return ()
    if host.startswith("api."):
        names = [REPORT_HOST_PREFIX + host.removeprefix("api.")]
    else:
        names = [host, REPORT_HOST_PREFIX + host]
    return tuple(("https", name, DEFAULT_PORTS["https"]) for name in names)


def link_origin(url: str) -> Origin | None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True, slots=True)
class DownloadLimits:
    """Where report links may point, how long a file may take and how slowly it may come."""

    origins: frozenset[Origin]
    #: Seconds from the request to the last byte.
    deadline: float = DEFAULT_DOWNLOAD_TIMEOUT
    #: Bytes per second (on the wire) over every ``window`` seconds; 0: no minimum.
    min_rate: float = DEFAULT_DOWNLOAD_MIN_RATE
    window: float = 30.0

    @classmethod
    def for_api(cls, api_url: str, *extra: Origin, **limits: float) -> DownloadLimits:
        return cls(frozenset((*report_origins(api_url), *extra)), **limits)

    def check(self, url: str, endpoint: str) -> None:
        """Refuse a link outside the allowed origins before anything is sent to it."""
        origin = link_origin(url)
        if origin is None or origin not in self.origins:
            parts = urlsplit(url)
            where = quoted(f"{parts.scheme}://{parts.netloc}", max_chars=120)
            raise DownloadRefusedError(
                f"{endpoint}: refused a report link to {where}: not one of GitHub's report hosts for the "
                "configured API nor in usage.allowed_download_hosts; nothing was sent to it"
            )


class RateGuard:
    """Fails a download that outlives its deadline or sends less than the minimum over a window.

    Checked as each chunk arrives from the network; silence longer than the client's read timeout is
    httpx's to end, so a download never goes unchecked for longer than that.
    """

    def __init__(self, limits: DownloadLimits, endpoint: str, clock: Callable[[], float] = time.monotonic):
        self._limits = limits
        self._endpoint = endpoint
        self._clock = clock
        self._started = self._window_at = clock()
        self._received = self._window_base = 0

    def received(self, size: int) -> None:
        self._received += size
        now = self._clock()
        limits = self._limits
        if now - self._started > limits.deadline:
            raise RequestTimeoutError(
                f"{self._endpoint}: download not finished within {limits.deadline:g}s "
                "(usage.download_timeout); cut"
            )
        elapsed = now - self._window_at
        if elapsed < limits.window:
            return
        got = self._received - self._window_base
        if got < limits.min_rate * elapsed:
            raise RequestTimeoutError(
                f"{self._endpoint}: download sent {got} bytes in {elapsed:.0f}s, slower than "
                f"{limits.min_rate:g} bytes/s (usage.download_min_rate); cut"
            )
        self._window_at, self._window_base = now, self._received


async def stream_lines(
    http: httpx.AsyncClient,
    url: str,
    endpoint: str,
    stats: ClientStats,
    *,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    limits: DownloadLimits | None = None,
) -> AsyncIterator[bytes]:
    """The non-blank lines of the file at ``url``; any failure raises, so a caller never mistakes a
    cut download for a whole one. ``limits`` None: no deadline or rate (the origin is the caller's)."""
    splitter = LineSplitter(MAX_LINE_BYTES)
    # No url in the errors: a signed link is a credential for as long as it lives.
    with http_errors(stats, endpoint, doing="download"):
        try:
            async with http.stream("GET", url, headers={"Accept-Encoding": ACCEPT_ENCODING}) as response:
                stats.count(endpoint, str(response.status_code))
                if response.status_code != 200:
                    raise UnexpectedStatusError(
                        f"{endpoint}: download answered {response.status_code}", status=response.status_code
                    )
                guard = RateGuard(limits, endpoint).received if limits is not None else None
                async for piece in iter_body(response, max_bytes, on_raw=guard):
                    for line in splitter.feed(piece):
                        yield line
        except LineTooLongError as exc:
            raise MalformedResponseError(f"{endpoint}: {exc}") from None
        except BodyError as exc:
            raise MalformedResponseError(f"{endpoint}: download {exc}") from None
        except RequestTimeoutError:  # the rate guard's
            stats.count(endpoint, "error")
            raise
    last = splitter.end()
    if last is not None:
        yield last
