"""fetch_usage against the fake reports: the newest day, all files or nothing, final days kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pytest

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage, download_route, usage_route
from exporter.demo.usage_world import UsageWorld
from exporter.errors import MalformedResponseError, NotFoundError, ServerError
from exporter.sources.usage.fetch import NoUsageReportError, fetch_usage
from exporter.sources.usage.snapshot import UsageSnapshot

T = TypeVar("T")
NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
API = "https://api.github.example"
DOWNLOADS = "https://reports.example"


class FakeClient:
    """The client API fetch_usage relies on, answered by the fake's routers."""

    def __init__(self, world: UsageWorld) -> None:
        self.api_url = API
        self.world = world
        self.requests: list[str] = []
        self.downloads: list[str] = []
        #: Raise after this many lines of a download whose URL contains the key.
        self.break_after: dict[str, int] = {}

    async def get(self, url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]:
        self.requests.append(url)
        parts = urlsplit(url)
        assert url.startswith(API)
        answer = usage_route(self.world, parts.path, dict(parse_qsl(parts.query)), DOWNLOADS)
        assert answer is not None, url
        status, body = answer
        if status == 404:
            raise NotFoundError(f"{endpoint}: not found", status=404, url=url)
        if status not in (200, 204):
            raise ServerError(f"{endpoint}: {status}", status=status, url=url)
        return parse(body), ""

    async def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]:
        self.downloads.append(url)
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == DOWNLOADS
        answer = download_route(self.world, parts.path, dict(parse_qsl(parts.query)))
        assert answer is not None
        status, body = answer
        if status != 200:
            raise MalformedResponseError(f"{endpoint}: download answered {status}")
        if len(body) > max_bytes:
            raise MalformedResponseError(f"{endpoint}: larger than {max_bytes} bytes")
        limit = next((n for key, n in self.break_after.items() if key in url), None)
        for count, line in enumerate(body.splitlines(keepends=True)):
            if limit is not None and count >= limit:
                raise MalformedResponseError(f"{endpoint}: connection reset")
            yield line


def _fetch(
    client: FakeClient, target: Target, *, known: UsageSnapshot | None = None, **kw: Any
) -> UsageSnapshot:
    return asyncio.run(fetch_usage(client, target, today=client.world.now.date(), known=known, **kw))


@pytest.fixture
def world() -> UsageWorld:
    return demo_usage(NOW)


@pytest.mark.parametrize("target", [Target("org", DEMO_ORG), Target("enterprise", DEMO_ENTERPRISE)])
def test_the_newest_day_with_a_report_is_served(world: UsageWorld, target: Target) -> None:
    client = FakeClient(world)
    snapshot = _fetch(client, target)
    assert snapshot.day == NOW.date() - timedelta(days=1)
    assert not snapshot.final
    assert snapshot.target == target
    assert snapshot.entity is not None
    assert snapshot.users
    assert snapshot.teams
    # Today (204 for orgs, 404 for enterprises) first, then yesterday's three reports.
    assert [url.split("?day=")[1] for url in client.requests] == [
        str(NOW.date()),
        str(snapshot.day),
        str(snapshot.day),
        str(snapshot.day),
    ]


def test_the_walk_back_is_bounded(world: UsageWorld) -> None:
    world.entities[("enterprise", DEMO_ENTERPRISE)].last_day = NOW.date() - timedelta(days=20)
    client = FakeClient(world)
    with pytest.raises(NoUsageReportError):
        _fetch(client, Target("enterprise", DEMO_ENTERPRISE), max_days_back=5)
    assert len(client.requests) == 5


def test_the_walk_back_passes_days_without_reports(world: UsageWorld) -> None:
    world.entities[("org", DEMO_ORG)].last_day = NOW.date() - timedelta(days=3)
    client = FakeClient(world)
    snapshot = _fetch(client, Target("org", DEMO_ORG))
    assert snapshot.day == NOW.date() - timedelta(days=3)
    assert len(client.requests) == 4 + 2


def test_a_broken_download_fails_the_whole_poll(world: UsageWorld) -> None:
    world.rows_per_file = 50
    client = FakeClient(world)
    client.break_after = {"/users/": 3}
    with pytest.raises(MalformedResponseError):
        _fetch(client, Target("org", DEMO_ORG))
    world.truncated = {"user_teams"}
    client = FakeClient(world)
    with pytest.raises(MalformedResponseError):
        _fetch(client, Target("org", DEMO_ORG))
    assert any("/user_teams/" in url for url in client.downloads)


def test_downloads_go_to_the_link_host_only(world: UsageWorld) -> None:
    world.rows_per_file = 60
    client = FakeClient(world)
    _fetch(client, Target("org", DEMO_ORG))
    assert len(client.downloads) >= 4
    assert all(url.startswith(DOWNLOADS) for url in client.downloads)
    assert all(url.startswith(API) for url in client.requests)


def test_a_final_day_is_not_read_again(world: UsageWorld) -> None:
    target = Target("org", DEMO_ORG)
    world.entities[("org", DEMO_ORG)].last_day = NOW.date() - timedelta(days=5)
    client = FakeClient(world)
    first = _fetch(client, target)
    assert first.final
    again = FakeClient(world)
    assert _fetch(again, target, known=first) is first
    assert again.downloads == []


def test_a_day_not_yet_final_is_read_again(world: UsageWorld) -> None:
    target = Target("org", DEMO_ORG)
    client = FakeClient(world)
    first = _fetch(client, target)
    world.now += timedelta(hours=6)
    second = _fetch(client, target, known=first)
    assert second is not first
    assert second.day == first.day
    assert second.entity is not None
    assert first.entity is not None
    assert second.entity.counters.generations > first.entity.counters.generations


def test_a_report_of_another_day_than_asked_is_malformed(world: UsageWorld) -> None:
    client = FakeClient(world)

    async def wrong_day(url: str, endpoint: str, parse: Callable[[Any], T]) -> tuple[T, str]:
        return parse({"download_links": [], "report_day": "2020-01-01"}), ""

    client.get = wrong_day  # type: ignore[method-assign]
    with pytest.raises(MalformedResponseError):
        _fetch(client, Target("org", DEMO_ORG))


class EmptyFiles(FakeClient):
    """Answers every download link with an empty file."""

    async def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]:
        self.downloads.append(url)
        empty: tuple[bytes, ...] = ()
        for line in empty:
            yield line


def test_an_entity_report_without_a_record_of_the_day_fails_the_poll(world: UsageWorld) -> None:
    # Empty files answered 200 are a broken report, not a day without activity.
    client = EmptyFiles(world)
    with pytest.raises(MalformedResponseError, match="no record of that day"):
        _fetch(client, Target("org", DEMO_ORG))
    assert client.downloads
