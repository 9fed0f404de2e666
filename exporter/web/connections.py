"""Guarding the listener against clients that hold connections: slow requests, slow readers, floods.

uvicorn closes idle keep-alive connections, but a single byte cancels that timer, it has no timeout
for a request whose headers never complete (slowloris), none for a response the client never reads,
and with TLS asyncio gives a silent client 60 seconds to start its handshake before the server even
sees the connection. It also accepts connections until the process runs out of file descriptors,
after which the poll cannot connect to GitHub either and asyncio logs every failed ``accept()``. Its
protocol class is a documented setting (``uvicorn.Config(http=...)``), so each connection's uvicorn
protocol is wrapped here, by composition, in one that sees the connection from ``accept()`` and:

- does the TLS handshake itself (``loop.start_tls``), so that connections in their handshake are
  counted and timed like any other;
- gives every phase of a connection a deadline that no byte from the client extends: from accepting
  it (handshake included), or from the end of its previous response, to the end of the next request's
  headers, ``header_timeout``; from there to the end of the response, ``write_timeout``. A connection
  past its deadline is aborted. ``GuardedApp`` (guarded_app.py), the outermost ASGI layer, tells
  the connection when its request reached the application and when the response is done, and
  refuses request bodies, which an exporter answering only GET and HEAD never needs;
- keeps at most ``max_connections`` open: at the cap, the connection that has waited longest for its
  headers is closed to make room, so a flood of slow clients cannot lock out a scrape, and a new
  connection is refused only when every open one is busy with a request;
- logs one line when the cap is reached and one when it is clear again, and lets one line through per
  episode of asyncio's ``socket.accept() out of system resource`` instead of thousands a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.utils import get_local_addr, get_remote_addr

from exporter.web.asgi import Scope

log = logging.getLogger("exporter.web.connections")

#: Seconds a client has to send a request's headers (TLS handshake included) after connecting or after
#: its previous response; Prometheus sends them as soon as it connects.
HEADER_TIMEOUT = 10.0
#: Seconds from a request's headers to the end of its response: rendering and writing it.
WRITE_TIMEOUT = 60.0
#: Bytes of request line and headers buffered while incomplete (uvicorn's own default, made explicit):
#: beyond it the request is answered 400 and the connection closed.
MAX_INCOMPLETE_HEADERS = 16 * 1024
#: The most connections ever kept open, whatever the file-descriptor limit.
MAX_CONNECTIONS = 1024
_ACCEPT_FAILED = "socket.accept() out of system resource"
#: Seconds without a failed accept after which an episode of them is over.
ACCEPT_QUIET_SECONDS = 5.0


def listener_limits() -> tuple[int, int]:
    """The most connections kept open, and the listen backlog, for this process's descriptor limit.

    Half the soft limit (at most MAX_CONNECTIONS) for connections, and a quarter of that for the
    backlog: asyncio accepts up to a backlog's worth of connections at once before any can be closed
    to make room, so both together stay well below the limit, leaving the HTTP client (at most 100
    connections to GitHub) and files their share. With systemd's default soft limit of 1024 that is
    512 connections and a backlog of 128, far more than any set of Prometheus servers needs.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 2 * MAX_CONNECTIONS
    connections = max(8, min(MAX_CONNECTIONS, soft // 2))
    return connections, max(8, connections // 4)


class AcceptErrorFilter(logging.Filter):
    """One log line per episode of failed ``accept()`` calls, instead of one per attempt.

    asyncio reports each failed accept of a process out of descriptors, up to a backlog's worth every
    second. An episode ends when a connection is accepted after ACCEPT_QUIET_SECONDS without failures.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self.failing = False
        self._last_failure = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(_ACCEPT_FAILED):
            return True
        self._last_failure = self._clock()
        if self.failing:
            return False
        self.failing = True
        record.msg = (
            "cannot accept connections: out of file descriptors or memory; retrying every second "
            "(a line will say when connections are accepted again)"
        )
        record.args = ()
        record.exc_info = None
        return True

    def accepted(self) -> None:
        if self.failing and self._clock() - self._last_failure >= ACCEPT_QUIET_SECONDS:
            self.failing = False
            log.info("accepting connections again")


class RepeatFilter(logging.Filter):
    """Lets a message through once, then drops its repeats until none came for ``quiet`` seconds.

    uvicorn warns once per malformed request ("Invalid HTTP request received."), which any client can
    repeat as fast as it likes; the first line says it happens, the rest would only fill the disk.
    """

    def __init__(self, prefix: str, quiet: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.prefix = prefix
        self.quiet = quiet
        self._clock = clock
        self._last: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(self.prefix):
            return True
        now = self._clock()
        repeated = self._last is not None and now - self._last < self.quiet
        self._last = now
        return not repeated


class SchemeFilter(logging.Filter):
    """uvicorn's start-up line says ``https://`` when TLS is on, although uvicorn itself has no TLS."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Uvicorn running on http://"):
            record.msg = message.replace("http://", "https://", 1)
            record.args = ()
        return True


class ConnectionGuard:
    """The shared state of every guarded connection of one listener: which are open, which wait."""

    def __init__(
        self,
        inner: type[asyncio.Protocol],
        *,
        max_connections: int | None = None,
        header_timeout: float = HEADER_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.inner = inner
        self.max_connections = max_connections if max_connections is not None else listener_limits()[0]
        self.header_timeout = header_timeout
        self.write_timeout = write_timeout
        #: The server's TLS context (updated in place when certificates rotate), or None for plain HTTP.
        self.tls = tls
        self.accept_errors = AcceptErrorFilter()
        self.invalid_requests = RepeatFilter("Invalid HTTP request received.")
        self.open: set[GuardedConnection] = set()
        #: Connections waiting for request headers (or their handshake), the longest-waiting first.
        self.waiting: dict[GuardedConnection, None] = {}
        #: Connections by the addresses uvicorn puts in a request's scope, for :class:`GuardedApp`.
        self.by_address: dict[_Addresses, GuardedConnection] = {}
        self.saturated = False

    def protocol_class(self) -> type[asyncio.Protocol]:
        """The class to give ``uvicorn.Config(http=...)``: uvicorn's protocol wrapped in this guard."""
        guard = self

        class Guarded(GuardedConnection):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(guard, guard.inner(**kwargs))

        return Guarded

    def admit(self, connection: GuardedConnection) -> bool:
        self.accept_errors.accepted()
        if len(self.open) >= self.max_connections:
            oldest = next(iter(self.waiting), None)
            if not self.saturated:
                self.saturated = True
                log.warning(
                    "connection limit reached; closing the connections that waited longest for "
                    "their request headers",
                    extra={"max_connections": self.max_connections},
                )
            if oldest is None:
                return False
            oldest.close_now()
        self.open.add(connection)
        return True

    def forget(self, connection: GuardedConnection) -> None:
        self.open.discard(connection)
        self.waiting.pop(connection, None)
        if connection.addresses is not None and self.by_address.get(connection.addresses) is connection:
            del self.by_address[connection.addresses]
        if self.saturated and len(self.open) <= self.max_connections // 2:
            self.saturated = False
            log.info("connections back under the limit", extra={"open_connections": len(self.open)})

    def find(self, scope: Scope) -> GuardedConnection | None:
        client, server = scope.get("client"), scope.get("server")
        if client is None or server is None:
            return None
        return self.by_address.get((tuple(client), tuple(server)))


_Addresses = tuple[tuple[Any, ...], tuple[Any, ...]]


class GuardedConnection(asyncio.Protocol):
    """One connection: uvicorn's protocol inside, TLS in front, and a deadline for every phase."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        #: The TCP transport, under TLS if there is one: aborting it ends the connection at once.
        self.transport: asyncio.Transport | None = None
        self.addresses: _Addresses | None = None
        self.admitted = False
        #: Whether uvicorn's protocol has the connection (after the handshake, with TLS).
        self.connected = False
        self.closed = False
        self._deadline: asyncio.TimerHandle | None = None
        # Data decrypted between the handshake's end and the handshake task's resumption.
        self._early: list[bytes] = []
        self._handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            self.closed = True
            transport.abort()
            return
        self.admitted = True
        self._wait_for_request()  # from accept: the handshake counts against the header timeout
        if self.guard.tls is None:
            self._connect(transport)
        else:
            self._handshake = asyncio.get_running_loop().create_task(
                self._start_tls(transport, self.guard.tls)
            )

    async def _start_tls(self, transport: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            secure = await loop.start_tls(
                transport, self, context, server_side=True, ssl_handshake_timeout=self.guard.header_timeout
            )
        except Exception as exc:  # a failed handshake: wrong protocol, bad certificate, reset, timeout
            log.debug("TLS handshake failed", extra={"error": str(exc) or type(exc).__name__})
            secure = None
        if secure is None or self.closed:
            self.close_now()
            return
        self._connect(secure)

    def _connect(self, transport: asyncio.Transport) -> None:
        self.addresses = (tuple(get_remote_addr(transport) or ()), tuple(get_local_addr(transport) or ()))
        self.guard.by_address[self.addresses] = self
        self.connected = True
        self.inner.connection_made(transport)
        early, self._early = self._early, []
        for data in early:
            self.inner.data_received(data)

    def data_received(self, data: bytes) -> None:
        if self.connected:
            self.inner.data_received(data)
        elif self.admitted and not self.closed:
            self._early.append(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.connected else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        if self.connected:
            self.connected = False
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.connected:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.connected:
            self.inner.resume_writing()

    # -- phases, from GuardedApp -------------------------------------------------------------------

    def request_started(self) -> None:
        """The request's headers are in: the response must be rendered and written within the timeout."""
        if not self.closed:
            self._arm(self.guard.write_timeout, self._response_late)
            self.guard.waiting.pop(self, None)

    def request_finished(self) -> None:
        """The response is written: the next request's headers are due within the header timeout."""
        if not self.closed:
            self._wait_for_request()

    def close_now(self, *, reset: bool = False) -> None:
        """Abort the connection: no more is read, and what was not yet written is dropped.

        ``reset`` drops it in the kernel too (SO_LINGER 0): otherwise the kernel would keep trying to
        deliver a slow reader's unsent data, megabytes per connection, for minutes after the exporter
        let it go.
        """
        self._release()
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if reset and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _wait_for_request(self) -> None:
        self._arm(self.guard.header_timeout, self._headers_late)
        self.guard.waiting.pop(self, None)  # to the end: the deadline is new
        self.guard.waiting[self] = None

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = asyncio.get_running_loop().call_later(seconds, callback)

    def _release(self) -> None:
        self.closed = True
        self._early = []
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.guard.forget(self)

    def _headers_late(self) -> None:
        self._deadline = None
        log.debug("closing a connection that did not send its request headers in time")
        self.close_now()

    def _response_late(self) -> None:
        self._deadline = None
        log.debug("aborting a response the client did not read in time")
        self.close_now(reset=True)
