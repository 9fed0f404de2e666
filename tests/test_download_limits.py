"""Report downloads: only to GitHub's report hosts (or allowed ones), within a deadline and above a
minimum rate, and never holding the slots the API requests of every target need.

The exporter's wiring runs in-process (tests/inprocess.py) against the fake API on 127.0.0.1 and a
download host on 127.0.0.2 that answers normally, trickles a byte at a time, or never ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from exporter.config.downloads import parse_origin
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.errors import ConfigError, DownloadRefusedError
from exporter.github.auth import StaticToken
from exporter.github.client import GitHubClient
from exporter.github.downloads import DownloadLimits, RateGuard, report_origins
from exporter.github.pacing import RequestPacer
from exporter.privacy import UserLabels
from exporter.sources.base import Source
from exporter.sources.seats import SeatSource
from exporter.sources.usage.config import limits_for, usage_config
from exporter.sources.usage.source import UsageSource
from exporter.web.asgi import Receive, Scope, Send
from exporter.web.server import Exporter
from tests.fakegithub.fake_downloads import FakeDownloads, UsageReports
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.world import demo_github
from tests.inprocess import FAST_RETRY, ManualClock, make_config, metrics
from tests.support import TOKEN, ServedApp, value

START = datetime(2026, 7, 15, 10, 0, tzinfo=UTC).timestamp()
TARGETS = {"org": [DEMO_ORG], "enterprise": [DEMO_ENTERPRISE], "usage_enabled": "true"}
ORG = {"org": DEMO_ORG, "enterprise": ""}
ENTERPRISE = {"org": "", "enterprise": DEMO_ENTERPRISE}


class SlowDownloads:
    """The fake's download host, with ``mode`` "trickle" (one byte every ``interval`` seconds) or
    "endless" (white space, fast, never ending); either stops when the client goes away."""

    def __init__(self, downloads: FakeDownloads) -> None:
        self.downloads = downloads
        self.mode = "normal"
        self.interval = 0.5
        self.started = 0
        self.two_started = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.mode == "normal" or scope["type"] != "http":
            await self.downloads(scope, receive, send)
            return
        self.started += 1
        if self.started >= 2:
            self.two_started.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        piece, pause = (b"{", self.interval) if self.mode == "trickle" else (b" " * 4096, 0.005)
        gone = asyncio.ensure_future(_disconnect(receive))
        try:
            for _ in range(int(120 / max(pause, 0.01))):  # a bound, should a client never leave
                if gone.done():
                    return
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                await asyncio.wait([gone], timeout=pause)
        finally:
            gone.cancel()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class Fakes:
    def __init__(self, github: FakeGitHub, slow: SlowDownloads, api: str, download_url: str) -> None:
        self.github, self.slow, self.api, self.download_url = github, slow, api, download_url


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    clock = ManualClock(START)
    world = demo_usage(START)
    github = FakeGitHub(
        demo_github(START).orgs.values(), demo_github(START).enterprises.values(), token=TOKEN, clock=clock
    )
    slow = SlowDownloads(FakeDownloads(world, clock=clock))
    with ServedApp(slow, "127.0.0.2").running() as downloads:
        github.usage = UsageReports(world, downloads.url)
        with ServedApp(github).running() as api:
            yield Fakes(github, slow, api.url, downloads.url)


def _exporter(fakes: Fakes, usage: dict[str, Any], github: dict[str, Any] | None = None) -> Exporter:
    config = make_config(TARGETS, {"usage": usage, "github": github or {}})
    clock = ManualClock(START)
    client = GitHubClient(
        fakes.api,
        StaticToken(TOKEN),
        timeout=config.request_timeout,
        retry=FAST_RETRY,
        pacer=RequestPacer(config.max_concurrency, per_minute=0),
        sleep=clock.sleep,
        clock=clock,
        downloads=limits_for(config),
    )
    users = UserLabels(config)
    sources: list[Source[Any]] = [
        SeatSource(config, client, users, clock=clock),
        UsageSource(config, client, users, clock=clock),
    ]
    return Exporter(config, client, sources)


def _run(exporter: Exporter, scenario: Any) -> None:
    async def main() -> None:
        try:
            async with asyncio.timeout(60):  # only a bound: a stalled poll fails the test, not the suite
                await scenario(exporter)
        finally:
            await exporter.client.aclose()

    asyncio.run(main())


def _poll(exporter: Exporter, name: str) -> Any:
    source = next(s for s in exporter.poller.sources if s.name == name)
    return asyncio.gather(*(exporter.poller.poll_target(source, t) for t in source.targets))


def test_trickling_downloads_of_every_slot_do_not_stall_the_seat_polls(fakes: Fakes) -> None:
    fakes.slow.mode = "trickle"
    allowed = {"allowed_download_hosts": [fakes.download_url], "download_min_rate": 1024}
    # As many slow targets (the organization and the enterprise) as requests in flight.
    exporter = _exporter(fakes, allowed, {"max_concurrency": 2, "request_timeout": "10s"})

    async def scenario(exporter: Exporter) -> None:
        usage = _poll(exporter, "usage")
        # Both targets' downloads are trickling (the fake runs in a thread of its own).
        assert await asyncio.to_thread(fakes.slow.two_started.wait, 30)
        await _poll(exporter, "seats")
        # Published while the downloads still trickle, not once the minimum rate has cut them.
        assert not usage.done()
        seats = await metrics(exporter)
        assert value(seats, "github_copilot_up", source="seats", **ORG) == 1
        assert value(seats, "github_copilot_up", source="seats", **ENTERPRISE) == 1
        await usage
        parsed = await metrics(exporter)
        for target in (ORG, ENTERPRISE):
            assert value(parsed, "github_copilot_up", source="usage", **target) == 0
            failures = "github_copilot_poll_failures_total"
            assert value(parsed, failures, source="usage", reason="timeout", **target) == 1
        status = exporter.state.statuses[("usage", exporter.config.targets[0])]
        assert "usage.download_min_rate" in status.error_message

    _run(exporter, scenario)


def test_a_download_that_never_ends_is_cut_at_its_deadline(fakes: Fakes) -> None:
    fakes.slow.mode = "endless"
    allowed = {"allowed_download_hosts": [fakes.download_url], "download_timeout": "2s"}
    exporter = _exporter(fakes, allowed)

    async def scenario(exporter: Exporter) -> None:
        await _poll(exporter, "usage")
        parsed = await metrics(exporter)
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="usage", reason="timeout", **ORG) == 1
        )
        status = exporter.state.statuses[("usage", exporter.config.targets[0])]
        assert "usage.download_timeout" in status.error_message

    _run(exporter, scenario)


@pytest.mark.parametrize("allowed", [[], ["127.0.0.2"], ["http://127.0.0.2:1"]])
def test_links_to_a_host_that_is_not_allowed_fail_the_poll_and_are_never_requested(
    fakes: Fakes, allowed: list[str]
) -> None:
    exporter = _exporter(fakes, {"allowed_download_hosts": allowed})

    async def scenario(exporter: Exporter) -> None:
        await _poll(exporter, "usage")
        await _poll(exporter, "seats")
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="usage", **ORG) == 0
        failures = "github_copilot_poll_failures_total"
        assert value(parsed, failures, source="usage", reason="download_refused", **ORG) == 1
        assert value(parsed, "github_copilot_up", source="seats", **ORG) == 1
        status = exporter.state.statuses[("usage", exporter.config.targets[0])]
        assert f"'{fakes.download_url}'" in status.error_message
        assert "usage.allowed_download_hosts" in status.error_message
        assert "sig=" not in status.error_message  # the link's signature is a credential

    _run(exporter, scenario)
    assert fakes.slow.downloads.requests == []


def test_the_allowed_origin_is_read_as_usual(fakes: Fakes) -> None:
    exporter = _exporter(fakes, {"allowed_download_hosts": [fakes.download_url]})

    async def scenario(exporter: Exporter) -> None:
        await _poll(exporter, "usage")
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="usage", **ORG) == 1

    _run(exporter, scenario)
    assert fakes.slow.downloads.requests
    assert fakes.slow.downloads.authorized_requests == []


# -- the rules, as pure functions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "hosts"),
    [
        ("https://api.github.com", ["copilot-reports.github.com"]),
        ("https://api.octocorp.ghe.com", ["copilot-reports.octocorp.ghe.com"]),
        (
            "https://github.acme.internal/api/v3",
            ["github.acme.internal", "copilot-reports.github.acme.internal"],
        ),
    ],
)
def test_github_report_hosts_are_derived_from_the_api_url(api_url: str, hosts: list[str]) -> None:
    assert report_origins(api_url) == tuple(("https", host, 443) for host in hosts)
    limits = DownloadLimits.for_api(api_url)
    limits.check(f"https://{hosts[0]}/reports/users.ndjson?sig=x", "download")
    for refused in (
        f"http://{hosts[0]}/users.ndjson",  # https only
        f"https://{hosts[0]}:8443/users.ndjson",
        "https://169.254.169.254/latest/meta-data/",
        "https://copilot-reports.github.com.evil.example/users.ndjson",
        "https://10.0.0.1/users.ndjson",
    ):
        with pytest.raises(DownloadRefusedError):
            limits.check(refused, "download")


def test_allowed_hosts_are_host_names_host_ports_or_origins() -> None:
    assert parse_origin("Reports.Example.COM") == ("https", "reports.example.com", 443)
    assert parse_origin("reports.example.com:8443") == ("https", "reports.example.com", 8443)
    assert parse_origin("http://127.0.0.2:9000") == ("http", "127.0.0.2", 9000)
    for bad in ("ftp://host", "https://host/path", "https://user@host", "", "host:port", 7):
        with pytest.raises(ConfigError, match=r"usage\.allowed_download_hosts"):
            parse_origin(bad)
    config = make_config(TARGETS, {"usage": {"allowed_download_hosts": ["http://127.0.0.2:9000"]}})
    assert ("http", "127.0.0.2", 9000) in limits_for(config).origins
    assert ("https", "copilot-reports.github.com", 443) in limits_for(config).origins
    assert (usage_config(config).download_timeout, usage_config(config).download_min_rate) == (1800.0, 16384)
    for section, key in (
        ({"download_timeout": "0s"}, "usage.download_timeout"),
        ({"download_timeout": "7h"}, "usage.download_timeout"),
        ({"download_min_rate": -1}, "usage.download_min_rate"),
        ({"download_min_rate": "fast"}, "usage.download_min_rate"),
        ({"allowed_download_hosts": "reports.example.com"}, "usage.allowed_download_hosts"),
    ):
        with pytest.raises(ConfigError, match=key):
            make_config(TARGETS, {"usage": section})


def test_the_rate_guard_measures_each_window_and_the_whole_deadline() -> None:
    now = [0.0]
    limits = DownloadLimits(frozenset(), deadline=100.0, min_rate=10.0, window=5.0)
    guard = RateGuard(limits, "download", clock=lambda: now[0])
    for _ in range(10):  # 60 bytes per 5 s: above the minimum, window after window
        now[0] += 5.0
        guard.received(60)
    now[0] += 5.0
    with pytest.raises(Exception, match="slower than"):
        guard.received(49)
    guard = RateGuard(limits, "download", clock=lambda: now[0])
    now[0] += 101.0
    with pytest.raises(Exception, match="within 100s"):
        guard.received(1 << 30)
