"""The demo's GitHub: a read-only ASGI answerer of the endpoints the exporter reads.

It answers as GitHub's published schemas say (bodies, ``Link`` pagination, ETags and ``304``,
``x-ratelimit-*`` headers, error bodies) for the seat lists, the billing summary, the billing APIs and
the usage-report links. Demo mode talks to it in-process through ``httpx.ASGITransport``. The test
suite's fake (``tests/fakegithub``, not installed) builds on it with faults, recorded requests, GitHub
Apps, seat writes and GitHub's secondary limits.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs

from exporter.demo.fake_billing import FakeBillingWorld, billing_route
from exporter.demo.fake_bodies import org_billing_body, seat_body
from exporter.demo.fake_model import FakeEnterprise, FakeOrg, FakeSeat
from exporter.web.asgi import Receive, Scope, Send, http_request

DOCS = "https://docs.github.com/rest/copilot/copilot-user-management"
T = TypeVar("T")
#: (status, headers, body) of one answer.
Response = tuple[int, dict[str, str], bytes]


@dataclass
class Read:
    """The JSON data a read answers, and its ``Link`` header."""

    data: Any
    link: str = ""


class ReportRouter(Protocol):
    """The usage-report endpoints: (status, JSON body) for a report path, None for any other."""

    def route(self, path: str, params: dict[str, str], now: float, base: str) -> tuple[int, Any] | None: ...


class DemoGitHub:
    def __init__(
        self,
        orgs: Iterable[FakeOrg] = (),
        enterprises: Iterable[FakeEnterprise] = (),
        *,
        token: str | None = None,
        rate_limit: int = 5000,
        clock: Callable[[], float] = time.time,
        billing: FakeBillingWorld | None = None,
    ) -> None:
        self.orgs = {org.login.lower(): org for org in orgs}
        self.enterprises = {ent.slug.lower(): ent for ent in enterprises}
        #: The billing APIs' accounts (``/organizations/…`` and ``/enterprises/…/settings/billing``).
        self.billing = billing
        #: The usage-metrics report endpoints, when served.
        self.usage: ReportRouter | None = None
        #: The credential every read must carry; None: any (the demo has no token).
        self.token = token
        self._clock = clock
        self.rate_limit = rate_limit
        self.rate_remaining = rate_limit
        self.rate_reset = int(clock()) + 3600

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = await http_request(scope, receive, send)
        if request is None:
            return
        status, out_headers, body = await self.respond(scope, receive, request.headers, request.query)
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

    async def respond(self, scope: Scope, receive: Receive, headers: dict[str, str], query: str) -> Response:
        return await self.handle(scope["method"], scope["path"], query, headers)

    async def handle(self, method: str, path: str, query: str, headers: dict[str, str]) -> Response:
        if method != "GET":
            return self._error(404, "Not Found")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        found = self.read(path, params, headers)
        return self.json_answer(found, headers) if isinstance(found, Read) else found

    def read(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Response | Read:
        """An answer already made (an error, a ``204``), or the JSON data of a read and its ``Link``."""
        if path == "/rate_limit":
            core = self._rate_body()
            body = json.dumps({"resources": {"core": core}, "rate": core}).encode()
            return 200, {"content-type": "application/json; charset=utf-8"}, body
        refused = self.refusal(path, headers)
        if refused is not None:
            return refused
        self._reset_rate_limit_if_due()
        if self.rate_remaining <= 0:
            return self._error(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                "please include the request ID.",
                counted=False,
            )
        scheme = "https" if headers.get("x-forwarded-proto") == "https" else "http"
        base = f"{scheme}://{headers.get('host', 'api.github.com')}"
        if m := re.fullmatch(r"/orgs/([^/]+)/copilot/billing", path):
            org = self.orgs.get(m.group(1).lower())
            if org is None:
                return self._error(404, "Not Found")
            now = datetime.fromtimestamp(self._clock(), UTC)
            return Read(org.recorded.get("billing") or org_billing_body(org, now))
        if m := re.fullmatch(r"/orgs/([^/]+)/copilot/billing/seats", path):
            org = self.orgs.get(m.group(1).lower())
            if org is None:
                return self._error(404, "Not Found")
            if "seats" in org.recorded:
                return self._recorded_seats(base, path, params, org.recorded["seats"])
            return self._seat_list(base, path, params, org.seats, len(org.seats), org)
        if m := re.fullmatch(r"/enterprises/([^/]+)/copilot/billing/seats", path):
            ent = self.enterprises.get(m.group(1).lower())
            if ent is None:
                return self._error(404, "Not Found")
            if "seats" in ent.recorded:
                return self._recorded_seats(base, path, params, ent.recorded["seats"])
            users = len({seat.user_id for seat in ent.seats})
            return self._seat_list(base, path, params, ent.seats, users, None)
        if self.billing is not None:
            self.billing.api_url = base  # budget pages link back to wherever the fake is served
            if (billed := billing_route(self.billing, path, params)) is not None:
                status, data, link = billed
                return Read(data, link) if status == 200 else self._error(status, data["message"])
        if self.usage is not None and (found := self.usage.route(path, params, self._clock(), base)):
            status, data = found
            if status == 204:
                self.rate_remaining -= 1
                return 204, self._rate_headers(), b""
            return Read(data) if status == 200 else self._error(status, data["message"])
        return self._error(404, "Not Found")

    def refusal(self, path: str, headers: dict[str, str]) -> Response | None:
        """The answer to a read without the right credential; None when it may read ``path``."""
        if self.token is not None and headers.get("authorization") not in (
            f"Bearer {self.token}",
            f"token {self.token}",
        ):
            return self._error(401, "Bad credentials", counted=False)
        return None

    def json_answer(self, found: Read, headers: dict[str, str]) -> Response:
        """``found`` as GitHub sends it: compact JSON with an ETag, ``304`` when the client has it."""
        body = json.dumps(found.data, separators=(",", ":")).encode()
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        out = {
            "content-type": "application/json; charset=utf-8",
            "etag": etag,
            "cache-control": "private, max-age=60",
        }
        if found.link:
            out["link"] = found.link
        if headers.get("if-none-match") == etag:
            # Conditional requests answered 304 do not count against the primary rate limit.
            return 304, {**out, **self._rate_headers()}, b""
        self.rate_remaining -= 1
        return 200, {**out, **self._rate_headers()}, body

    # -- bodies ----------------------------------------------------------------------------------

    def _recorded_seats(self, base: str, path: str, params: dict[str, str], body: dict[str, Any]) -> Read:
        """A recorded seat list, its entries paged as GitHub pages them and otherwise as recorded."""
        chunk, link = self._page(base, path, params, body["seats"])
        return Read({**body, "seats": chunk}, link)

    def _seat_list(
        self,
        base: str,
        path: str,
        params: dict[str, str],
        seats: list[FakeSeat],
        total: int,
        org: FakeOrg | None,
    ) -> Read:
        chunk, link = self._page(base, path, params, seats)
        return Read({"total_seats": total, "seats": [seat_body(seat, org) for seat in chunk]}, link)

    def _page(self, base: str, path: str, params: dict[str, str], items: list[T]) -> tuple[list[T], str]:
        """The requested page of ``items`` and its ``Link`` header."""
        per_page = min(100, max(1, int_param(params.get("per_page"), 50)))
        page = max(1, int_param(params.get("page"), 1))
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

    # -- rate limit and errors -------------------------------------------------------------------

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

    def _error(self, status: int, message: str, *, counted: bool = True) -> Response:
        if counted:
            self.rate_remaining -= 1
        body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        headers = {"content-type": "application/json; charset=utf-8", **self._rate_headers()}
        return status, headers, json.dumps(body).encode()


def int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
