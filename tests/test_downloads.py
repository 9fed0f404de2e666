"""Report downloads: lines streamed from a signed link, bounded once decoded, never with the token."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib

import httpx
import pytest

from exporter.errors import MalformedResponseError
from exporter.github.downloads import stream_lines
from exporter.github.stats import ClientStats

URL = "https://reports.example/dl/users.ndjson?sig=abc"


def _lines(handler: httpx.MockTransport, max_bytes: int) -> list[bytes]:
    async def main() -> list[bytes]:
        async with httpx.AsyncClient(transport=handler) as http:
            return [
                line async for line in stream_lines(http, URL, "download", ClientStats(), max_bytes=max_bytes)
            ]

    return asyncio.run(main())


def test_lines_of_a_gzip_file_are_streamed_without_the_authorization_header() -> None:
    seen: list[httpx.Request] = []
    body = gzip.compress(b'{"a": 1}\n\n{"a": 2}\n{"a": 3}')

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(body), headers={"content-encoding": "gzip"})

    assert _lines(httpx.MockTransport(answer), 1 << 20) == [b'{"a": 1}', b'{"a": 2}', b'{"a": 3}']
    (request,) = seen
    assert "authorization" not in request.headers
    assert request.headers["accept-encoding"] == "gzip, deflate"


def test_a_gzip_bomb_is_refused_without_being_inflated() -> None:
    # 256 MiB of blank lines in a quarter of a MiB of gzip: refused at an 8 MiB limit, holding little memory.
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    blank = b"\n" * (1 << 20)
    bomb = b"".join([packer.compress(blank) for _ in range(256)]) + packer.flush()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(bomb), headers={"content-encoding": "gzip"})

    tracemalloc.start()
    with pytest.raises(MalformedResponseError, match="larger than"):
        _lines(httpx.MockTransport(answer), 8 << 20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 32 << 20


def test_a_failed_download_raises_instead_of_ending_early() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, content=b"<Error>AuthenticationFailed</Error>")

    with pytest.raises(Exception, match="download answered 403"):
        _lines(httpx.MockTransport(answer), 1 << 20)
