"""The GitHub REST client: one async httpx client, conditional requests, pagination, rate limits.

Answers are parsed as soon as they arrive and only the compact parsed form is cached (per URL, with
its ETag), so that a ``304 Not Modified`` - free against GitHub's primary rate limit - costs neither a
download nor a parse, and the cache stays small for large enterprises.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from exporter import __version__
from exporter.auth import StaticToken, TokenSource
from exporter.errors import (
    AuthenticationError,
    CopilotUnavailableError,
    GitHubError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnexpectedStatusError,
)
from exporter.seats import OrgBilling, SeatPage, parse_org_billing, parse_seat_page
from exporter.transport import default_transport

log = logging.getLogger("exporter.github")

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 10_000
USER_AGENT = f"github-copilot-exporter/{__version__}"

ENDPOINT_ORG_BILLING = "/orgs/{org}/copilot/billing"
ENDPOINT_ORG_SEATS = "/orgs/{org}/copilot/billing/seats"
ENDPOINT_ENTERPRISE_SEATS = "/enterprises/{enterprise}/copilot/billing/seats"

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

#: Sent with every request; Accept-Encoding because the transport is used without httpx's client, which
#: would add it (httpx's Response decodes the answer).
_HEADERS = (
    (b"Accept", b"application/vnd.github+json"),
    (b"Accept-Encoding", b"gzip, deflate"),
    (b"X-GitHub-Api-Version", API_VERSION.encode()),
    (b"User-Agent", USER_AGENT.encode()),
)

_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    remaining: int
    used: int
    reset: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 60.0
    #: Longest wait for a rate limit to reset inside one poll; a longer one fails the poll instead.
    max_rate_limit_wait: float = 900.0
    #: Shortest wait after a secondary rate limit without Retry-After, doubled on each repeat.
    secondary_backoff: float = 60.0
    #: Longest wait after repeated secondary rate limits.
    max_secondary_backoff: float = 900.0


class ClientStats:
    """Request counts and rate-limit readings, read by the collector from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._rate_limits: dict[str, RateLimit] = {}

    def count(self, endpoint: str, code: str) -> None:
        with self._lock:
            self._requests[(endpoint, code)] += 1

    def set_rate_limit(self, resource: str, value: RateLimit) -> None:
        with self._lock:
            self._rate_limits[resource] = value

    def requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._requests)

    def rate_limits(self) -> dict[str, RateLimit]:
        with self._lock:
            return dict(self._rate_limits)


class RequestPacer:
    """Bounds the requests in flight and spaces their starts, for GitHub's secondary rate limits.

    GitHub allows at most 100 concurrent requests and 900 points (GETs) per minute per endpoint, and
    asks integrators to prefer few concurrent requests; one pacer is shared by every target.

    Starts are released in batches of ``concurrency`` every ``concurrency`` request intervals rather
    than one per interval: the same requests per minute and the same bound on requests in flight, but
    the event loop and the connection pool wake once per batch instead of once per request. On an
    otherwise idle process each wake-up costs about as much CPU as the request itself, so batching
    takes about a third off the CPU of a steady-state poll answered by 304s (docs/performance.md).
    """

    def __init__(
        self,
        concurrency: int = 4,
        per_minute: float = 600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.concurrency = concurrency
        self.per_minute = per_minute
        self._semaphore = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._batch_spacing = batch_spacing(concurrency, per_minute)
        self._batch_at = -math.inf
        self._in_batch = 0
        self._clock = clock
        self._sleep = sleep

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            async with self._lock:
                now = self._clock()
                if now >= self._batch_at + self._batch_spacing:
                    # Idle for a whole batch spacing or more: a new batch may start at once.
                    self._batch_at, self._in_batch = now, 0
                elif self._in_batch >= self.concurrency:
                    self._batch_at, self._in_batch = self._batch_at + self._batch_spacing, 0
                self._in_batch += 1
                wait = self._batch_at - now
            if wait > 0:
                await self._sleep(wait)
            yield


def batch_spacing(concurrency: int, per_minute: float) -> float:
    """Seconds between the starts of two batches of ``concurrency`` requests; 0 without pacing."""
    return concurrency * 60.0 / per_minute if per_minute > 0 else 0.0


def paced_seconds(requests: int, concurrency: int, per_minute: float) -> float:
    """How long ``requests`` hold the pacer: the batches they fill, each :func:`batch_spacing` long.

    A poll cannot take less than this minus one batch spacing (its last batch starts, it does not
    wait out the spacing), and polls started closer together than this run back to back.
    """
    if requests <= 0:
        return 0.0
    return math.ceil(requests / concurrency) * batch_spacing(concurrency, per_minute)


@dataclass(frozen=True, slots=True)
class _Cached:
    etag: str
    value: Any
    link: str


def parse_link_header(header: str) -> dict[str, str]:
    return {rel: url for url, rels in _LINK_RE.findall(header) for rel in rels.split()}


def _with_page(url: str, page: int) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(query) if k != "page"]
    return urlunsplit((scheme, netloc, path, urlencode([*params, ("page", str(page))]), fragment))


