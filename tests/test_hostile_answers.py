"""Hostile answers from GitHub (or whatever answers in its place): none takes the exporter down.

The exporter's real components run in-process against the fake GitHub over loopback HTTP
(tests.inprocess); the fake is told to answer with a malformed string, a gzip bomb, a huge or crafted
Link header, an error that echoes the token, or not at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from exporter.github.sending import MAX_JSON_BYTES
from exporter.sources.seats.config import seats_config
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import Fault
from tests.inprocess import ManualClock, make_config, make_exporter, metrics, run_scenario, scrape
from tests.support import NOW, TOKEN, Dataset, ServedFake, serve_fake, value

ORG_SEATS = "^/orgs/acme/copilot/billing/seats$"
ORG_BILLING = "^/orgs/acme/copilot/billing$"
BAD = "bad\ud800login"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW.timestamp())


@pytest.fixture
def fake(dataset: Dataset, clock: ManualClock) -> Iterator[ServedFake]:
    with serve_fake(dataset.app(clock=clock)) as served:
        yield served


def run(fake: ServedFake, clock: ManualClock, scenario: Any, **flags: Any) -> None:
    config = make_config({"org": ["acme"], "api_url": fake.url, **flags})
    run_scenario(fake.url, config, scenario, clock=clock)


def requests_to(fake: ServedFake, path: str) -> int:
    return sum(1 for r in fake.app.requests if r.path == path)


def failures(parsed: dict[str, Any], reason: str) -> float:
    return value(parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason=reason) or 0


def one_seat_page(link: str) -> Fault:
    """Page 1 of acme's seats as one valid seat, with ``link`` as its Link header."""
    seat = {"created_at": "2024-01-01T00:00:00Z", "assignee": {"login": "ann", "id": 1}}
    return Fault(ORG_SEATS, status=200, body={"total_seats": 1, "seats": [seat]}, headers={"link": link})


# -- strings that cannot be encoded -------------------------------------------------------------------


def _poison(body: dict[str, Any]) -> dict[str, Any]:
    seat = body["seats"][0]
    seat["assignee"]["login"] = BAD
    seat["last_activity_editor"] = "vs\ud800code/1.0/copilot/1.0"
    seat["last_activity_at"] = seat["created_at"]
    seat["assigning_team"] = {"slug": "te\udfffam", "name": "x"}
    return body


@pytest.mark.parametrize("seat_metrics", ["login", "hashed", "off"])
def test_a_lone_surrogate_in_a_login_editor_or_team_never_fails_a_scrape(
    fake: ServedFake, clock: ManualClock, seat_metrics: str
) -> None:
    fake.app.faults.append(Fault(ORG_SEATS, mutate=_poison, page=1, times=None))
    env = {"GITHUB_COPILOT_EXPORTER_HASH_KEY": "k" * 32}

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        for accept in ("text/plain", "application/openmetrics-text; version=1.0.0"):
            for encoding in ("identity", "gzip"):
                response = await scrape(exporter, headers={"accept": accept, "accept-encoding": encoding})
                assert response.status_code == 200
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        editors = {dict(k)["editor"] for k in parsed["github_copilot_seats_by_editor"]}
        assert "vs\\ud800code" in editors
        if seat_metrics == "login":
            users = {dict(k)["user"] for k in parsed["github_copilot_seat_info"]}
            assert "bad\\ud800login" in users
        assert (await scrape(exporter, "/")).status_code == 200

    config = make_config({"org": ["acme"], "api_url": fake.url, "seat_metrics": seat_metrics}, env=env)
    run_scenario(fake.url, config, scenario, clock=clock)


# -- bodies too large to read, compressed or not ----------------------------------------------------


