"""A GitHub look-alike for the Copilot billing endpoints, as a plain ASGI application.

It answers exactly as GitHub's published OpenAPI schemas say (bodies, ``Link`` pagination, ETags and
``304``, ``x-ratelimit-*`` headers, error bodies), and can be told to misbehave. Demo mode talks to it
in-process through ``httpx.ASGITransport``; the test suite and the benchmarks serve it with uvicorn on
loopback, so the exporter meets it over real HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs

from exporter.demo.fake_apps import app_of, installation_body
from exporter.demo.fake_billing import FakeBillingWorld, billing_route
from exporter.demo.fake_bodies import (
    iso,
    org_billing_body,
    seat_body,
)
from exporter.demo.fake_downloads import UsageReports
from exporter.demo.fake_model import (
    FakeApp,
    FakeEnterprise,
    FakeOrg,
    FakeSeat,
    Fault,
    IssuedToken,
    RecordedRequest,
)
from exporter.demo.fake_recorded_usage import RecordedReports
from exporter.demo.fake_seat_writes import SeatWrites
from exporter.web.asgi import Receive, Scope, Send, serve_lifespan

__all__ = [
    "FakeApp",
    "FakeEnterprise",
    "FakeGitHub",
    "FakeOrg",
    "FakeSeat",
    "Fault",
    "IssuedToken",
    "RecordedRequest",
]

DOCS = "https://docs.github.com/rest/copilot/copilot-user-management"
T = TypeVar("T")


class FakeGitHub:
    def __init__(
        self,
        orgs: Iterable[FakeOrg] = (),
        enterprises: Iterable[FakeEnterprise] = (),
        *,
        token: str | None = "test-token",  # noqa: S107 - the fake's own default credential
        rate_limit: int = 5000,
        latency: float = 0.0,
        max_concurrent: int = 100,
        per_minute_per_endpoint: int = 900,
        clock: Callable[[], float] = time.time,
        app: FakeApp | None = None,
        billing: FakeBillingWorld | None = None,
    ) -> None:
        self.orgs = {org.login.lower(): org for org in orgs}
        #: The billing APIs' accounts (``/organizations/…`` and ``/enterprises/…/settings/billing``).
        self.billing = billing
        self.app = app
        #: A second app, installed with seat-management write permission for ``reclaim apply``.
        self.write_app: FakeApp | None = None
        self.issued_tokens: list[IssuedToken] = []
        self.enterprises = {ent.slug.lower(): ent for ent in enterprises}
        self.token = token
        self.latency = latency
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        self._clock = clock
        self.rate_limit = rate_limit
        self.rate_remaining = rate_limit
        self.rate_reset = int(clock()) + 3600
        # GitHub's secondary limits, enforced so that a client that would trip them in production
        # trips them here: requests in flight, and requests per endpoint in any 60-second window.
        self.max_concurrent = max_concurrent
        self.per_minute_per_endpoint = per_minute_per_endpoint
        self.in_flight = 0
        self.peak_in_flight = 0
        self.secondary_limit_hits = 0
        self._recent: dict[str, deque[float]] = {}
        #: The usage-metrics report endpoints, when served (see exporter.demo.fake_downloads).
        self.usage: UsageReports | RecordedReports | None = None
        #: Seat management writes (selected_users, selected_teams), when accepted.
        self.seat_writes: SeatWrites | None = None

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        request_body = await _request_body(receive) if scope["method"] in ("POST", "DELETE") else b""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            status, out_headers, body = await self.handle(scope["method"], path, query, headers, request_body)
        finally:
            self.in_flight -= 1
        if self.record_requests:
            self.requests.append(RecordedRequest(scope["method"], path, query, headers, status))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items()
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # -- routing ---------------------------------------------------------------------------------

    async def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], request_body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self._secondary_limited(path):
            self.secondary_limit_hits += 1
            status, out, body = self._error(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                counted=False,
            )
            return status, {**out, "retry-after": "60"}, body
        if self.latency:
            await asyncio.sleep(self.latency)
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        page = _int(params.get("page"), 1)
        scheme = "https" if headers.get("x-forwarded-proto") == "https" else "http"
        base = f"{scheme}://{headers.get('host', 'api.github.com')}"

        fault = next((f for f in self.faults if f.matches(path, page)), None)
        if fault is not None and fault.times is not None:
            fault.times -= 1
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and not fault.delay and fault.mutate is None:
            body = fault.body if isinstance(fault.body, bytes) else json.dumps(fault.body or {}).encode()
            content_type = "text/html" if isinstance(fault.body, bytes) else "application/json; charset=utf-8"
            return fault.status, {"content-type": content_type, **self._rate_headers(), **fault.headers}, body

        if path.startswith("/app/") or re.fullmatch(r"/orgs/[^/]+/installation", path):
            return self._app_route(method, path, headers)
        if (
            self.seat_writes is not None
            and (wrote := self.seat_writes.route(self, method, path, headers, request_body)) is not None
        ):
            return wrote[0], {**wrote[1], **self._rate_headers()}, wrote[2]
        if method != "GET":
            return self._error(404, "Not Found")
        if path == "/rate_limit":
            core = self._rate_body()
            return (
                200,
                {"content-type": "application/json; charset=utf-8"},
                json.dumps({"resources": {"core": core}, "rate": core}).encode(),
            )
        installation = self._installation_of(headers.get("authorization", ""))
        if installation == -1:
            return self._error(401, "Bad credentials", counted=False)
        if installation is not None:
            if not self._installation_covers(installation, path):
                return self._error(403, "Resource not accessible by integration")
        elif self.token is not None and headers.get("authorization") not in (
            f"Bearer {self.token}",
            f"token {self.token}",
        ):
            return self._error(401, "Bad credentials", counted=False)
        self._reset_rate_limit_if_due()
        if self.rate_remaining <= 0:
            return self._error(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                "please include the request ID.",
                counted=False,
            )

        data: Any
        link = ""
        if m := re.fullmatch(r"/orgs/([^/]+)/copilot/billing", path):
            org = self.orgs.get(m.group(1).lower())
            if org is None:
                return self._error(404, "Not Found")
            data = org.recorded.get("billing") or org_billing_body(
                org, datetime.fromtimestamp(self._clock(), UTC)
            )
        elif m := re.fullmatch(r"/orgs/([^/]+)/copilot/billing/seats", path):
            org = self.orgs.get(m.group(1).lower())
            if org is None:
                return self._error(404, "Not Found")
            if "seats" in org.recorded:
                data, link = self._recorded_seats(base, path, params, org.recorded["seats"])
            else:
                data, link = self._seat_list(base, path, params, org.seats, len(org.seats), org)
        elif m := re.fullmatch(r"/enterprises/([^/]+)/copilot/billing/seats", path):
            ent = self.enterprises.get(m.group(1).lower())
            if ent is None:
                return self._error(404, "Not Found")
            if "seats" in ent.recorded:
                data, link = self._recorded_seats(base, path, params, ent.recorded["seats"])
            else:
                users = len({seat.user_id for seat in ent.seats})
                data, link = self._seat_list(base, path, params, ent.seats, users, None)
        elif self.billing is not None and (billed := self._billing_answer(base, path, params)) is not None:
            status, data, link = billed
            if status != 200:
                return self._error(status, data["message"])
        elif self.usage is not None and (found := self.usage.route(path, params, self._clock(), base)):
            status, data = found
            if status == 204:
                self.rate_remaining -= 1
                return 204, self._rate_headers(), b""
            if status != 200:
                return self._error(status, data["message"])
        else:
            return self._error(404, "Not Found")

        if fault is not None and fault.mutate is not None:
            data = fault.mutate(data)
        body = json.dumps(data, separators=(",", ":")).encode()
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        out = {
            "content-type": "application/json; charset=utf-8",
            "etag": etag,
            "cache-control": "private, max-age=60",
        }
        if link:
            out["link"] = link
        if headers.get("if-none-match") == etag:
            # Conditional requests answered 304 do not count against the primary rate limit.
            return 304, {**out, **self._rate_headers()}, b""
        self.rate_remaining -= 1
        return 200, {**out, **self._rate_headers()}, body

    def _billing_answer(self, base: str, path: str, params: dict[str, str]) -> tuple[int, Any, str] | None:
        assert self.billing is not None
        self.billing.api_url = base  # budget pages link back to wherever the fake is served
        return billing_route(self.billing, path, params)

    # -- GitHub Apps -----------------------------------------------------------------------------

    def _app_route(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """The endpoints an app calls with its JWT: installation look-ups and installation tokens."""
        if self.app is None and self.write_app is None:
            return self._error(404, "Not Found")
        app, problem = app_of([self.app, self.write_app], headers.get("authorization", ""))
        if app is None:
            return self._error(401, problem or "Bad credentials", counted=False)
        if method == "POST" and (m := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)):
            installation = int(m.group(1))
            if installation not in app.installations:
                return self._error(404, "Not Found")
            expires = self._clock() + app.token_lifetime
            issued = IssuedToken("ghs_" + secrets.token_urlsafe(27), installation, expires, app.app_id)
            self.issued_tokens.append(issued)
            body = {
                "token": issued.token,
                "expires_at": iso(datetime.fromtimestamp(issued.expires_at, UTC)),
                "permissions": {"organization_copilot_seat_management": app.seat_permission},
                "repository_selection": "all",
            }
            return 201, {"content-type": "application/json; charset=utf-8"}, json.dumps(body).encode()
        if method == "GET" and path == "/app/installations":
            listed = [installation_body(app, i, account) for i, account in sorted(app.installations.items())]
            return 200, {"content-type": "application/json; charset=utf-8"}, json.dumps(listed).encode()
        if method == "GET" and (m := re.fullmatch(r"/orgs/([^/]+)/installation", path)):
            for installation, account in app.installations.items():
                if account.lower() == m.group(1).lower() and installation not in app.enterprise_installations:
                    body = installation_body(app, installation, account)
                    return 200, {"content-type": "application/json; charset=utf-8"}, json.dumps(body).encode()
        return self._error(404, "Not Found")

    def _installation_of(self, authorization: str) -> int | None:
        token = authorization.partition(" ")[2]
        if not token.startswith("ghs_"):
            return None
        for issued in self.issued_tokens:
            if issued.token == token and issued.expires_at > self._clock():
                return issued.installation_id
        return -1  # an unknown or expired installation token: refused as bad credentials

    def _installation_covers(self, installation: int, path: str) -> bool:
        if self.app is None or installation not in self.app.installations:
            return False
        account = self.app.installations[installation].lower()
        if installation in self.app.enterprise_installations:
            return path.lower().startswith(f"/enterprises/{account}/")
        return path.lower().startswith((f"/orgs/{account}/", f"/organizations/{account}/"))

    # -- bodies ----------------------------------------------------------------------------------

    def _recorded_seats(
        self, base: str, path: str, params: dict[str, str], body: dict[str, Any]
    ) -> tuple[dict[str, Any], str]:
        """A recorded seat list, its entries paged as GitHub pages them and otherwise as recorded."""
        chunk, link = self._page(base, path, params, body["seats"])
        return {**body, "seats": chunk}, link

    def _seat_list(
        self,
        base: str,
        path: str,
        params: dict[str, str],
        seats: list[FakeSeat],
        total: int,
        org: FakeOrg | None,
    ) -> tuple[dict[str, Any], str]:
        chunk, link = self._page(base, path, params, seats)
        return {"total_seats": total, "seats": [seat_body(seat, org) for seat in chunk]}, link

    def _page(self, base: str, path: str, params: dict[str, str], items: list[T]) -> tuple[list[T], str]:
        """The requested page of ``items`` and its ``Link`` header."""
        per_page = min(100, max(1, _int(params.get("per_page"), 50)))
        page = max(1, _int(params.get("page"), 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def url(n: int) -> str:
            return f"<{base}{path}?per_page={per_page}&page={n}>; rel="

        if page > 1:
            links.append(url(page - 1) + '"prev"')
        if page < last:
            links.append(url(page + 1) + '"next"')
            links.append(url(last) + '"last"')
        if page > 1:
            links.append(url(1) + '"first"')
        return chunk, ", ".join(links)

    # -- helpers ---------------------------------------------------------------------------------

    def _secondary_limited(self, path: str) -> bool:
        if self.in_flight > self.max_concurrent:
            return True
        now = time.monotonic()
        recent = self._recent.setdefault(path, deque())
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= self.per_minute_per_endpoint:
            return True
        recent.append(now)
        return False

    def _rate_body(self) -> dict[str, int]:
        return {
            "limit": self.rate_limit,
            "remaining": max(0, self.rate_remaining),
            "reset": self.rate_reset,
            "used": self.rate_limit - max(0, self.rate_remaining),
        }

    def _reset_rate_limit_if_due(self) -> None:
        if self._clock() >= self.rate_reset:
            self.rate_reset = int(self._clock()) + 3600
            self.rate_remaining = self.rate_limit

    def _rate_headers(self) -> dict[str, str]:
        self._reset_rate_limit_if_due()
        rate = self._rate_body()
        return {
            "x-ratelimit-limit": str(rate["limit"]),
            "x-ratelimit-remaining": str(rate["remaining"]),
            "x-ratelimit-reset": str(rate["reset"]),
            "x-ratelimit-used": str(rate["used"]),
            "x-ratelimit-resource": "core",
        }

    def _error(self, status: int, message: str, *, counted: bool = True) -> tuple[int, dict[str, str], bytes]:
        if counted:
            self.rate_remaining -= 1
        body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        headers = {"content-type": "application/json; charset=utf-8", **self._rate_headers()}
        return status, headers, json.dumps(body).encode()


async def _request_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
