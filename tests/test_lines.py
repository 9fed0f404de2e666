"""Report files are split into lines in linear time: a long line in small segments and a huge run of
blank lines cost work in proportion to their bytes (counted, never timed), and blank lines make no
objects; and a report holding a huge run of newlines is read by the running exporter."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest

from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.github.downloads import stream_lines
from exporter.github.lines import LineSplitter, LineTooLongError
from exporter.github.stats import ClientStats
from exporter.privacy import UserLabels
from exporter.sources.usage.source import UsageSource
from exporter.web.asgi import Receive, Scope, Send
from exporter.web.server import Exporter
from tests.fakegithub.fake_downloads import FakeDownloads, UsageReports
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.world import demo_github
from tests.inprocess import ManualClock, make_config, make_exporter, metrics
from tests.support import TOKEN, ServedApp, value


def _split(pieces: Iterator[bytes] | list[bytes], max_line: int = 1 << 20) -> tuple[list[bytes], int]:
    splitter = LineSplitter(max_line)
    lines = [line for piece in pieces for line in splitter.feed(piece)]
    last = splitter.end()
    return [*lines, *([last] if last is not None else [])], splitter.work


def test_lines_blank_lines_and_a_last_line_without_a_newline() -> None:
    body = b'\n\n{"a": 1}\r\n  \n\t\n{"b": 2}\n\n\n{"c": 3}'
    for size in (1, 2, 3, 7, len(body)):
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        assert _split(pieces)[0] == [b'{"a": 1}\r', b'{"b": 2}', b'{"c": 3}'], size


def test_a_long_line_in_small_segments_costs_linear_work() -> None:
    # 512 KiB in 16-byte segments: re-copying and re-splitting the pending line on every segment
    # would cost about 8 * 10^9 byte operations; linear reading a small multiple of 512 Ki.
    line = b"x" * (512 << 10)
    body = line + b"\n" + line
    lines, work = _split(body[i : i + 16] for i in range(0, len(body), 16))
    assert lines == [line, line]
    assert work <= 4 * len(body)


def test_a_huge_run_of_blank_lines_costs_linear_work_and_makes_no_lines() -> None:
    lines, work = _split(b"\n" * (1 << 20) for _ in range(64))
    assert lines == []
    assert work <= 3 * (64 << 20)
    lines, work = _split(b"\r\n \n" * 4096 + b'{"a":1}\n' for _ in range(256))
    assert len(lines) == 256
    assert work <= 3 * 256 * (4 * 4096 + 8)


def test_a_line_past_the_limit_is_refused_even_in_segments() -> None:
    with pytest.raises(LineTooLongError):
        _split((b"y" * 100 for _ in range(20)), max_line=1000)


def test_a_gzip_of_blank_lines_is_streamed_without_an_object_per_line() -> None:
    # 64 MiB of newlines in 64 KiB of gzip. Splitting each decoded MiB on b"\n" would build a list
    # of a million entries (8 MiB) per piece; reading by offset holds about one piece.
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    blank = b"\n" * (1 << 20)
    body = b"".join([packer.compress(blank) for _ in range(64)]) + packer.compress(b'{"a": 1}\n')
    body += packer.flush()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(body), headers={"content-encoding": "gzip"})

    async def main() -> list[bytes]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            url = "https://copilot-reports.github.com/r.ndjson"
            return [line async for line in stream_lines(http, url, "download", ClientStats())]

    tracemalloc.start()
    try:
        assert asyncio.run(main()) == [b'{"a": 1}']
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20


class NewlineRuns:
    """The fake's download host, every file gzipped between two runs of newlines, its lines apart."""

    def __init__(self, downloads: FakeDownloads, run: int) -> None:
        self.downloads = downloads
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.downloads(scope, receive, send)
            return
        answer: list[dict[str, object]] = []

        async def keep(message: dict[str, object]) -> None:
            answer.append(message)

        await self.downloads(scope, receive, keep)  # type: ignore[arg-type]
        start, *bodies = answer
        body = b"".join(m["body"] for m in bodies)  # type: ignore[misc]
        spread = b"\n" * self.run + b"\n\n\r\n".join(body.splitlines()) + b"\n" * self.run
        packed = gzip.compress(spread, 6)
        headers = [(b"content-encoding", b"gzip"), (b"content-length", str(len(packed)).encode())]
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": packed})


@pytest.fixture
def fakes() -> Iterator[tuple[str, str, FakeDownloads]]:
    start = 1784109600.0  # 2026-07-15 10:00 UTC
    clock = ManualClock(start)
    world = demo_usage(start)
    demo = demo_github(start)
    github = FakeGitHub(demo.orgs.values(), demo.enterprises.values(), token=TOKEN, clock=clock)
    downloads = FakeDownloads(world, clock=clock)
    with ServedApp(NewlineRuns(downloads, 32 << 20), "127.0.0.2").running() as served:
        github.usage = UsageReports(world, served.url)
        with ServedApp(github).running() as api:
            yield api.url, served.url, downloads


def test_a_report_of_huge_runs_of_newlines_is_read_whole(fakes: tuple[str, str, FakeDownloads]) -> None:
    api, download_url, downloads = fakes
    config = make_config(
        {"org": [DEMO_ORG], "enterprise": [DEMO_ENTERPRISE], "usage_enabled": "true"},
        {"usage": {"allowed_download_hosts": [download_url]}},
    )

    async def main() -> dict[str, dict[frozenset[tuple[str, str]], float]]:
        clock = ManualClock(1784109600.0)
        client = make_exporter(api, config, clock=clock).client
        users = UserLabels(config)
        exporter = Exporter(config, client, [UsageSource(config, client, users, clock=clock)])
        try:
            await exporter.poller.poll_once()
            return await metrics(exporter)
        finally:
            await exporter.client.aclose()

    parsed = asyncio.run(main())
    org = {"org": DEMO_ORG, "enterprise": ""}
    assert value(parsed, "github_copilot_up", source="usage", **org) == 1
    users = value(parsed, "github_copilot_usage_users_reported", **org)
    assert users is not None
    assert users > 0
    assert len(downloads.requests) >= 6
