"""The GitHub client's HTTP/1.1 transport against real sockets: framing, keep-alive, faults, TLS, proxies.

Every test serves canned HTTP answers from an asyncio server on loopback, byte for byte, so that what
a real server may send (chunks, trailers, a closed idle connection, a broken status line) reaches the
transport as it would from GitHub. The rest of the suite runs it against the fake GitHub under uvicorn.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.transport import MAX_HEAD_BYTES, Http11Transport, _Connection, default_transport
from tests.pki import Issued, issue, make_ca

Answer = Callable[[int, bytes], bytes | None]
"""The bytes to send for the n-th request on a connection and the request's head; None: close."""


class Close(bytes):
    """An answer after which the server closes the connection."""


@dataclass
class Server:
    url: str
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def serve(answer: Answer, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        number = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                server.requests.append(head)
                data = answer(number, head)
                number += 1
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
                if isinstance(data, Close):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://{'localhost' if tls else '127.0.0.1'}:{port}"
    async with listener:
        yield server


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


async def get(transport: httpx.AsyncBaseTransport, url: str, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", url, headers=headers, extensions={"timeout": httpx.Timeout(5).as_dict()})
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body), *extra, b"", body])


# -- framing and keep-alive ------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection_and_headers_arrive_as_sent() -> None:
    async def test() -> None:
        answers = [ok(b'{"a": 1}', b'ETag: W/"x"', b"Link: <https://e/?page=2>; rel=next"), ok(b"[]")]
        async with serve(lambda n, _: answers[n]) as server:
            transport = Http11Transport()
            first = await get(transport, f"{server.url}/one?per_page=100", Authorization="Bearer t")
            second = await get(transport, f"{server.url}/two")
            await transport.aclose()
        assert (first.status_code, first.json(), first.headers["etag"]) == (200, {"a": 1}, 'W/"x"')
        assert first.headers["link"] == "<https://e/?page=2>; rel=next"
        assert second.content == b"[]"
        assert server.connections == 1
        assert server.requests[0].startswith(b"GET /one?per_page=100 HTTP/1.1\r\n")
        assert b"\r\nAuthorization: Bearer t\r\n" in server.requests[0]
        assert b"\r\nHost: 127.0.0.1:" in server.requests[0]

    run(test)


def test_not_modified_has_no_body_and_keeps_the_connection() -> None:
    async def test() -> None:
        answers = [b'HTTP/1.1 304 Not Modified\r\nETag: W/"x"\r\n\r\n', ok(b"next")]
        async with serve(lambda n, _: answers[n]) as server:
            transport = Http11Transport()
            first = await get(transport, server.url, **{"If-None-Match": 'W/"x"'})
            second = await get(transport, server.url)
            await transport.aclose()
        assert (first.status_code, first.content, second.content) == (304, b"", b"next")
        assert server.connections == 1

    run(test)


def test_chunked_answer_with_extensions_and_trailers() -> None:
    async def test() -> None:
        answer = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n"
        )
        async with serve(lambda n, _: [answer, ok(b"again")][n]) as server:
            transport = Http11Transport()
            first = await get(transport, server.url)
            second = await get(transport, server.url)
            await transport.aclose()
        assert (first.content, second.content, server.connections) == (b"hello world", b"again", 1)

    run(test)


