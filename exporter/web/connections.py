"""Guarding the listener against clients that hold connections: slow request headers, too many sockets.

uvicorn closes idle keep-alive connections, but it has no timeout for a request whose headers never
complete (slowloris), and it accepts connections until the process runs out of file descriptors, after
which the poll cannot connect to GitHub either and asyncio logs every failed ``accept()``. Its
protocol class is a documented setting (``uvicorn.Config(http=...)``), so each connection's uvicorn
protocol is wrapped here, by composition, in one that:

- closes a connection that has not completed its request headers within ``header_timeout`` seconds of
  connecting or of starting its next request, however slowly it keeps sending;
- keeps at most ``max_connections`` open: at the cap, the connection that has waited longest for its
  headers is closed to make room, so a flood of slow clients cannot lock out a scrape, and a new
  connection is refused only when every open one is busy with a request;
- logs one line when the cap is reached and one when it is clear again, and lets one line through per
  episode of asyncio's ``socket.accept() out of system resource`` instead of thousands a second.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("exporter.web.connections")

#: Seconds a client has to send a request's headers; Prometheus sends them as soon as it connects.
HEADER_TIMEOUT = 10.0
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


class ConnectionGuard:
    """The shared state of every guarded connection of one listener: which are open, which wait."""

    def __init__(
        self,
        inner: type[asyncio.Protocol],
        *,
        max_connections: int | None = None,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        self.inner = inner
        self.max_connections = max_connections if max_connections is not None else listener_limits()[0]
        self.header_timeout = header_timeout
        self.accept_errors = AcceptErrorFilter()
        self.invalid_requests = RepeatFilter("Invalid HTTP request received.")
        self.open: set[GuardedConnection] = set()
        #: Connections waiting for request headers, the longest-waiting first.
        self.waiting: dict[GuardedConnection, None] = {}
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
            self.forget(oldest)
            oldest.abort()
        self.open.add(connection)
        return True

    def forget(self, connection: GuardedConnection) -> None:
        self.open.discard(connection)
        self.waiting.pop(connection, None)
        if self.saturated and len(self.open) <= self.max_connections // 2:
            self.saturated = False
            log.info("connections back under the limit", extra={"open_connections": len(self.open)})


class GuardedConnection(asyncio.Protocol):
    """One connection: uvicorn's protocol inside, with a deadline for each request's headers."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.admitted = False
        self._deadline: asyncio.TimerHandle | None = None
        # Whether a request's first bytes came and its headers have not ended yet.
        self._in_request = False
        # The last bytes seen, so that a blank line split across two reads is still found.
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            transport.abort()
            return
        self.admitted = True
        self.inner.connection_made(transport)
        self._expect_headers()

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        self._track_headers(data)
        self.inner.data_received(data)

    def _track_headers(self, data: bytes) -> None:
        """Start the clock on a request's first byte; stop it at the blank line that ends its headers."""
        if self._deadline is None:
            self._expect_headers()
        if not self._in_request:
            # Blank lines before a request line are allowed (and ignored), so they cannot end one.
            data = data.lstrip(b"\r\n")
            if not data:
                return
            self._in_request = True
            self._tail = b""
        seen = self._tail + data
        end = _headers_end(seen)
        rest = seen[end:].lstrip(b"\r\n") if end else seen
        if end and not rest:
            self._headers_complete()
        elif end:
            self._expect_headers()  # the headers ended and the next request has begun
        # Enough to find a blank line split across two reads.
        self._tail = rest[-2:]

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self.guard.forget(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _expect_headers(self) -> None:
        self._cancel_deadline()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.guard.header_timeout, self._headers_late)
        self.guard.waiting.pop(self, None)  # to the end: the deadline is new
        self.guard.waiting[self] = None

    def _headers_complete(self) -> None:
        self._in_request = False
        self._cancel_deadline()
        self.guard.waiting.pop(self, None)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        log.debug("closing a connection that did not send its request headers in time")
        self.guard.forget(self)
        self.abort()


def _headers_end(data: bytes) -> int:
    """The offset just after the last blank line in ``data`` (h11 accepts LF as well as CRLF), or 0."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\n\r\n")
    return max(lf + 2 if lf >= 0 else 0, crlf + 3 if crlf >= 0 else 0)