def _page_number(url: str) -> int | None:
    value = dict(parse_qsl(urlsplit(url).query)).get("page")
    return int(value) if value is not None and value.isdigit() else None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _github_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:200] if message else ""


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: TokenSource,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        pacer: RequestPacer | None = None,
        stats: ClientStats | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._origin = urlsplit(self.api_url)[:2]
        self._token = token
        self._retry = retry or RetryPolicy()
        self.pacer = pacer or RequestPacer()
        self.stats = stats or ClientStats()
        self._sleep = sleep
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        # Once GitHub says "rate limited", no request of any target goes out before this time (clock()).
        self._resume_at = 0.0
        # Secondary rate limits in a row, for their exponential back-off; reset by a successful answer.
        self._secondary_strikes = 0
        self._transport = transport or default_transport(self.api_url)
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._urls: dict[str, httpx.URL] = {}

    async def aclose(self) -> None:
        await self._transport.aclose()
        close = getattr(self._token, "aclose", None)
        if close is not None:
            await close()

    # -- the calls the poller makes -------------------------------------------------------------

    async def org_billing(self, org: str) -> OrgBilling:
        url = f"{self.api_url}/orgs/{org}/copilot/billing"
        value, _ = await self.get(url, ENDPOINT_ORG_BILLING, parse_org_billing)
        return value

    async def org_seats(self, org: str) -> list[SeatPage]:
        return await self._seat_pages(f"/orgs/{org}/copilot/billing/seats", ENDPOINT_ORG_SEATS)

    async def enterprise_seats(self, enterprise: str) -> list[SeatPage]:
        path = f"/enterprises/{enterprise}/copilot/billing/seats"
        return await self._seat_pages(path, ENDPOINT_ENTERPRISE_SEATS)

    async def _seat_pages(self, path: str, endpoint: str) -> list[SeatPage]:
        """Every page of a seat list: the first one, then the rest concurrently once it tells the count.

        GitHub's ``Link`` header names the last page, so pages 2..N are requested through the pacer in
        parallel; without ``rel="last"`` the ``rel="next"`` chain is followed one page at a time.
        """
        first_url = f"{self.api_url}{path}?per_page={PER_PAGE}"
        first, link = await self._seat_page(first_url, endpoint, 1)
        links = parse_link_header(link)
        last = _page_number(links["last"]) if "last" in links and "next" in links else None
        if last is not None and "next" in links:
            if last > MAX_PAGES:
                raise MalformedResponseError(
                    f"{endpoint}: {last} pages is more than the {MAX_PAGES} supported"
                )
            self._check_origin(links["next"], endpoint)
            urls = [_with_page(links["next"], n) for n in range(2, last + 1)]
            tasks = [asyncio.create_task(self._seat_page(u, endpoint, n)) for n, u in enumerate(urls, 2)]
            try:
                rest = await asyncio.gather(*tasks)
            except BaseException:
                # One page failed: the poll is lost anyway, so stop spending requests on the others.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            return [first, *(page for page, _ in rest)]

        pages = [first]
        seen = {first_url}
        url = links.get("next")
        while url is not None:
            if url in seen or len(pages) >= MAX_PAGES:
                raise MalformedResponseError(f"{endpoint}: pagination does not end (at {len(pages)} pages)")
            seen.add(url)
            self._check_origin(url, endpoint)
            page, link = await self._seat_page(url, endpoint, len(pages) + 1)
            pages.append(page)
            url = parse_link_header(link).get("next")
        return pages

    async def _seat_page(self, url: str, endpoint: str, number: int) -> tuple[SeatPage, str]:
        return await self.get(
            url, endpoint, functools.partial(parse_seat_page, where=f"{endpoint} page {number}")
        )

    def _check_origin(self, url: str, endpoint: str) -> None:
        # Never send the token to another host, whatever a Link header says.
        if urlsplit(url)[:2] != self._origin:
            raise MalformedResponseError(f"{endpoint}: next page link points outside {self.api_url}")

    # -- one request, with conditional caching and retries --------------------------------------

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]:
        """GET ``url`` and return its parsed body and Link header, retrying what is worth retrying."""
        attempt = 0
        while True:
            attempt += 1
            await self._wait_for_rate_limit(endpoint)
            try:
                return await self._get_once(url, endpoint, parse)
            except RateLimitedError as exc:
                resume_at = self._clock() + exc.retry_after
                if resume_at > self._resume_at + 1.0:
                    # Logged once per pause, not once per request that was in flight when it began.
                    log.warning(
                        "rate limited by GitHub; pausing every request",
                        extra={"endpoint": endpoint, "wait_seconds": round(exc.retry_after, 1)},
                    )
                self._resume_at = max(self._resume_at, resume_at)
                if attempt >= self._retry.attempts + 2:
                    raise
            except GitHubError as exc:
                if not exc.retryable or attempt >= self._retry.attempts:
                    raise
                delay = min(self._retry.max_backoff, self._retry.backoff * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.5)
                log.info(
                    "request failed; retrying",
                    extra={
                        "endpoint": endpoint,
                        "reason": exc.reason,
                        "attempt": attempt,
                        "delay_seconds": round(delay, 3),
                    },
                )
                await self._sleep(delay)

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
        headers = list(_HEADERS)
        token = await self._token.token(url)
        if token:
            headers.append((b"Authorization", f"Bearer {token}".encode()))
        cached = self._cache.get(url)
        if cached is not None:
            headers.append((b"If-None-Match", cached.etag.encode()))
        request = httpx.Request("GET", self._url(url), headers=headers, extensions={"timeout": self._timeout})
        try:
            async with self.pacer.slot():
                sent_at = self._clock()
                response = await self._transport.handle_async_request(request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except httpx.TimeoutException:
            self.stats.count(endpoint, "error")
            raise RequestTimeoutError(f"{endpoint}: request timed out", url=url) from None
        except httpx.HTTPError as exc:
            self.stats.count(endpoint, "error")
            raise TransportError(f"{endpoint}: {type(exc).__name__}", url=url) from None
        self.stats.count(endpoint, str(response.status_code))
        self._record_rate_limit(response.headers)

        if response.status_code in (200, 304) and sent_at >= self._resume_at:
            # Only an answer to a request sent after the last pause proves GitHub has calmed down.
            self._secondary_strikes = 0
        if response.status_code == 304 and cached is not None:
            return cached.value, cached.link
        if response.status_code != 200:
            if response.status_code == 401 and token:
                self._token.invalidate(token)
            raise self._error(response, url, endpoint, sent_at)
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            kind = response.headers.get("content-type", "unknown content type")
            raise MalformedResponseError(
                f"{endpoint}: answer is not JSON ({kind})", status=200, url=url
            ) from None
        value = parse_body(parse, body, endpoint)
        link = response.headers.get("link", "")
        etag = response.headers.get("etag")
        if etag:
            self._cache[url] = _Cached(etag, value, link)
        else:
            self._cache.pop(url, None)
        return value, link

    def _url(self, url: str) -> httpx.URL:
        # Parsed once per page: parsing costs a tenth of a request answered 304.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    def _record_rate_limit(self, headers: httpx.Headers) -> None:
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        reset = _int_header(headers, "x-ratelimit-reset")
        if limit is None or remaining is None or reset is None:
            return
        used = _int_header(headers, "x-ratelimit-used")
        resource = headers.get("x-ratelimit-resource", "core")
        self.stats.set_rate_limit(
            resource, RateLimit(limit, remaining, used or limit - remaining, float(reset))
        )

    def _error(self, response: httpx.Response, url: str, endpoint: str, sent_at: float) -> GitHubError:
        status = response.status_code
        message = _github_message(response)
        said = f": {message}" if message else ""
        if status in (403, 429):
            retry_after = self._rate_limit_wait(status, response.headers, message, sent_at)
            if retry_after is not None:
                return RateLimitedError(
                    f"{endpoint}: rate limited ({status}){said}",
                    retry_after=retry_after,
                    status=status,
                    url=url,
                )
        errors: Mapping[int, type[GitHubError]] = {
            401: AuthenticationError,
            403: PermissionDeniedError,
            404: NotFoundError,
            422: CopilotUnavailableError,
        }
        if status in errors:
            return errors[status](f"{endpoint}: {status}{said}", status=status, url=url)
        if status >= 500:
            return ServerError(f"{endpoint}: {status}{said}", status=status, url=url)
        return UnexpectedStatusError(f"{endpoint}: unexpected status {status}{said}", status=status, url=url)

    def _rate_limit_wait(
        self, status: int, headers: httpx.Headers, message: str, sent_at: float
    ) -> float | None:
        """Seconds to wait when a 403/429 is a rate limit, None when it is a plain refusal.

        Primary limit (``x-ratelimit-remaining: 0``): until ``x-ratelimit-reset``. Secondary limit:
        ``Retry-After``, else at least a minute, doubling while GitHub keeps refusing.
        """
        retry_after = _retry_after_seconds(headers.get("retry-after"), self._clock())
        if retry_after is None and _int_header(headers, "x-ratelimit-remaining") == 0:
            reset = _int_header(headers, "x-ratelimit-reset")
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


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def parse_body(parse: Callable[[Any], T], body: Any, endpoint: str) -> T:
    """``parse(body)``, with any surprise in the body reported as a malformed answer.

    The parsers reject what they anticipate with MalformedResponseError; this boundary makes sure that
    a shape nobody anticipated (an unhashable plan type, say) also fails the poll as
    ``malformed_response`` rather than as an internal error.
    """
    try:
        return parse(body)
    except GitHubError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        log.debug("unexpected answer shape", exc_info=True, extra={"endpoint": endpoint})
        raise MalformedResponseError(f"{endpoint}: unexpected answer shape ({type(exc).__name__})") from None


def static_token(token: str | None) -> TokenSource:
    return StaticToken(token)


def describe_rate_limits(limits: Mapping[str, RateLimit]) -> str:
    return ", ".join(f"{name}: {rl.remaining}/{rl.limit}" for name, rl in sorted(limits.items()))