def test_answer_without_length_ends_with_the_connection() -> None:
    async def test() -> None:
        def answer(n: int, _: bytes) -> bytes | None:
            return Close(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")

        async with serve(answer) as server:
            transport = Http11Transport()
            # The server closes after writing; the transport reads to the end and does not reuse.
            first = await get(transport, server.url)
            second_server_answer = await get(transport, server.url)
            await transport.aclose()
        assert first.content == b"until the end"
        assert second_server_answer.content == b"until the end"
        assert server.connections == 2

    run(test)


def test_connection_close_is_honoured() -> None:
    async def test() -> None:
        async with serve(lambda n, _: ok(b"x", b"Connection: close")) as server:
            transport = Http11Transport()
            await get(transport, server.url)
            await get(transport, server.url)
            await transport.aclose()
        assert server.connections == 2

    run(test)


def test_bytes_beyond_a_framed_answer_never_answer_the_next_request() -> None:
    async def test() -> None:
        # A 304 has no body; a server that sends one anyway must not have it read as the next answer.
        answers = iter([b"HTTP/1.1 304 Not Modified\r\n\r\n" + ok(b"stray"), ok(b"second")])
        async with serve(lambda n, _: next(answers)) as server:
            transport = Http11Transport()
            first = await get(transport, server.url)
            second = await get(transport, server.url)
            await transport.aclose()
        assert (first.status_code, second.content) == (304, b"second")
        assert server.connections == 2

    run(test)


def test_informational_answers_are_skipped() -> None:
    async def test() -> None:
        answer = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok(b"final")
        async with serve(lambda n, _: answer) as server:
            transport = Http11Transport()
            response = await get(transport, server.url)
            await transport.aclose()
        assert (response.status_code, response.content) == (200, b"final")

    run(test)


def test_gzip_answers_are_decoded_by_httpx() -> None:
    async def test() -> None:
        body = gzip.compress(b'{"seats": []}')
        async with serve(lambda n, _: ok(body, b"Content-Encoding: gzip")) as server:
            transport = Http11Transport()
            response = await get(transport, server.url)
            await transport.aclose()
        assert response.json() == {"seats": []}

    run(test)


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error() -> None:
    async def test() -> None:
        # The server answers one request per connection but says nothing of closing: the transport
        # finds out only when it reuses the connection, and must send again on a new one.
        def answer(n: int, _: bytes) -> bytes | None:
            return ok(b"fresh") if n == 0 else None

        async with serve(answer) as server:
            transport = Http11Transport()
            await get(transport, server.url)
            # Let the server's close reach the client socket first; the retry path is the same either way.
            await asyncio.sleep(0)
            responses = [await get(transport, server.url) for _ in range(3)]
            await transport.aclose()
        assert [r.content for r in responses] == [b"fresh"] * 3
        assert server.connections == 4

    run(test)


def test_a_reused_connection_closed_mid_send_is_retried_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the server hung up just after the idle check: the connection looks usable, and is not.
    monkeypatch.setattr(_Connection, "usable", lambda self, now: True)

    async def test() -> None:
        transport = Http11Transport()

        def answer(n: int, _: bytes) -> bytes | None:
            return ok(b"fine") if n == 0 else None

        async with serve(answer) as server:
            await get(transport, server.url)
            response = await get(transport, server.url)
            await transport.aclose()
        assert response.content == b"fine"
        assert server.connections == 2

    run(test)


# -- broken answers ----------------------------------------------------------------------------------

BROKEN = {
    "not http": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "status not a number": b"HTTP/1.1 2xx OK\r\n\r\n",
    "header without colon": b"HTTP/1.1 200 OK\r\nContent-Length 3\r\n\r\nabc",
    "space before colon": b"HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\nabc",
    "bare LF in a value": b'HTTP/1.1 304 Not Modified\r\nETag: W/"a"\nX-B: c\r\n\r\n',
    "folded header": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "short body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "chunk without CRLF": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "unfinished chunks": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "gzip and chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nxx\r\n0\r\n\r\n",
    "length of 5000 digits": b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
    "gzip transfer coding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
    "switching protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    "head too long": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n",
}


@pytest.mark.parametrize("answer", BROKEN.values(), ids=BROKEN.keys())
def test_broken_answers_are_protocol_errors(answer: bytes) -> None:
    async def test() -> None:
        async with serve(lambda n, _: Close(answer)) as server:
            transport = Http11Transport()
            with pytest.raises(httpx.RemoteProtocolError):
                await get(transport, server.url)
            await transport.aclose()

    run(test)


def test_silence_is_a_read_timeout() -> None:
    async def test() -> None:
        async with serve(lambda n, _: b"") as server:
            transport = Http11Transport()
            request = httpx.Request("GET", server.url, extensions={"timeout": httpx.Timeout(0.2).as_dict()})
            with pytest.raises(httpx.ReadTimeout):
                await transport.handle_async_request(request)
            await transport.aclose()

    run(test)


def test_nothing_listening_is_a_connect_error() -> None:
    async def test() -> None:
        async with serve(lambda n, _: None) as server:
            url = server.url
        transport = Http11Transport()
        with pytest.raises(httpx.ConnectError):
            await get(transport, url)

    run(test)


@pytest.mark.parametrize("etag", ['W/"x"\r\nX-Injected: 1', 'W/"x"\nGET /other HTTP/1.1', 'W/"x"\0'])
def test_header_values_cannot_smuggle_lines(etag: str) -> None:
    async def test() -> None:
        async with serve(lambda n, _: ok(b"")) as server:
            transport = Http11Transport()
            with pytest.raises(httpx.LocalProtocolError):
                await get(transport, server.url, **{"If-None-Match": etag})
            await transport.aclose()
        assert server.requests == []

    run(test)


def test_requests_with_a_body_are_refused() -> None:
    async def test() -> None:
        transport = Http11Transport()
        with pytest.raises(httpx.UnsupportedProtocol):
            await transport.handle_async_request(httpx.Request("POST", "http://127.0.0.1:1/", content=b"x"))

    run(test)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=3000),
    cuts=st.lists(st.integers(min_value=1, max_value=700), max_size=8),
)
def test_any_chunking_of_a_body_reads_back_the_same_body(body: bytes, cuts: list[int]) -> None:
    chunks, rest = [], body
    for cut in cuts:
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + wire + b"0\r\n\r\n"

    async def test() -> None:
        async with serve(lambda n, _: answer) as server:
            transport = Http11Transport()
            response = await get(transport, server.url)
            await transport.aclose()
        assert response.content == body

    run(test)


