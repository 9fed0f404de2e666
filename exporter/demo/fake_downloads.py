"""The download host of the fake usage reports, and a router that serves it beside the fake API.

GitHub's report endpoints answer with signed links to another host. :class:`FakeDownloads` is that
host: it answers the links :func:`~exporter.demo.fake_usage.usage_route` signs, streams the NDJSON in
chunks as blob storage does, and records every request with its headers, so that a test can prove
the API token never reached it. :class:`HostRouter` puts it and the fake API behind one ASGI app,
told apart by the ``Host`` header (demo mode, which has no sockets).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from exporter.demo.fake_model import RecordedRequest
from exporter.demo.fake_usage import download_route, usage_route
from exporter.demo.usage_world import UsageWorld
from exporter.web.asgi import ASGIApp, Receive, Scope, Send, serve_lifespan

ASGI = ASGIApp

CHUNK_BYTES = 64 * 1024


@dataclass
class UsageReports:
    """What the fake API needs to answer the report endpoints: the world, and where links point.

    ``download_base`` is another origin, as on GitHub (a test of the token must use one).
    """

    world: UsageWorld
    download_base: str

    def route(self, path: str, params: Mapping[str, str], now: float, base: str) -> tuple[int, Any] | None:
        self.world.now = datetime.fromtimestamp(now, UTC)
        return usage_route(self.world, path, params, self.download_base or base)


class FakeDownloads:
    def __init__(self, world: UsageWorld, *, clock: Callable[[], float] = time.time) -> None:
        self.world = world
        self._clock = clock
        self.requests: list[RecordedRequest] = []
        #: Answer every download with this status instead (a broken blob store), when set.
        self.fail_status: int | None = None
        #: A hostile blob store, when set: the body of every successful download is what this makes of
        #: (path, body).
        self.rewrite: Callable[[str, bytes], bytes] | None = None

    @property
    def authorized_requests(self) -> list[RecordedRequest]:
        """Requests that carried an ``Authorization`` header: there must never be any."""
        return [r for r in self.requests if "authorization" in r.headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        self.world.now = datetime.fromtimestamp(self._clock(), UTC)
        answer = download_route(self.world, scope["path"], dict(parse_qsl(query)))
        status, body = answer if answer is not None else (404, b"<Error><Code>BlobNotFound</Code></Error>")
        if self.fail_status is not None:
            status, body = self.fail_status, b"<Error><Code>ServerBusy</Code></Error>"
        elif status == 200 and self.rewrite is not None:
            body = self.rewrite(scope["path"], body)
        self.requests.append(RecordedRequest(scope["method"], scope["path"], query, headers, status))
        content_type = b"application/x-ndjson" if status == 200 else b"application/xml"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
            }
        )
        for start in range(0, max(1, len(body)), CHUNK_BYTES):
            chunk = body[start : start + CHUNK_BYTES]
            more = start + CHUNK_BYTES < len(body)
            await send({"type": "http.response.body", "body": chunk, "more_body": more})


class HostRouter:
    """One ASGI app for several fake hosts: requests go to the app of their ``Host``, else ``default``."""

    def __init__(self, default: ASGI, hosts: Mapping[str, ASGI]) -> None:
        self.default = default
        self.hosts = {host.lower(): app for host, app in hosts.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"), "")
        await self.hosts.get(host.lower(), self.default)(scope, receive, send)
