"""The outermost ASGI layer: the request phases each guarded connection is timed by, and no bodies.

uvicorn's protocol is wrapped by :mod:`exporter.web.connections`, which sees bytes but not requests;
this layer sees each request reach the application and its response end, and tells the connection
(found by the addresses uvicorn puts in the scope) so that it switches deadlines exactly then.
"""

from __future__ import annotations

from exporter.web.asgi import ASGIApp, Receive, Scope, Send
from exporter.web.connections import ConnectionGuard


class GuardedApp:
    """The outermost ASGI layer: tells each connection its phases, and refuses request bodies."""

    def __init__(self, app: ASGIApp, guard: ConnectionGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = self.guard.find(scope)
        if connection is not None:
            connection.request_started()
        try:
            if has_body(scope["headers"]):
                await refuse_body(send)
            else:
                await self.app(scope, receive, send)
        finally:
            if connection is not None:
                connection.request_finished()


def has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a request announces a body (h11 has checked that Content-Length is a number)."""
    for name, value in headers:
        if name.lower() == b"transfer-encoding":
            return True
        if name.lower() == b"content-length" and value.strip().lstrip(b"0"):
            return True
    return False


_REFUSED = b"request bodies are not accepted: this exporter answers GET and HEAD only\n"


async def refuse_body(send: Send) -> None:
    """413, and the connection closed after it: the body is never read, so it cannot be reused."""
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_REFUSED)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": _REFUSED})
