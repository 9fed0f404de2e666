"""The HTTP side: metrics, a landing page, liveness and readiness, as one small ASGI application."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry

from exporter import __version__, exposition
from exporter.config import Config, format_duration
from exporter.state import ExporterState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: The largest piece of a body handed to the server at once. asyncio copies what the socket does not
#: take at once into its own buffer; sending slices and waiting for the buffer to drain in between
#: keeps that copy small, where one 64 MB body would be copied whole on every uncompressed scrape.
SEND_CHUNK = 1 << 20


def _chunks(pieces: list[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        if len(piece) <= SEND_CHUNK:
            if piece:
                yield piece
            continue
        view = memoryview(piece)
        for start in range(0, len(piece), SEND_CHUNK):
            yield bytes(view[start : start + SEND_CHUNK])


class ExporterApp:
    def __init__(self, config: Config, state: ExporterState, registry: CollectorRegistry) -> None:
        self.config = config
        self.state = state
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await self._send(send, 405, b"method not allowed\n", {"allow": "GET, HEAD"}, method)
        elif path == self.config.telemetry_path:
            # Rendering runs in a worker thread so that a large exposition never stalls the poller. Per-seat
            # series of large enterprises come from a cache laid out once per poll (exposition.py).
            pieces, extra = await asyncio.to_thread(
                exposition.render_pieces,
                self.registry,
                headers.get("accept", ""),
                headers.get("accept-encoding", ""),
            )
            await self._send(send, 200, pieces, extra, method)
        elif path == "/":
            await self._send(
                send, 200, self.landing_page().encode(), {"content-type": "text/html; charset=utf-8"}, method
            )
        elif path == "/healthz":
            await self._send(send, 200, b"ok\n", {"content-type": "text/plain; charset=utf-8"}, method)
        elif path == "/readyz":
            waiting = [str(s.target) for s in self.state.statuses.values() if s.snapshot is None]
            if waiting:
                text = "not ready: no successful poll yet of " + ", ".join(waiting) + "\n"
                await self._send(
                    send, 503, text.encode(), {"content-type": "text/plain; charset=utf-8"}, method
                )
            else:
                await self._send(send, 200, b"ready\n", {"content-type": "text/plain; charset=utf-8"}, method)
        else:
            await self._send(send, 404, b"not found\n", {"content-type": "text/plain; charset=utf-8"}, method)

    @staticmethod
    async def _send(
        send: Send, status: int, body: bytes | list[bytes], headers: dict[str, str], method: str
    ) -> None:
        pieces = [body] if isinstance(body, bytes) else body
        out = {**headers, "content-length": str(sum(len(piece) for piece in pieces))}
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.items()],
            }
        )
        if method != "HEAD":
            # The server waits for its buffer to drain before a send returns, so one slice is in flight.
            for chunk in _chunks(pieces):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def landing_page(self) -> str:
        now = time.time()
        rows = []
        for status in self.state.statuses.values():
            if status.polls == 0:
                result = "waiting for the first poll"
            elif status.up:
                result = "ok"
            else:
                result = f"failed: {status.error_message}"
            seats = len(status.snapshot.seats) if status.snapshot is not None else "-"
            age = (
                f"{format_duration(round(now - status.last_success_at))} ago"
                if status.last_success_at is not None
                else "never"
            )
            rows.append(
                f"<tr><td>{html.escape(status.target.kind)}</td><td>{html.escape(status.target.name)}</td>"
                f"<td>{seats}</td><td>{html.escape(age)}</td><td>{html.escape(result)}</td></tr>"
            )
        path = html.escape(self.config.telemetry_path)
        mode = " (demo data)" if self.config.demo else ""
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>GitHub Copilot Exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:left}}</style></head>
<body><h1>GitHub Copilot Exporter</h1>
<p>Version {html.escape(__version__)}{mode}. Polls every {format_duration(self.config.poll_interval)}.</p>
<p><a href="{path}">Metrics</a> &middot; <a href="/healthz">Health</a> &middot;
<a href="/readyz">Readiness</a></p>
<table><tr><th>Kind</th><th>Target</th><th>Seats</th><th>Last success</th><th>Last poll</th></tr>
{"".join(rows)}
</table></body></html>
"""
