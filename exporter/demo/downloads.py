"""The download host of the demo's usage reports, and a router that serves it beside the demo's API.

GitHub's report endpoints answer with signed links to another host. :class:`DemoDownloads` is that
host: it answers the links :func:`~exporter.demo.fake_usage.usage_route` signs and streams the NDJSON
in chunks as blob storage does. :class:`HostRouter` puts it and the API behind one ASGI app, told
apart by the ``Host`` header (demo mode, which has no sockets).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from exporter.demo.fake_usage import download_route, usage_route
from exporter.demo.usage_world import UsageWorld
from exporter.web.asgi import ASGIApp, Receive, Scope, Send, http_request, serve_lifespan

ASGI = ASGIApp

CHUNK_BYTES = 64 * 1024


@dataclass
class UsageReports:
    """What the API needs to answer the report endpoints: the world, and where links point.

    ``download_base`` is another origin, as on GitHub (a test of the token must use one).
    """

    world: UsageWorld
    download_base: str

    def route(self, path: str, params: Mapping[str, str], now: float, base: str) -> tuple[int, Any] | None:
        self.world.now = datetime.fromtimestamp(now, UTC)
        return usage_route(self.world, path, params, self.download_base or base)


class DemoDownloads:
    def __init__(self, world: UsageWorld, *, clock: Callable[[], float] = time.time) -> None:
        self.world = world
        self._clock = clock

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """(status, body) of a download request."""
        self.world.now = datetime.fromtimestamp(self._clock(), UTC)
        answer = download_route(self.world, path, dict(parse_qsl(query)))
        return answer if answer is not None else (404, b"<Error><Code>BlobNotFound</Code></Error>")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = await http_request(scope, receive, send)
        if request is None:
            return
        status, body = self.answer(request.method, request.path, request.query, request.headers)
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
    """One ASGI app for several hosts: requests go to the app of their ``Host``, else ``default``."""

    def __init__(self, default: ASGI, hosts: Mapping[str, ASGI]) -> None:
        self.default = default
        self.hosts = {host.lower(): app for host, app in hosts.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"host"), "")
        await self.hosts.get(host.lower(), self.default)(scope, receive, send)
