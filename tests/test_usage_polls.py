"""Several polls of the usage reports: days that are not final are read again, final ones are not, a
broken download keeps the last good day, the usage source fails without touching the seats, and its
first poll does not wait behind a large enterprise's seat pages.

The exporter's real wiring runs in-process (tests/inprocess.py) against the fake API and its download
host on loopback, with one manual clock for the fakes and the usage source, so hours pass instantly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.demo.usage_world import REPORT_DELAY_HOURS
from exporter.errors import MalformedResponseError
from exporter.sources.usage.model import parse_report_links
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import Fault
from tests.inprocess import ManualClock, metrics, usage_exporter
from tests.support import Labels, value
from tests.usage_support import UsageFakes, newest_report_day, usage_fakes

pytestmark = pytest.mark.e2e
HOUR = 3600.0
# 10:00 UTC: yesterday's report is 10 hours old, far from final (72 hours).
START = datetime(2026, 7, 15, 10, 0, tzinfo=UTC).timestamp()
ORG = {"org": DEMO_ORG, "enterprise": ""}

Parsed = dict[str, dict[Labels, float]]


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ManualClock:
    """At START, or for a test that takes ``moment`` at each moment of tests/clock.py."""
    if "moment" in request.fixturenames:
        moment: datetime = request.getfixturevalue("moment")
        return ManualClock(moment.timestamp())
    return ManualClock(START)


@pytest.fixture
def fakes(clock: ManualClock) -> Iterator[UsageFakes]:
    yield from usage_fakes(demo_usage(clock.now), clock)


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _quiet_start(now: float, newest: date) -> float:
    """Five minutes past the next whole hour, or past the next report's appearance when it comes out
    within seven hours of that: from then on one day stays the newest, and its links change on the hour."""
    start = (now // HOUR + 1) * HOUR + 300
    next_report = _midnight(newest + timedelta(days=2)) + REPORT_DELAY_HOURS * HOUR
    return next_report + 300 if start <= next_report < start + 7 * HOUR else start


async def _poll(exporter: Exporter) -> Parsed:
    await exporter.poller.poll_once()
    return await metrics(exporter)


def _run(fakes: UsageFakes, clock: ManualClock, scenario: Callable[[Exporter], Awaitable[None]]) -> None:
    async def main() -> None:
        exporter = usage_exporter(
            fakes.api, [DEMO_ORG], [DEMO_ENTERPRISE], clock, download_url=fakes.download_url
        )
        try:
            await scenario(exporter)
        finally:
            await exporter.client.aclose()

    asyncio.run(main())


def _downloads(fakes: UsageFakes) -> int:
    return len(fakes.downloads.requests)


def test_a_day_not_final_is_read_again_when_it_changes_and_not_while_it_does_not(
    fakes: UsageFakes, clock: ManualClock, moment: datetime
) -> None:
    """At any date, the newest day reported is served (the day before yesterday minutes after midnight
    UTC, across month and year ends), not final, and read again as its numbers grow."""
    newest = newest_report_day(moment)

    async def scenario(exporter: Exporter) -> None:
        first = await _poll(exporter)
        for target in (ORG, {"org": "", "enterprise": DEMO_ENTERPRISE}):
            served = value(first, "github_copilot_usage_report_day_timestamp_seconds", **target)
            assert served == _midnight(newest), (target, moment)
            assert value(first, "github_copilot_usage_report_day_final", **target) == 0
        assert _downloads(fakes) >= 6

        # From a time when the same day stays the newest for hours, a few minutes past an hour of it:
        clock.advance(_quiet_start(clock.now, newest) - clock.now)
        base = await _poll(exporter)
        read = _downloads(fakes)

        # Within the hour GitHub answers with the same links (here: 304 to the ETag): nothing is read.
        clock.advance(60)
        same = await _poll(exporter)
        assert _downloads(fakes) == read
        assert any(r.status == 304 and "/metrics/reports/" in r.path for r in fakes.github.requests)
        assert same == base | {k: v for k, v in same.items() if not k.startswith("github_copilot_usage")}

        # Hours later the day's numbers have grown: the new files are read.
        clock.advance(6 * HOUR)
        later = await _poll(exporter)
        assert _downloads(fakes) > read
        report_day = "github_copilot_usage_report_day_timestamp_seconds"
        assert value(later, report_day, **ORG) == value(base, report_day, **ORG)
        name = "github_copilot_usage_code_generations"
        assert (value(later, name, **ORG) or 0) > (value(base, name, **ORG) or 0)

    _run(fakes, clock, scenario)


def test_a_final_day_is_not_downloaded_again(fakes: UsageFakes, clock: ManualClock, moment: datetime) -> None:
    # Reports stopped five days ago (in the month or year before, at the start of one): the newest day
    # is that one, and final.
    last_day = moment.date() - timedelta(days=5)
    for entity in fakes.world.entities.values():
        entity.last_day = last_day

    async def scenario(exporter: Exporter) -> None:
        first = await _poll(exporter)
        assert value(first, "github_copilot_usage_report_day_timestamp_seconds", **ORG) == _midnight(last_day)
        assert value(first, "github_copilot_usage_report_day_final", **ORG) == 1
        read = _downloads(fakes)
        clock.advance(5 * HOUR)
        again = await _poll(exporter)
        assert _downloads(fakes) == read
        assert value(again, "github_copilot_usage_report_day_timestamp_seconds", **ORG) == value(
            first, "github_copilot_usage_report_day_timestamp_seconds", **ORG
        )

    _run(fakes, clock, scenario)


@pytest.mark.parametrize("breakage", ["truncated", "server-error"])
def test_a_broken_download_keeps_the_last_good_day(
    fakes: UsageFakes, clock: ManualClock, breakage: str
) -> None:
    async def scenario(exporter: Exporter) -> None:
        good = await _poll(exporter)
        clock.advance(3 * HOUR)  # new links, so the files are read again
        if breakage == "truncated":
            fakes.world.truncated = {"users"}
        else:
            fakes.downloads.fail_status = 503
        broken = await _poll(exporter)
        assert value(broken, "github_copilot_up", source="usage", **ORG) == 0
        reason = "malformed_response" if breakage == "truncated" else "unexpected_status"
        assert value(broken, "github_copilot_poll_failures_total", source="usage", reason=reason, **ORG) == 1
        for name in ("github_copilot_usage_code_generations", "github_copilot_usage_users_reported"):
            assert value(broken, name, **ORG) == value(good, name, **ORG), name
        # The seats are another source: untouched.
        assert value(broken, "github_copilot_up", source="seats", **ORG) == 1

    _run(fakes, clock, scenario)


def test_a_refused_report_fails_only_the_usage_source_with_what_to_fix(
    fakes: UsageFakes, clock: ManualClock
) -> None:
    fakes.github.faults.append(
        Fault(r"/orgs/[^/]+/copilot/metrics/", status=403, body={"message": "Forbidden"}, times=None)
    )

    async def scenario(exporter: Exporter) -> None:
        parsed = await _poll(exporter)
        assert value(parsed, "github_copilot_up", source="usage", **ORG) == 0
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="usage", reason="forbidden", **ORG)
            == 1
        )
        assert value(parsed, "github_copilot_up", source="seats", **ORG) == 1
        assert value(parsed, "github_copilot_up", source="usage", org="", enterprise=DEMO_ENTERPRISE) == 1
        status = exporter.state.statuses[("usage", exporter.config.targets[0])]
        assert "Copilot usage metrics" in status.error_message
        assert "View Organization Copilot Metrics" in status.error_message

    _run(fakes, clock, scenario)


def test_the_client_sends_the_token_to_the_api_only(fakes: UsageFakes, clock: ManualClock) -> None:
    async def scenario(exporter: Exporter) -> None:
        api = f"{fakes.api}/orgs/{DEMO_ORG}/copilot/metrics/reports/organization-1-day?day=2026-07-14"
        report, _ = await exporter.client.get(api, "probe", parse_report_links)
        assert report is not None
        (link,) = report.links
        assert link.startswith(fakes.download_url)
        with pytest.raises(MalformedResponseError, match="refusing to send the token"):
            await exporter.client.get(link, "probe", lambda body: body)
        lines = [line async for line in exporter.client.download_lines(link, "probe", max_bytes=1 << 20)]
        assert len(lines) == 1  # the organization's record of the day

    _run(fakes, clock, scenario)
    assert len(fakes.downloads.requests) == 1  # the download; the refused get never left the process
    assert fakes.downloads.authorized_requests == []


def test_the_first_usage_poll_is_published_long_before_a_many_page_seat_poll_ends(
    fakes: UsageFakes, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    enterprise = fakes.github.enterprises[DEMO_ENTERPRISE.lower()]
    grant = enterprise.seats[0]
    enterprise.seats += [
        dataclasses.replace(grant, login=f"bulk-user-{i:05d}", user_id=800_000 + i) for i in range(12_000)
    ]
    pages = math.ceil(len(enterprise.seats) / 100)
    seats_path = f"/enterprises/{DEMO_ENTERPRISE}/copilot/billing/seats"
    # Seat pages answered when each poll of the enterprise was published: order, not time.
    published: dict[str, int] = {}

    async def scenario(exporter: Exporter) -> None:
        publish = exporter.state.publish

        def counting(source: str, target: Any, snapshot: Any, **kwargs: Any) -> Any:
            if target.name == DEMO_ENTERPRISE:
                published[source] = sum(1 for r in fakes.github.requests if r.path == seats_path)
            return publish(source, target, snapshot, **kwargs)

        monkeypatch.setattr(exporter.state, "publish", counting)
        parsed = await _poll(exporter)
        assert value(parsed, "github_copilot_up", source="usage", org="", enterprise=DEMO_ENTERPRISE) == 1
        assert value(parsed, "github_copilot_up", source="seats", org="", enterprise=DEMO_ENTERPRISE) == 1

    _run(fakes, clock, scenario)
    assert published["seats"] == pages
    # The usage poll's requests take their turns among the seat pages instead of queueing behind them.
    assert published["usage"] < pages // 2, published
