"""The ASGI interface types shared by the app, its middleware and the fake GitHub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Answer the server's lifespan events; the apps here have nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@dataclass(frozen=True)
class HttpRequest:
    """What the apps here read of an http scope, decoded as latin-1 (header names lower-cased).

    Of headers sent more than once, the last one counts.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]

    @classmethod
    def of(cls, scope: Scope) -> HttpRequest:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        return cls(scope["method"], scope["path"], query, headers)


async def http_request(scope: Scope, receive: Receive, send: Send) -> HttpRequest | None:
    """The request of an http scope; None for a lifespan scope, once its events are answered."""
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return None
    return HttpRequest.of(scope)
