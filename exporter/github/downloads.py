"""Report files from signed download links: streamed line by line, bounded, and never with the token.

The usage reports' links point at another host (GitHub's blob storage) and carry their own signature.
The request goes out with no Authorization header whatever the host, is inflated with a bound on its
decoded size (a compressed bomb is refused, never inflated), and holds one line at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from exporter.errors import MalformedResponseError, RequestTimeoutError, TransportError, UnexpectedStatusError
from exporter.github.bodies import ACCEPT_ENCODING, BodyError, iter_body
from exporter.github.stats import ClientStats

#: A report file's largest decoded size: a day of 100,000 users is some hundreds of megabytes.
MAX_DOWNLOAD_BYTES = 4 * 1024 * 1024 * 1024
#: One NDJSON record; a user's day is a few kilobytes.
MAX_LINE_BYTES = 1024 * 1024


async def stream_lines(
    http: httpx.AsyncClient,
    url: str,
    endpoint: str,
    stats: ClientStats,
    *,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> AsyncIterator[bytes]:
    """The non-blank lines of the file at ``url``; any failure raises, so a caller never mistakes a
    cut download for a whole one."""
    pending = b""
    try:
        async with http.stream("GET", url, headers={"Accept-Encoding": ACCEPT_ENCODING}) as response:
            stats.count(endpoint, str(response.status_code))
            if response.status_code != 200:
                raise UnexpectedStatusError(
                    f"{endpoint}: download answered {response.status_code}", status=response.status_code
                )
            async for piece in iter_body(response, max_bytes):
                pending += piece
                *lines, pending = pending.split(b"\n")
                if len(pending) > MAX_LINE_BYTES:
                    raise MalformedResponseError(f"{endpoint}: a line longer than {MAX_LINE_BYTES} bytes")
                for line in lines:
                    if line.strip():
                        yield line
    except BodyError as exc:
        raise MalformedResponseError(f"{endpoint}: download {exc}") from None
    except httpx.TimeoutException:
        stats.count(endpoint, "error")
        raise RequestTimeoutError(f"{endpoint}: download timed out") from None
    except httpx.HTTPError as exc:
        stats.count(endpoint, "error")
        raise TransportError(f"{endpoint}: download failed ({type(exc).__name__})") from None
    if pending.strip():
        yield pending