def _gzip_of_spaces(size: int) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    return b"".join([*(deflate.compress(block) for _ in range(size >> 20)), deflate.flush()])


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 MiB that inflates to 1 GiB."""
    return _gzip_of_spaces(1 << 30)


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip-bomb", "plain"])
def test_an_answer_over_the_decoded_limit_fails_as_malformed_unretried_and_uninflated(
    fake: ServedFake, clock: ManualClock, gzip_bomb: bytes, compressed: bool
) -> None:
    if compressed:
        body, headers = gzip_bomb, {"content-encoding": "gzip", "content-type": "application/json"}
    else:
        body, headers = b" " * (MAX_JSON_BYTES + 1), {"content-type": "application/json"}
    fake.app.faults.append(Fault(ORG_BILLING, status=200, body=body, headers=headers, times=None))

    async def scenario(exporter: Exporter) -> None:
        tracemalloc.start()
        try:
            await exporter.poller.poll_once()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 0
        assert failures(parsed, "malformed_response") == 1
        assert failures(parsed, "connection") == 0
        # Never more than the limit is held (plus the fake's own copy of what it sends).
        assert peak < 3 * MAX_JSON_BYTES + len(body)

    run(fake, clock, scenario)
    assert requests_to(fake, "/orgs/acme/copilot/billing") == 1  # not retried: it would only come again
    assert clock.slept == []


# -- Link headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        pytest.param("<" * 60_000, id="60-KB-of-angle-brackets"),
        pytest.param(", ".join(['<https://x/?a=1>; rel="next"'] * 2000), id="60-KB-of-links"),
        pytest.param('<{url}/orgs/acme/copilot/billing/seats?per_page=100&\tpage=2>; rel="next"', id="tab"),
    ],
)
def test_a_huge_or_broken_link_header_fails_the_poll_as_malformed(
    fake: ServedFake, clock: ManualClock, link: str
) -> None:
    fake.app.faults.append(one_seat_page(link.replace("{url}", fake.url)))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert failures(parsed, "malformed_response") == 1
        assert failures(parsed, "internal_error") == 0

    run(fake, clock, scenario)


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("{url}/user?page=2", id="another-path-of-the-api-host"),
        pytest.param("{url}/orgs/other/copilot/billing/seats?page=2", id="another-endpoint"),
        pytest.param("http://evil.example/orgs/acme/copilot/billing/seats?page=2", id="another-host"),
    ],
)
def test_a_next_link_outside_the_endpoint_is_never_followed(
    fake: ServedFake, clock: ManualClock, target: str
) -> None:
    url = target.replace("{url}", fake.url)
    fake.app.faults.append(one_seat_page(f'<{url}>; rel="next"'))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        assert failures(await metrics(exporter), "malformed_response") == 1

    run(fake, clock, scenario)
    assert requests_to(fake, "/user") == 0
    assert requests_to(fake, "/orgs/other/copilot/billing/seats") == 0


class _EnterpriseServerFake:
    """The fake under GitHub Enterprise Server's ``/api/v3`` prefix; anything else is a 404."""

    PREFIX = "/api/v3"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.outside: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not path.startswith(self.PREFIX + "/"):
            self.outside.append(path)
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app({**scope, "path": path[len(self.PREFIX) :]}, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def test_on_enterprise_server_a_link_outside_the_api_prefix_is_never_followed(
    dataset: Dataset, clock: ManualClock
) -> None:
    ghes = _EnterpriseServerFake(dataset.app(clock=clock))
    with serve_fake(ghes) as served:  # type: ignore[arg-type]
        link = f'<{served.url}/orgs/acme/copilot/billing/seats?per_page=100&page=2>; rel="next"'
        ghes.app.faults.append(one_seat_page(link))

        async def scenario(exporter: Exporter) -> None:
            await exporter.poller.poll_once()
            assert failures(await metrics(exporter), "malformed_response") == 1

        api = served.url + ghes.PREFIX
        run_scenario(api, make_config({"org": ["acme"], "api_url": api}), scenario, clock=clock)
    assert ghes.outside == []


# -- what the exporter shows about a failure ------------------------------------------------------------


def test_the_landing_page_masks_a_token_github_echoes(fake: ServedFake, clock: ManualClock) -> None:
    message = f"Bad request: Authorization: Bearer {TOKEN} is not allowed here"
    fake.app.faults.append(Fault(ORG_SEATS, status=403, body={"message": message}, times=None))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        page = (await scrape(exporter, "/")).text
        assert "Bearer ********" in page
        assert TOKEN not in page

    run(fake, clock, scenario)


def test_a_megabyte_field_is_quoted_briefly_in_the_log_and_on_the_landing_page(
    fake: ServedFake, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    def huge_created_at(body: dict[str, Any]) -> dict[str, Any]:
        body["seats"][0]["created_at"] = "x" * (1 << 20)
        return body

    fake.app.faults.append(Fault(ORG_SEATS, mutate=huge_created_at, page=1, times=None))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        assert failures(await metrics(exporter), "malformed_response") == 1
        page = (await scrape(exporter, "/")).text
        assert "created_at" in page
        assert len(page) < 4000

    run(fake, clock, scenario)
    failed = [r for r in caplog.records if r.getMessage() == "poll failed"]
    assert failed
    assert all(len(str(r.__dict__["error"])) < 1000 for r in failed)


# -- a slow target ------------------------------------------------------------------------------------


def test_a_slow_target_never_holds_up_the_others(dataset: Dataset, clock: ManualClock) -> None:
    """One org answers never; the other keeps being polled on schedule, and the slow one times out.

    The configuration's minimum interval is a minute, so the test shortens the interval of an already
    validated configuration; what it checks is the order of events, not how long they take.
    """
    slow = dataclasses.replace(dataset.org, login="slow", id=2)
    dataset.extra_orgs.append(slow)
    app = dataset.app(clock=clock)
    # Far longer than the poll's deadline (twice the interval), short enough not to delay shutdown.
    app.faults.append(Fault("^/orgs/slow/", delay=5.0, times=None))
    with serve_fake(app) as served:
        config = make_config({"org": ["acme", "slow"], "api_url": served.url})
        seats = dataclasses.replace(seats_config(config), poll_interval=0.5)
        config = dataclasses.replace(config, sources={**config.sources, "seats": seats})
        acme, slow_org = (("seats", target) for target in config.targets)

        async def main() -> None:
            exporter = make_exporter(served.url, config, clock=clock)
            poller = asyncio.create_task(exporter.poller.run())
            try:
                for _ in range(1200):
                    statuses = exporter.state.statuses
                    if statuses[acme].polls >= 4 and statuses[slow_org].error_reason == "poll_timeout":
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError(f"healthy org not polled beside the slow one: {statuses}")
                # The slow org's first poll is still running or was cancelled; acme polled on regardless.
                assert statuses[slow_org].polls <= 2 < statuses[acme].polls
                parsed = await metrics(exporter)
                assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
                assert value(parsed, "github_copilot_up", source="seats", org="slow") == 0
            finally:
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)
                await exporter.client.aclose()

        asyncio.run(main())


def test_failed_polls_log_no_traceback_for_malformed_answers(
    fake: ServedFake, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.app.faults.append(
        one_seat_page(f'<{fake.url}/orgs/acme/copilot/billing/seats?\tpage=2>; rel="next"')
    )

    async def scenario(exporter: Exporter) -> None:
        with caplog.at_level(logging.INFO):
            await exporter.poller.poll_once()

    run(fake, clock, scenario)
    assert not [r for r in caplog.records if r.exc_info]
