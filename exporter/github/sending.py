"""The one way a request goes to GitHub: paced, read within a size bound, counted, its failures mapped.

The read client, the writer (``reclaim apply``) and the App's token requests all send through a
:class:`Sender`, so each takes a pacer slot, has its answer refused past :data:`MAX_JSON_BYTES`
once decoded (a gzip bomb is never inflated), shows in ``github_copilot_api_requests_total`` by
endpoint and status, and fails as one of :mod:`exporter.errors`' classes rather than as httpx's.
Report downloads, which stream and are not paced, map their failures with :func:`http_errors` too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from exporter.errors import MalformedResponseError, RequestTimeoutError, TransportError
from exporter.github.bodies import ACCEPT_ENCODING, BodyError, read_body
from exporter.github.pacing import RequestPacer
from exporter.github.stats import ClientStats

#: The largest JSON answer, counted after content decoding. The largest the exporter asks for, a page of
#: 100 seats, is about 250 KB; parsing JSON costs tens of times its size in memory (a body of small
#: objects most), so an answer much larger than any real one is refused unread.
MAX_JSON_BYTES = 2 * 1024 * 1024


@contextmanager
def http_errors(stats: ClientStats, endpoint: str, url: str = "", doing: str = "request") -> Iterator[None]:
    """httpx's timeouts and transport failures as the exporter's errors, each counted as ``error``."""
    try:
        yield
    except httpx.TimeoutException:
        stats.count(endpoint, "error")
        raise RequestTimeoutError(f"{endpoint}: {doing} timed out", url=url) from None
    except httpx.HTTPError as exc:
        stats.count(endpoint, "error")
        raise TransportError(f"{endpoint}: {doing} failed ({type(exc).__name__})", url=url) from None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: httpx.Headers
    #: The decoded body, at most the sender's ``max_bytes``.
    content: bytes
    #: When the request left (``clock()``, once its pacer slot was granted).
    sent_at: float


class Sender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        pacer: RequestPacer,
        stats: ClientStats,
        *,
        max_bytes: int = MAX_JSON_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.pacer = pacer
        self.stats = stats
        self.max_bytes = max_bytes
        self._clock = clock

    async def send(
        self,
        method: str,
        url: str,
        endpoint: str,
        headers: dict[str, str],
        content: bytes | None = None,
    ) -> Answer:
        """One request and its whole answer, whatever its status; failures to get one raise.

        A body that is too large or undecodable is a malformed answer, not a network failure: it is
        not retried, which would only download it again.
        """
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **headers}
        with http_errors(self.stats, endpoint, url):
            async with self.pacer.slot():
                sent_at = self._clock()
                request = self.http.build_request(method, url, headers=headers, content=content)
                response = await self.http.send(request, stream=True)
                try:
                    body = await read_body(response, self.max_bytes)
                except BodyError as exc:
                    self.stats.count(endpoint, str(response.status_code))
                    raise MalformedResponseError(
                        f"{endpoint}: {exc}", status=response.status_code, url=url
                    ) from None
                finally:
                    await response.aclose()
        self.stats.count(endpoint, str(response.status_code))
        return Answer(response.status_code, response.headers, body, sent_at)
