"""The HTTP side: metrics, a landing page, liveness and readiness, as one small ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from exporter import exposition
from exporter.config import Config
from exporter.reclaim.served import ServedReclaim
from exporter.sources.base import Source
from exporter.sources.spec import Handler, Response, Served, SourceSpec
from exporter.state import ExporterState
from exporter.web.asgi import HttpRequest, Receive, Scope, Send, serve_lifespan
from exporter.web.landing import landing_page
from exporter.web.reclaim_report import RECLAIM_REPORT_PATHS, reclaim_report_response

#: The largest piece of a body handed to the server at once. asyncio copies what the socket does not
#: take at once into its own buffer; sending slices and waiting for the buffer to drain in between
#: keeps that copy small, where one 64 MB body would be copied whole on every uncompressed scrape.
SEND_CHUNK = 1 << 20
#: Seat reports sent at the same time; more wait their turn (within the write timeout).
REPORT_SENDERS = 2


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
    def __init__(
        self,
        config: Config,
        state: ExporterState,
        registry: CollectorRegistry,
        sources: Sequence[Source[Any]],
        reclaim: ServedReclaim | None = None,
        specs: Sequence[SourceSpec] = (),
    ) -> None:
        self.config = config
        self.state = state
        self.registry = registry
        self.sources = {source.name: source for source in sources}
        self.reclaim = reclaim if reclaim is not None else ServedReclaim(config, state)
        served = Served(config, state)
        #: The routes of the sources served (the seat report) and the reclaim plan: path -> handler.
        self.routes: Mapping[str, Handler] = {
            path: handler
            for spec in specs
            if spec.routes is not None and spec.name in self.sources
            for path, handler in spec.routes(served).items()
        }
        if "seats" in self.sources:
            self.routes = {**self.routes, **self._reclaim_routes()}
        #: The landing page's links of the sources served.
        self.links = "".join(spec.links(config) for spec in specs if spec.name in self.sources)
        # Scrapes go first: a seat report's body is sent only while no scrape is being answered, so
        # that clients looping on a report of 50,000 seats (8 MB) cannot slow down Prometheus.
        self._scrapes = 0
        self._no_scrape = asyncio.Event()
        self._no_scrape.set()
        #: Report bodies sent at once: each keeps megabytes in socket buffers that its client reads on.
        self._report_senders = asyncio.Semaphore(REPORT_SENDERS)

    def _reclaim_routes(self) -> dict[str, Handler]:
        def plan(fmt: str) -> Handler:
            # A worker thread: the first request after a poll makes the selection.
            async def answer(query: str) -> Response:
                return await asyncio.to_thread(reclaim_report_response, self.reclaim, fmt)

            return answer

        return {path: plan(fmt) for path, fmt in RECLAIM_REPORT_PATHS.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = HttpRequest.of(scope)
        headers, path, method = request.headers, request.path, request.method
        if method not in ("GET", "HEAD"):
            await self._send(send, 405, b"method not allowed\n", {"allow": "GET, HEAD"}, method)
        elif path == self.config.telemetry_path:
            # Rendering runs in a worker thread so that a large exposition never stalls the poller. Per-seat
            # series of large enterprises come from a cache laid out once per poll (exposition.py).
            self._scrapes += 1
            self._no_scrape.clear()
            try:
                pieces, extra = await asyncio.to_thread(
                    exposition.render_pieces,
                    self.registry,
                    headers.get("accept", ""),
                    headers.get("accept-encoding", ""),
                )
                await self._send(send, 200, pieces, extra, method)
            finally:
                self._scrapes -= 1
                if not self._scrapes:
                    self._no_scrape.set()
        elif path in self.routes:
            report = await self.routes[path](request.query)
            async with self._report_senders:
                await self._send(send, report.status, report.body, report.headers, method, self._no_scrape)
        elif path == "/":
            page = landing_page(self.config, self.state, self.sources, self.links)
            await self._send(send, 200, page.encode(), {"content-type": "text/html; charset=utf-8"}, method)
        elif path == "/healthz":
            await self._send(send, 200, b"ok\n", {"content-type": "text/plain; charset=utf-8"}, method)
        elif path == "/readyz":
            waiting = [f"{s.source} of {s.target}" for s in self.state.waiting_for()]
            if waiting:
                text = "not ready: waiting for the first poll of " + ", ".join(waiting) + "\n"
                await self._send(
                    send, 503, text.encode(), {"content-type": "text/plain; charset=utf-8"}, method
                )
            else:
                await self._send(send, 200, b"ready\n", {"content-type": "text/plain; charset=utf-8"}, method)
        else:
            await self._send(send, 404, b"not found\n", {"content-type": "text/plain; charset=utf-8"}, method)

    @staticmethod
    async def _send(
        send: Send,
        status: int,
        body: bytes | list[bytes],
        headers: dict[str, str],
        method: str,
        gate: asyncio.Event | None = None,
    ) -> None:
        """Send a whole response; with a ``gate``, each slice of the body waits until it is set."""
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
                if gate is not None:
                    await gate.wait()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
