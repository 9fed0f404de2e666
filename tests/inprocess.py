"""The exporter's real components in the test process, for behaviour that needs several polls.

The minimum poll interval is a minute, so a test cannot wait for a subprocess to poll again. Here the
same :class:`~exporter.server.Exporter` wiring runs in-process: the GitHub client talks over real HTTP
to the fake on loopback, ``poll_once()`` stands in for the schedule, scrapes go through the ASGI app,
and a manual clock makes back-off and rate-limit waits instant (and observable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from exporter.config import Config
from exporter.github.auth import StaticToken, TokenSource
from exporter.github.client import GitHubClient
from exporter.github.pacing import RequestPacer
from exporter.github.retrying import RetryPolicy
from exporter.sources.usage.config import limits_for
from exporter.web.server import Exporter
from exporter.wiring import build_config
from tests.support import NOW, TOKEN, Labels, parse_exposition

#: Fast retries: the delays are recorded by ManualClock, never slept for real.
FAST_RETRY = RetryPolicy(attempts=3, backoff=1.0, max_backoff=60.0, max_rate_limit_wait=900.0)


@dataclass
class ManualClock:
    """Wall-clock time that only moves when the code under test sleeps or the test says so.

    It starts where the test says (a moment of tests/clock.py, or support.NOW that the standard data
    set's dates are drawn from), never from the real clock, so what a test sees does not depend on when
    it runs."""

    now: float
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Concurrent sleepers share the time line: each wakes at its own deadline, not at the sum.
        self.slept.append(seconds)
        deadline = self.now + max(0.0, seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, deadline)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_config(
    flags: Mapping[str, Any] | None = None,
    file_data: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    environ = {"GITHUB_TOKEN": TOKEN, **(env or {})}
    # Tests of the seats meet a fake without usage reports; the usage tests switch them on, and the
    # repository report (a usage-metrics report) with them unless a test says otherwise.
    given = {"usage_enabled": "false", **(flags or {})}
    repositories = "false" if given["usage_enabled"] == "false" else None
    return build_config({"repositories_enabled": repositories, **given}, file_data, environ)


def make_exporter(
    api_url: str,
    config: Config,
    *,
    clock: ManualClock | None = None,
    token: TokenSource | None = None,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 10.0,
) -> Exporter:
    clock = clock or ManualClock(NOW.timestamp())
    client = GitHubClient(
        api_url,
        token or StaticToken(TOKEN),
        timeout=timeout,
        retry=retry,
        # No pacing: spacing requests is tested elsewhere and would only slow these tests down.
        pacer=RequestPacer(concurrency=4, per_minute=0),
        sleep=clock.sleep,
        clock=clock,
        downloads=limits_for(config),
    )
    return Exporter(config, client, clock=clock)


Scenario = Callable[[Exporter], Awaitable[None]]


def run_scenario(api_url: str, config: Config, scenario: Scenario, **kwargs: Any) -> None:
    """Build an exporter (see make_exporter), run ``scenario`` against it, and close its client."""

    async def main() -> None:
        exporter = make_exporter(api_url, config, **kwargs)
        try:
            await scenario(exporter)
        finally:
            await exporter.client.aclose()

    asyncio.run(main())


async def scrape(exporter: Exporter, path: str = "/metrics", **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(exporter.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as http:
        return await http.get(path, **kwargs)


async def metrics(exporter: Exporter) -> dict[str, dict[Labels, float]]:
    response = await scrape(exporter)
    assert response.status_code == 200, response.text
    return parse_exposition(response.text)


def usage_exporter(
    api_url: str,
    orgs: list[str],
    enterprises: list[str],
    clock: ManualClock,
    *,
    usage: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    download_url: str | None = None,
) -> Exporter:
    """Seat and usage sources for ``orgs`` and ``enterprises``, on ``clock`` (the fakes' clock too),
    with the configuration file's ``usage`` section and more ``flags``; report links may point at
    ``download_url`` (the fake download host) beside GitHub's own report hosts."""
    from exporter.privacy import UserLabels
    from exporter.sources.base import Source
    from exporter.sources.seats import SeatSource
    from exporter.sources.usage.source import UsageSource

    flags = {"org": orgs, "enterprise": enterprises, "usage_enabled": "true", **(flags or {})}
    if download_url is not None:
        usage = {"allowed_download_hosts": [download_url], **(usage or {})}
    config = make_config(flags, {"usage": usage} if usage else None, env)
    exporter = make_exporter(api_url, config, clock=clock)
    users = UserLabels(config)
    sources: list[Source[Any]] = [
        SeatSource(config, exporter.client, users, clock=clock),
        UsageSource(config, exporter.client, users, clock=clock),
    ]
    return Exporter(config, exporter.client, sources, clock=clock)