# -- TLS and proxies ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates() -> Iterator[tuple[Issued, Issued, Issued]]:
    with tempfile.TemporaryDirectory(prefix="transport-pki-") as tmp:
        directory = Path(tmp)
        ca = make_ca(directory, "ca")
        other = make_ca(directory, "other-ca")
        yield ca[0], other[0], issue(directory, "server", ca, server=True)


def _server_context(server: Issued) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.cert, server.key)
    return context


@pytest.mark.parametrize("trusted", [True, False], ids=["ca-trusted", "other-ca"])
def test_tls_verifies_against_the_ca_of_ssl_cert_file(
    trusted: bool, certificates: tuple[Issued, Issued, Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, other, server_cert = certificates
    monkeypatch.setenv("SSL_CERT_FILE", str((ca if trusted else other).cert))

    async def test() -> None:
        async with serve(lambda n, _: ok(b"secure"), tls=_server_context(server_cert)) as server:
            transport = default_transport(server.url)
            assert isinstance(transport, Http11Transport)
            if trusted:
                answers = [(await get(transport, server.url)).content for _ in range(2)]
                assert (answers, server.connections) == ([b"secure", b"secure"], 1)
            else:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await get(transport, server.url)
            await transport.aclose()

    run(test)


@pytest.mark.parametrize(
    ("environment", "proxied"),
    [
        ({}, False),
        ({"HTTPS_PROXY": "http://proxy.internal:3128"}, True),
        ({"https_proxy": "http://proxy.internal:3128"}, True),
        ({"ALL_PROXY": "http://proxy.internal:3128"}, True),
        ({"HTTPS_PROXY": "proxy.internal:3128"}, True),
        ({"HTTP_PROXY": "http://proxy.internal:3128"}, False),
        ({"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": "api.github.com"}, False),
        ({"HTTPS_PROXY": "http://proxy.internal:3128", "no_proxy": ".github.com"}, False),
    ],
)
def test_a_proxy_in_the_environment_selects_httpx_transport(
    environment: dict[str, str], proxied: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    transport = default_transport("https://api.github.com")
    assert isinstance(transport, httpx.AsyncHTTPTransport) is proxied
    assert isinstance(transport, Http11Transport) is not proxied
