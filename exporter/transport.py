"""HTTP/1.1 for the GitHub client: GET requests on asyncio streams, with keep-alive and nothing else.

httpx's own transport sends every request through httpcore's connection pool, anyio's stream and
cancel-scope layers and h11's state machine. For the exporter's steady state - a thousand conditional
GETs a poll, nearly all answered ``304 Not Modified`` with no body - those layers were most of the
exporter's CPU: about 1 ms of CPU per request on the benchmark machine, against about 0.15 ms for the
same request written to an asyncio stream and its answer read with ``readuntil``. This module is that
transport. It speaks only what a REST client needs from HTTP/1.1: requests without bodies (the GitHub
client sends GETs), answers framed by ``Content-Length``, ``chunked`` or the end of the connection,
keep-alive, and limits on the size of what it reads. Above it the GitHub client keeps httpx's models
(``httpx.Request``, ``httpx.Response`` with its content decoding, httpx's exceptions), so any httpx
transport can stand in for it: the tests use ``MockTransport`` and ``ASGITransport``, and
:func:`default_transport` hands out httpx's own when the environment names a proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import httpx

#: Longest status line plus headers accepted, as h11 and most servers bound them.
MAX_HEAD_BYTES = 64 * 1024
#: Longest body accepted: a page of 100 seats is about 100 KB; anything near this is not GitHub.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Idle connections kept per origin; the request pacer keeps far fewer than this in flight.
MAX_IDLE = 16
#: An idle connection older than this is closed rather than reused: servers drop idle keep-alive
#: connections after a while, and a fresh connection costs less than a request sent on a dead one.
IDLE_SECONDS = 30.0

_NO_BODY_STATUSES = frozenset({204, 304})
_FORBIDDEN_IN_HEADERS = (b"\r", b"\n", b"\0")


def default_transport(url: str) -> httpx.AsyncBaseTransport:
    """:class:`Http11Transport`, or httpx's own transport when the environment names a proxy for ``url``.

    Proxy variables are those httpx's client honours (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``,
    ``NO_PROXY``, upper or lower case). The CA bundle is httpx's in both cases: ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR`` when set, else certifi's.
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(parts.netloc):
        if "://" not in proxy:
            proxy = f"http://{proxy}"  # HTTPS_PROXY=proxy.corp:3128, as httpx and curl read it
        return httpx.AsyncHTTPTransport(proxy=proxy, verify=httpx.create_ssl_context())
    return Http11Transport(ssl_context=httpx.create_ssl_context() if parts.scheme == "https" else None)


class _Body(httpx.AsyncByteStream):
    def __init__(self, content: bytes) -> None:
        self._content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._content:
            yield self._content

    async def aclose(self) -> None:
        self._content = b""


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        return self.clean() and not self.writer.is_closing() and now - self.idle_since < IDLE_SECONDS

    def clean(self) -> bool:
        """Nothing unread and no end of stream: the next bytes on it answer the next request.

        A server may send more than the answer it framed (a body after a 304, a 408 before it closes
        an idle connection); those bytes would be read as the next request's answer. StreamReader
        offers no public way to ask, hence its internal buffer and EOF flag (CPython since 3.4).
        """
        reader = self.reader
        return not getattr(reader, "_buffer", b"") and not getattr(reader, "_eof", False)

    def close(self) -> None:
        self.writer.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class _Stale(Exception):
    """A reused connection was closed by the server before it answered: send again on a new one."""


