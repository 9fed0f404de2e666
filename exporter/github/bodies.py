"""Reading an answer's body with a bound on its decoded size, enforced while it is inflated.

httpx inflates each chunk it receives whole, so a 64 KiB piece of a gzip bomb becomes 64 MiB before any
limit can be checked. Here the raw bytes are inflated with an output bound instead: at most ``limit``
bytes are ever held, however well the answer compresses, and the download stops as soon as the answer
is known to be too large.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable

import httpx

#: What API requests accept: the encodings inflated here. Without it httpx would also offer brotli or
#: zstd when those packages happen to be installed.
ACCEPT_ENCODING = "gzip, deflate"


class BodyError(ValueError):
    """The body is larger than allowed once decoded, or its encoding is unknown or corrupt."""


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body of ``response``; :class:`BodyError` once it exceeds ``limit`` bytes."""
    return b"".join([piece async for piece in iter_body(response, limit)])


async def iter_body(
    response: httpx.Response,
    limit: int,
    piece_size: int = 1 << 20,
    *,
    on_raw: Callable[[int], None] | None = None,
) -> AsyncIterator[bytes]:
    """The decoded body of ``response`` in pieces of at most ``piece_size`` bytes; :class:`BodyError` once
    more than ``limit`` bytes have been decoded. ``on_raw`` is told the size of each chunk as it
    arrives, before it is decoded (a chunk may decode to nothing), and may raise to stop reading."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        inflate = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + MAX_WBITS: a gzip or a zlib header, whichever the answer carries.
        inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)
    else:
        raise BodyError(f"answer in an unsupported content encoding ({encoding[:40]})")
    size = 0
    try:
        async for raw in response.aiter_raw():
            if on_raw is not None:
                on_raw(len(raw))
            pending = raw
            while pending:
                if inflate is None:
                    piece, pending = pending, b""
                else:
                    piece = inflate.decompress(pending, min(piece_size, limit + 1 - size))
                    pending = inflate.unconsumed_tail
                size += len(piece)
                if size > limit:
                    raise BodyError(f"answer larger than {limit} bytes once decoded; not read further")
                if piece:
                    yield piece
        if inflate is not None:
            tail = inflate.flush()
            if size + len(tail) > limit:
                raise BodyError(f"answer larger than {limit} bytes once decoded; not read further")
            if tail:
                yield tail
    except zlib.error:
        raise BodyError(f"answer is not valid {encoding}") from None
