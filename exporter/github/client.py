"""The GitHub REST client: one ``httpx.AsyncClient``, conditional requests, pagination, rate limits.

httpx moves the bytes (connections, TLS, proxies from the environment, content decoding); this module
decides policy: which origin may receive the token, how large an answer may be once decoded, what is
retried, how long to wait for a rate limit, and which pages make a list.

Answers are parsed as soon as they arrive and only the compact parsed form is cached (per URL, with
its ETag), so that a ``304 Not Modified`` - free against GitHub's primary rate limit - costs neither a
download nor a parse, and the cache stays small for large enterprises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from exporter import __version__
from exporter.errors import (
    GitHubError,
    MalformedResponseError,
    RateLimitedError,
)
from exporter.github.answers import (
    error_for,
    github_message,
    int_header,
    parse_body,
    rate_limit_reading,
    retry_after_seconds,
)
from exporter.github.auth import TokenSource
from exporter.github.downloads import MAX_DOWNLOAD_BYTES, DownloadLimits, stream_lines
from exporter.github.pacing import RequestPacer, Sleep
from exporter.github.pages import MAX_PAGES, all_pages
from exporter.github.retrying import Retry, RetryPolicy, retries
from exporter.github.sending import MAX_JSON_BYTES, Sender
from exporter.github.stats import ClientStats

log = logging.getLogger("exporter.github")

API_VERSION = "2022-11-28"
PER_PAGE = 100
USER_AGENT = f"github-copilot-exporter/{__version__}"

T = TypeVar("T")

HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": API_VERSION,
    "User-Agent": USER_AGENT,
}


def http_client(
    *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one HTTP client of the process: GitHub's API, the App token endpoint and report downloads.

    Redirects are never followed: GitHub's API does not redirect the calls made here, and a redirect
    to another origin must not carry the token (a redirect is reported as an unexpected status).
    Proxies and ``SSL_CERT_FILE`` come from the environment, as for any httpx client.
    """
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        headers=HEADERS,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