class _Answer:
    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class Http11Transport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._clock = clock
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in ("GET", "HEAD") or request.content:
            raise httpx.UnsupportedProtocol("Http11Transport sends GET and HEAD requests without a body")
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"cannot send to {url.scheme!r} URLs")
        timeouts = request.extensions.get("timeout", {})
        origin = (url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        wire = _request_bytes(request)
        answer = None
        connection = self._reuse(origin)
        if connection is not None:
            with contextlib.suppress(_Stale):
                answer = await self._exchange(connection, wire, request, timeouts, reused=True)
        if answer is None or connection is None:
            connection = await self._connect(request, origin, timeouts)
            answer = await self._exchange(connection, wire, request, timeouts, reused=False)
        if answer.keep_alive:
            self._release(origin, connection)
        else:
            connection.close()
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer.body),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
        )

    async def aclose(self) -> None:
        # Requests still in flight close their connections when they end instead of pooling them.
        self._closed = True
        idle = [connection for connections in self._idle.values() for connection in connections]
        self._idle = {}
        for connection in idle:
            connection.close()
        await asyncio.gather(*(connection.wait_closed() for connection in idle))

    def _reuse(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = self._clock()
        while idle:
            connection = idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        return None

    def _release(self, origin: tuple[bytes, bytes, int], connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if self._closed or len(idle) >= MAX_IDLE or not connection.clean():
            connection.close()
            return
        connection.idle_since = self._clock()
        idle.append(connection)

    async def _connect(
        self, request: httpx.Request, origin: tuple[bytes, bytes, int], timeouts: dict[str, float | None]
    ) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == b"https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            tls = self._ssl_context
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                reader, writer = await asyncio.open_connection(
                    host.decode("ascii"), port, ssl=tls, limit=MAX_HEAD_BYTES
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from None
        except OSError as exc:  # ssl.SSLError among them
            raise httpx.ConnectError(f"cannot connect: {exc}", request=request) from None
        return _Connection(reader, writer)

    async def _exchange(
        self,
        connection: _Connection,
        wire: bytes,
        request: httpx.Request,
        timeouts: dict[str, float | None],
        *,
        reused: bool,
    ) -> _Answer:
        """Send the request and read its whole answer, within one read timeout.

        One deadline for the exchange rather than one per read: the GitHub client's request timeout
        bounds how long a request may take, and one timer per request costs less than three.
        """
        try:
            async with asyncio.timeout(timeouts.get("read")):
                connection.writer.write(wire)
                await connection.writer.drain()
                return await _read_answer(connection.reader, request, reused=reused)
        except TimeoutError:
            connection.close()
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request) from None
        except _Stale:
            connection.close()
            raise
        except OSError as exc:  # ssl.SSLError and ConnectionResetError among them
            connection.close()
            if reused:
                # Most likely the server closed the connection while it sat idle. Sending again is safe
                # even if part of an answer had arrived: GET and HEAD are idempotent (RFC 9110 9.2.2).
                raise _Stale from None
            raise httpx.ReadError(f"connection failed: {exc}", request=request) from None
        except BaseException:
            # Cancelled or failed mid-answer: the connection's state is unknown, never reuse it.
            connection.close()
            raise


def _request_bytes(request: httpx.Request) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        # An ETag or token with a line break would smuggle a header (or a request) into the stream.
        if any(bad in name or bad in value for bad in _FORBIDDEN_IN_HEADERS) or b":" in name:
            raise httpx.LocalProtocolError(f"invalid header {name!r}", request=request)
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


async def _read_answer(reader: asyncio.StreamReader, request: httpx.Request, *, reused: bool) -> _Answer:
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and reused:
                raise _Stale from None
            raise httpx.RemoteProtocolError("connection closed before the answer", request=request) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError(
                f"answer head longer than {MAX_HEAD_BYTES} bytes", request=request
            ) from None
        status, reason, version, headers = _parse_head(head, request)
        if status >= 200:
            break
        if status == 101:
            raise httpx.RemoteProtocolError("unexpected protocol switch", request=request)
        # 1xx informational answers (100 Continue, 103 Early Hints) precede the real one.

    connection_tokens = {t.strip().lower() for v in _values(headers, b"connection") for t in v.split(b",")}
    keep_alive = version == b"HTTP/1.1" and b"close" not in connection_tokens
    if request.method == "HEAD" or status in _NO_BODY_STATUSES:
        return _Answer(status, reason, headers, b"", keep_alive)

    transfer = _values(headers, b"transfer-encoding")
    lengths = _values(headers, b"content-length")
    if transfer:
        codings = [t.strip().lower() for v in transfer for t in v.split(b",")]
        # Only chunked: httpx decodes content codings, not transfer codings such as "gzip, chunked".
        if codings != [b"chunked"] or lengths:
            raise httpx.RemoteProtocolError("unsupported transfer encoding", request=request)
        body = await _read_chunked(reader, request)
    elif lengths:
        # At most 18 digits: int() refuses strings of thousands of digits with a ValueError.
        if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
            raise httpx.RemoteProtocolError("invalid Content-Length", request=request)
        length = int(lengths[0])
        if length > MAX_BODY_BYTES:
            raise httpx.RemoteProtocolError(f"answer of {length} bytes is too large", request=request)
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise httpx.RemoteProtocolError("connection closed mid-answer", request=request) from None
    else:
        # Neither length nor chunks: the answer ends with the connection.
        body = await _read_to_end(reader, request)
        keep_alive = False
    return _Answer(status, reason, headers, body, keep_alive)


def _parse_head(head: bytes, request: httpx.Request) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    status_line, *lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(f"invalid status line {status_line[:80]!r}", request=request)
    headers = []
    for line in lines:
        name, colon, value = line.partition(b":")
        # No space before the colon, no folded continuation lines (RFC 9112 section 5), and no bare CR,
        # LF or NUL, which would come back in a header the client sends (an ETag) and be refused there.
        if (
            not colon
            or not name
            or name != name.strip()
            or line[:1] in (b" ", b"\t")
            or any(bad in line for bad in _FORBIDDEN_IN_HEADERS)
        ):
            raise httpx.RemoteProtocolError(f"invalid header line {line[:80]!r}", request=request)
        headers.append((name, value.strip(b" \t")))
    return int(code), reason, version, headers


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


async def _read_chunked(reader: asyncio.StreamReader, request: httpx.Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            line = await reader.readuntil(b"\r\n")
            digits = line[:-2].split(b";", 1)[0].strip()
            # int() would also take "+1", "0x1" and "1_0", which are not chunk sizes.
            if not digits or digits.strip(b"0123456789abcdefABCDEF"):
                raise httpx.RemoteProtocolError(f"invalid chunk size {digits[:20]!r}", request=request)
            chunk = int(digits, 16)
            if chunk == 0:
                # Trailer fields, if any, up to the empty line; the client has no use for them.
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return b"".join(chunks)
            size += chunk
            if size > MAX_BODY_BYTES:
                raise httpx.RemoteProtocolError("chunked answer is too large", request=request)
            data = await reader.readexactly(chunk + 2)
            if data[-2:] != b"\r\n":
                raise httpx.RemoteProtocolError("chunk not terminated by CRLF", request=request)
            chunks.append(data[:-2])
    except asyncio.IncompleteReadError:
        raise httpx.RemoteProtocolError("connection closed mid-answer", request=request) from None
    except asyncio.LimitOverrunError:
        raise httpx.RemoteProtocolError("chunk header too long", request=request) from None


async def _read_to_end(reader: asyncio.StreamReader, request: httpx.Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while data := await reader.read(MAX_HEAD_BYTES):
        size += len(data)
        if size > MAX_BODY_BYTES:
            raise httpx.RemoteProtocolError("answer is too large", request=request)
        chunks.append(data)
    return b"".join(chunks)
