"""The test suite's GitHub: the demo's read-only answerer, told to misbehave and watched.

On top of :class:`~exporter.demo.github.DemoGitHub` it injects faults, records every request, emulates
GitHub Apps (JWTs, installation tokens), accepts seat writes, adds latency, and enforces GitHub's
secondary limits. The test suite and the benchmarks serve it with uvicorn on loopback, so the exporter
meets it over real HTTP. It ships with the repository, not in the installed exporter.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qs

from exporter.demo.fake_billing import FakeBillingWorld
from exporter.demo.fake_bodies import iso
from exporter.demo.github import DemoGitHub, Read, Response, int_param
from exporter.web.asgi import Receive, Scope
from tests.fakegithub.fake_apps import app_of, installation_body
from tests.fakegithub.fake_downloads import UsageReports
from tests.fakegithub.fake_model import (
    FakeApp,
    FakeEnterprise,
    FakeOrg,
    FakeSeat,
    Fault,
    IssuedToken,
    RecordedRequest,
)
from tests.fakegithub.fake_recorded_usage import RecordedReports
from tests.fakegithub.fake_seat_writes import SeatWrites

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


class FakeGitHub(DemoGitHub):
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
        super().__init__(orgs, enterprises, token=token, rate_limit=rate_limit, clock=clock, billing=billing)
        self.app = app
        #: A second app, installed with seat-management write permission for ``reclaim apply``.
        self.write_app: FakeApp | None = None
        self.issued_tokens: list[IssuedToken] = []
        self.latency = latency
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        # GitHub's secondary limits, enforced so that a client that would trip them in production
        # trips them here: requests in flight, and requests per endpoint in any 60-second window.
        self.max_concurrent = max_concurrent
        self.per_minute_per_endpoint = per_minute_per_endpoint
        self.in_flight = 0
        self.peak_in_flight = 0
        self.secondary_limit_hits = 0
        self._recent: dict[str, deque[float]] = {}
        #: The usage-metrics report endpoints, when served (see tests.fakegithub.fake_downloads).
        self.usage: UsageReports | RecordedReports | None = None
        #: Seat management writes (selected_users, selected_teams), when accepted.
        self.seat_writes: SeatWrites | None = None

    async def respond(self, scope: Scope, receive: Receive, headers: dict[str, str], query: str) -> Response:
        request_body = await _request_body(receive) if scope["method"] in ("POST", "DELETE") else b""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            status, out_headers, body = await self.handle(
                scope["method"], scope["path"], query, headers, request_body
            )
        finally:
            self.in_flight -= 1
        if self.record_requests:
            self.requests.append(RecordedRequest(scope["method"], scope["path"], query, headers, status))
        return status, out_headers, body

    async def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], request_body: bytes = b""
    ) -> Response:
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
        page = int_param(params.get("page"), 1)

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
        found = self.read(path, params, headers)
        if not isinstance(found, Read):
            return found
        if fault is not None and fault.mutate is not None:
            found = Read(fault.mutate(found.data), found.link)
        return self.json_answer(found, headers)

    def refusal(self, path: str, headers: dict[str, str]) -> Response | None:
        installation = self._installation_of(headers.get("authorization", ""))
        if installation == -1:
            return self._error(401, "Bad credentials", counted=False)
        if installation is not None:
            if not self._installation_covers(installation, path):
                return self._error(403, "Resource not accessible by integration")
            return None
        return super().refusal(path, headers)

    # -- GitHub Apps -----------------------------------------------------------------------------

    def _app_route(self, method: str, path: str, headers: dict[str, str]) -> Response:
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

    # -- GitHub's secondary limits ---------------------------------------------------------------

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


async def _request_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