@dataclass(frozen=True, slots=True)
class _Cached:
    etag: str
    value: Any
    link: str


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: TokenSource,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        pacer: RequestPacer | None = None,
        stats: ClientStats | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        max_json_bytes: int = MAX_JSON_BYTES,
        downloads: DownloadLimits | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        split = urlsplit(self.api_url)
        self._origin = (split.scheme, split.netloc)
        #: Every API URL starts with this path: ``/api/v3`` on GitHub Enterprise Server, empty on github.com.
        self._prefix = split.path.rstrip("/") + "/"
        self._token = token
        self._retry = retry or RetryPolicy()
        self.pacer = pacer or RequestPacer()
        self.stats = stats or ClientStats()
        self._sleep = sleep
        self._clock = clock
        self._max_json_bytes = max_json_bytes
        self.downloads = downloads or DownloadLimits.for_api(self.api_url)
        # Downloads go to another host and may take minutes: they are bounded by slots of their own,
        # never holding the pacer's, which the API requests of every target need.
        self._download_slots = asyncio.Semaphore(self.pacer.concurrency)
        self._cache: dict[str, _Cached] = {}
        # Once GitHub says "rate limited", no request of any target goes out before this time (clock()).
        self._resume_at = 0.0
        # Secondary rate limits in a row, for their exponential back-off; reset by a successful answer.
        self._secondary_strikes = 0
        self._http = http if http is not None else http_client(timeout=timeout)
        #: How every request of this client goes out: paced, bounded, counted.
        self.sender = Sender(self._http, self.pacer, self.stats, max_bytes=max_json_bytes, clock=clock)
        use_sender = getattr(token, "use_sender", None)
        if use_sender is not None:
            use_sender(self.sender)  # an App's token requests go out as this client's do

    def with_token(self, token: TokenSource) -> GitHubClient:
        """A client for other credentials that shares this one's connections, pacing and statistics.

        GitHub's secondary limits count per machine as well as per token, so the pacer stays shared;
        the conditional-request cache does not, since answers depend on who asks. Close only this client.
        """
        return GitHubClient(
            self.api_url,
            token,
            http=self._http,
            retry=self._retry,
            pacer=self.pacer,
            stats=self.stats,
            sleep=self._sleep,
            clock=self._clock,
            max_json_bytes=self._max_json_bytes,
            downloads=self.downloads,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client (redirects never followed, timeouts set), for writes (exporter.github.writes)."""
        return self._http

    async def aclose(self) -> None:
        await self._http.aclose()
        close = getattr(self._token, "aclose", None)
        if close is not None:
            await close()

    # -- lists of pages ------------------------------------------------------------------------------

    async def get_pages(
        self,
        path: str,
        endpoint: str,
        parse: Callable[[Any, int], T],
        *,
        per_page: int = PER_PAGE,
        more: Callable[[T], bool | None] | None = None,
        max_pages: int = MAX_PAGES,
    ) -> list[T]:
        """Every page of a list (:func:`~exporter.github.pages.all_pages`), its links held to the API."""
        sep = "&" if "?" in path else "?"
        first_url = f"{self.api_url}{path}{sep}per_page={per_page}"
        return await all_pages(
            self.get, first_url, endpoint, parse, more=more, max_pages=max_pages, allowed=self.may_send_token
        )

    def may_send_token(self, url: str) -> bool:
        """Whether ``url`` is on the configured API origin and under its path (``/api/v3`` on GHES)."""
        split = urlsplit(url)
        return (split.scheme, split.netloc) == self._origin and (split.path + "/").startswith(self._prefix)

    # -- one request, with conditional caching and retries --------------------------------------

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]:
        """GET ``url`` and return its parsed body and Link header, retrying what is worth retrying.

        A rate limit is sat out before the next try by :meth:`_wait_for_rate_limit`, with every
        other request of the client, so the retry itself waits for nothing.
        """
        tries = retries(
            self._retry,
            retryable=lambda exc: isinstance(exc, GitHubError) and exc.retryable,
            pause=lambda exc: 0.0 if isinstance(exc, RateLimitedError) else None,
            on_retry=lambda retry: _log_retry(endpoint, retry),
            sleep=self._sleep,
        )
        async for attempt in tries:
            await self._wait_for_rate_limit(endpoint)
            with attempt:
                try:
                    return await self._get_once(url, endpoint, parse)
                except RateLimitedError as exc:
                    self._hold_requests(endpoint, exc)
                    raise
        raise AssertionError("unreachable: the last try returns or raises")

    def _hold_requests(self, endpoint: str, exc: RateLimitedError) -> None:
        """Hold every request of this client until GitHub's rate limit is over."""
        resume_at = self._clock() + exc.retry_after
        if resume_at > self._resume_at + 1.0:
            # Logged once per pause, not once per request that was in flight when it began.
            log.warning(
                "rate limited by GitHub; pausing every request",
                extra={"endpoint": endpoint, "wait_seconds": round(exc.retry_after, 1)},
            )
        self._resume_at = max(self._resume_at, resume_at)

    async def _wait_for_rate_limit(self, endpoint: str) -> None:
        """Sleep out a pause GitHub asked for; a pause longer than a poll should wait fails the request.

        Failing without sending anything keeps a throttled token from being hammered, and lets the poll
        end (serving the last good data) instead of stalling the schedule for up to an hour.
        """
        wait = self._resume_at - self._clock()
        if wait <= 0:
            return
        if wait > self._retry.max_rate_limit_wait:
            raise RateLimitedError(
                f"{endpoint}: rate limited for another {round(wait)}s; not sent", retry_after=wait
            )
        await self._sleep(wait)

    async def _get_once(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]:
        if not self.may_send_token(url):
            raise MalformedResponseError(f"{endpoint}: refusing to send the token outside {self.api_url}")
        headers = {}
        token = await self._token.token(url)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        cached = self._cache.get(url)
        if cached is not None:
            headers["If-None-Match"] = cached.etag
        answer = await self.sender.send("GET", url, endpoint, headers)
        status, content, sent_at = answer.status, answer.content, answer.sent_at
        reading = rate_limit_reading(answer.headers)
        if reading is not None:
            self.stats.set_rate_limit(*reading)

        if status in (200, 204, 304) and sent_at >= self._resume_at:
            # Only an answer to a request sent after the last pause proves GitHub has calmed down.
            self._secondary_strikes = 0
        if status == 304 and cached is not None:
            return cached.value, cached.link
        if status == 204:
            return parse_body(parse, None, endpoint), ""
        if status != 200:
            if status == 401 and token:
                self._token.invalidate(token)
            message = github_message(content)
            retry_after = (
                self._rate_limit_wait(status, answer.headers, message, sent_at)
                if status in (403, 429)
                else None
            )
            raise error_for(status, message, url, endpoint, retry_after)
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):
            kind = answer.headers.get("content-type", "unknown content type")
            raise MalformedResponseError(
                f"{endpoint}: answer is not JSON ({kind[:60]})", status=200, url=url
            ) from None
        value = parse_body(parse, body, endpoint)
        link = answer.headers.get("link", "")
        etag = answer.headers.get("etag")
        if etag:
            self._cache[url] = _Cached(etag, value, link)
        else:
            self._cache.pop(url, None)
        return value, link

    async def download_lines(
        self, url: str, endpoint: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> AsyncIterator[bytes]:
        """Stream a report file from a signed download link, line by line, WITHOUT the API token.

        The links carry their own signature: the request goes out with no Authorization header, and
        only to an origin :attr:`downloads` allows. GitHub's API limits do not apply to the report
        host, so downloads are not paced; they take one of their own slots, with a deadline and a
        minimum rate, so that a trickling file cannot stall the API requests of other targets.
        """
        self.downloads.check(url, endpoint)
        async with self._download_slots:
            lines = stream_lines(
                self._http, url, endpoint, self.stats, max_bytes=max_bytes, limits=self.downloads
            )
            async for line in lines:
                yield line

    def _rate_limit_wait(
        self, status: int, headers: httpx.Headers, message: str, sent_at: float
    ) -> float | None:
        """Seconds to wait when a 403/429 is a rate limit, None when it is a plain refusal.

        Primary limit (``x-ratelimit-remaining: 0``): until ``x-ratelimit-reset``. Secondary limit:
        ``Retry-After``, else at least a minute, doubling while GitHub keeps refusing.
        """
        retry_after = retry_after_seconds(headers.get("retry-after"), self._clock())
        if retry_after is None and int_header(headers, "x-ratelimit-remaining") == 0:
            reset = int_header(headers, "x-ratelimit-reset")
            return max(1.0, reset - self._clock() + 1.0) if reset is not None else 60.0
        if retry_after is None and status != 429 and "rate limit" not in message.lower():
            return None
        if sent_at < self._resume_at:
            # Sent before the current pause began: the same episode, not a repeat offence.
            return max(retry_after or 0.0, self._resume_at - self._clock())
        self._secondary_strikes += 1
        backoff = min(
            self._retry.max_secondary_backoff,
            self._retry.secondary_backoff * 2.0 ** (self._secondary_strikes - 1),
        )
        if retry_after is not None and self._secondary_strikes == 1:
            return retry_after
        return max(retry_after or 0.0, backoff)


def _log_retry(endpoint: str, retry: Retry) -> None:
    if retry.pause:
        return  # logged once per pause by GitHubClient._hold_requests
    assert isinstance(retry.error, GitHubError)
    log.info(
        "request failed; retrying",
        extra={
            "endpoint": endpoint,
            "reason": retry.error.reason,
            "attempt": retry.failures,
            "delay_seconds": round(retry.delay, 3),
        },
    )
