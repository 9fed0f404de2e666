"""The GitHub API budget the exporter announces: request counts, the hourly limit and the warnings."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from exporter.config import Config, Target
from exporter.demo import fake_billing, fake_usage
from exporter.github.stats import ClientStats, RateLimit
from exporter.sources.billing import fetch as billing_fetch
from exporter.sources.seats import budget
from exporter.sources.seats.model import Seat, SeatPage
from exporter.sources.seats.snapshot import build_snapshot
from exporter.sources.spec import SourceCost
from exporter.sources.usage import fetch as usage_fetch
from exporter.wiring import build_config, source_costs
from tests import test_billing_metrics, test_usage_fetch
from tests.support import TOKEN, parse_exposition, serve_fake, standard_dataset, start_exporter

ORG = Target("org", "acme")
ENTERPRISE = Target("enterprise", "acme-corp")


SEATS_ONLY = {
    "billing": {"enabled": "false"},
    "usage": {"enabled": "false"},
    "repositories": {"enabled": "false"},
}


def _config(
    interval: float,
    *targets: Target,
    per_minute: float = 600.0,
    api_url: str = "https://api.github.com",
    **sections: object,
) -> Config:
    """The configuration of ``targets`` as the loader builds it, every source off unless ``sections``."""
    flags = {
        "org": [t.name for t in targets if t.kind == "org"],
        "enterprise": [t.name for t in targets if t.kind == "enterprise"],
        "poll_interval": f"{interval:.0f}s",
        "api_url": api_url,
    }
    data = {"github": {"requests_per_minute": per_minute}, **SEATS_ONLY, **sections}
    return build_config(flags, data, {"GITHUB_TOKEN": TOKEN})


def test_requests_per_poll_count_billing_calls_and_pages() -> None:
    config = _config(600.0, ORG, ENTERPRISE)
    # One billing call for the org, its 3 pages, and 1,000 pages for the enterprise.
    estimate = budget.estimate(config, {ORG: 3, ENTERPRISE: 1000}, others=source_costs(config))
    assert estimate.seats.requests_per_poll == 1 + 3 + 1000
    assert estimate.others == {}
    assert estimate.requests_per_hour == 6 * 1004
    assert estimate.exhausts_limit  # 6,024 per hour against 5,000
    assert estimate.shortest_interval == 13 * 60  # 1,004 x 3600 / 5000 = 723 s, rounded up to minutes
    # 1,004 requests in batches of 4 (the requests in flight), a batch every 4 x 60 / 600 = 0.4 s.
    assert estimate.min_poll_seconds == pytest.approx(251 * 0.4)
    # A GitHub App on Enterprise Cloud has 15,000 an hour: the same polling fits.
    assert not budget.estimate(config, {ORG: 3, ENTERPRISE: 1000}, hourly_limit=15_000).exhausts_limit


def test_billing_and_usage_requests_count_on_their_own_intervals() -> None:
    config = _config(
        600.0,
        ORG,
        ENTERPRISE,
        billing={"poll_interval": "1m"},
        usage={"poll_interval": "2m"},
        repositories={},
    )
    estimate = budget.estimate(config, {ORG: 3, ENTERPRISE: 1000}, others=source_costs(config))
    assert estimate.seats.requests_per_poll == 1004
    # Billing: 4 for the org (summary, AI credits month and day, budgets), 5 for the enterprise (and
    # its cost-center list); usage: today's and yesterday's entity report, the users and teams reports;
    # repositories: today's and yesterday's repository report, hourly.
    assert estimate.others == {
        "billing": SourceCost(4 + 5, 60.0),
        "usage": SourceCost(2 * 4, 120.0),
        "repositories": SourceCost(2 * 2, 3600.0),
    }
    assert estimate.requests_per_hour == 6 * 1004 + 60 * 9 + 30 * 8 + 4
    # 1,004 seat requests share what the others leave of 5,000: 1004 x 3600 / 4216 = 857 s.
    assert estimate.shortest_interval == 15 * 60
    # GitHub Enterprise Server has no usage reports: usage and repositories "auto" are off there.
    ghes = _config(600.0, ORG, api_url="https://ghe.example/api/v3", billing={}, usage={}, repositories={})
    assert set(source_costs(ghes)) == {"billing"}
    # repositories.top_n 0 turns the repository report off, and its cost with it.
    off = _config(600.0, ORG, billing={}, usage={}, repositories={"top_n": 0})
    assert set(source_costs(off)) == {"billing", "usage"}
    # Its own switch: on with usage off, off with usage on.
    alone = _config(600.0, ORG, repositories={"enabled": "true"})
    assert set(source_costs(alone)) == {"repositories"}
    without = _config(600.0, ORG, usage={}, repositories={"enabled": "false"})
    assert set(source_costs(without)) == {"usage"}


def test_the_billing_count_is_what_a_billing_poll_asks_for() -> None:
    world = fake_billing.demo_billing(test_billing_metrics.NOW)
    for target, centers in ((test_billing_metrics.ORG, 0), (test_billing_metrics.ENTERPRISE, 3)):
        client = test_billing_metrics.FakeClient(world)
        asyncio.run(billing_fetch.fetch_billing(client, target, now=test_billing_metrics.NOW))
        assert len(client.urls) == billing_fetch.requests_per_poll(target, cost_centers=centers)
    assert billing_fetch.requests_per_poll(ORG, budgets=250) == 4 + 2  # three pages of budgets


def test_the_usage_count_is_what_a_usage_poll_asks_for() -> None:
    client = test_usage_fetch.FakeClient(fake_usage.demo_usage(test_usage_fetch.NOW))
    today = test_usage_fetch.NOW.date()
    snapshot = asyncio.run(usage_fetch.fetch_usage(client, Target("org", fake_usage.DEMO_ORG), today=today))
    assert snapshot.day == today - timedelta(days=usage_fetch.USUAL_DAYS_BACK - 1)
    assert len(client.requests) == usage_fetch.requests_per_poll()
    assert usage_fetch.requests_per_poll(days_back=5) == 7


def test_pages_of_a_seat_list() -> None:
    assert [budget.seat_pages(n) for n in (0, 1, 100, 101, 100_000)] == [1, 1, 1, 2, 1000]


def test_start_logs_what_is_known_and_warns_only_when_needed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="exporter.sources.seats.budget")
    budget.log_expected(_config(600.0, ORG, ENTERPRISE), {})
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.seat_requests_per_poll == 3  # type: ignore[attr-defined]  # billing + a page per target
    assert record.rate_limit_per_hour == 5000  # type: ignore[attr-defined]

    caplog.clear()
    # Polling every minute at 1 request per minute: a poll of 3 requests outlasts the interval.
    budget.log_expected(_config(60.0, ORG, ENTERPRISE, per_minute=1), {})
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.WARNING]
    assert "back to back" in caplog.records[1].getMessage()


def _seat(i: int) -> Seat:
    return Seat(i, f"user{i}", "acme", "", "business", 1.7e9, None, "", None, None)


def test_after_the_first_poll_the_measured_pages_and_limit_are_used(caplog: pytest.LogCaptureFixture) -> None:
    config = _config(60.0, ORG, ENTERPRISE)
    seats = tuple(_seat(i) for i in range(25_000))
    pages = [SeatPage(25_000, seats[n : n + 100]) for n in range(0, 25_000, 100)]
    snapshots = [build_snapshot(ORG, pages, None, {"business": 19.0}, 1.7e9)]
    stats = ClientStats()
    stats.set_rate_limit("core", RateLimit(limit=5000, remaining=4000, used=1000, reset=1.7e9 + 3600))
    caplog.set_level(logging.INFO, logger="exporter.sources.seats.budget")

    measured = budget.log_measured(config, snapshots, stats, {})

    # 250 pages and a billing call for the org; the enterprise failed: counted as one page.
    assert measured.seats.requests_per_poll == 1 + 250 + 1
    info, warning = caplog.records
    assert info.targets_not_polled_yet == "enterprise=acme-corp"  # type: ignore[attr-defined]
    # Every minute, 252 requests make 15,120 an hour: more than 5,000; 252 x 3600 / 5000 s is 4 minutes.
    assert warning.levelno == logging.WARNING
    assert "exhaust" in warning.getMessage()
    assert warning.suggested_poll_interval == "4m"  # type: ignore[attr-defined]


def test_no_warning_when_the_budget_fits(caplog: pytest.LogCaptureFixture) -> None:
    config = _config(600.0, ORG)
    pages = [SeatPage(50, tuple(_seat(i) for i in range(50)))]
    snapshots = [build_snapshot(ORG, pages, None, {"business": 19.0}, 1.7e9)]
    caplog.set_level(logging.INFO, logger="exporter.sources.seats.budget")
    measured = budget.log_measured(config, snapshots, ClientStats(), {})
    assert measured.seats.requests_per_poll == 2
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_the_exporter_logs_its_budget_at_start_and_after_the_first_poll() -> None:
    dataset = standard_dataset()
    with serve_fake(dataset.app()) as fake:
        args = ["--org", "acme", "--enterprise", "acme-corp", "--github.api-url", fake.url]
        # The fake has no usage reports; the usage polls fail, but the budget counts them all the same.
        with start_exporter([*args, "--usage.enabled=true"], {"GITHUB_TOKEN": TOKEN}) as running:
            parse_exposition(running.metrics())  # ready: the first poll is done
            log = running.log()
    lines = [line for line in log.splitlines() if "GitHub API budget" in line]
    assert len(lines) == 2, log
    assert "seat_requests_per_poll=3 " in lines[0]  # billing + one page per target, before any answer
    # Billing (on by default): 4 for the org, 5 for the enterprise; usage: 4 per target; hourly both.
    assert "billing_requests_per_poll=9 billing_poll_interval=1h " in lines[0]
    assert "usage_requests_per_poll=8 usage_poll_interval=1h " in lines[0]
    # The repository report: today's and yesterday's, per target, hourly.
    assert "repositories_requests_per_poll=4 repositories_poll_interval=1h " in lines[0]
    assert "requests_per_hour=39 " in lines[0]  # 6 seat polls of 3, and 9 + 8 + 4
    # Measured: billing + 3 pages of 250 org seats + 1 enterprise page.
    assert "seat_requests_per_poll=5 " in lines[1]
    assert "rate_limit_per_hour=5000" in lines[1]
