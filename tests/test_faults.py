"""GitHub failing, throttling and answering nonsense: no fault loses or falsifies data.

Most tests run the exporter's real components in-process (tests.inprocess) against the fake GitHub over
loopback HTTP, so that several polls fit in a test and waits take no real time; the subprocess tests
check what an operator sees: the log line and the metric.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml

from exporter.sources.seats.fetch import ENDPOINT_ENTERPRISE_SEATS, ENDPOINT_ORG_BILLING, ENDPOINT_ORG_SEATS
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import Fault
from tests.inprocess import ManualClock, Scenario, make_config, metrics, run_scenario, scrape
from tests.support import (
    NOW,
    REPO,
    Dataset,
    ServedFake,
    parse_exposition,
    serve_fake,
    start_exporter,
    total,
    value,
    wait_until,
)

ORG_SEATS = "^/orgs/acme/copilot/billing/seats$"
ORG_BILLING = "^/orgs/acme/copilot/billing$"
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW.timestamp())


@pytest.fixture
def fake(dataset: Dataset, clock: ManualClock) -> Iterator[ServedFake]:
    # The fake shares the manual clock, so that a rate limit resets when the exporter has waited for it.
    with serve_fake(dataset.app(clock=clock)) as served:
        yield served


def run(
    fake: ServedFake, clock: ManualClock, scenario: Scenario, *, org_only: bool = False, **kw: Any
) -> None:
    flags: dict[str, Any] = {"org": ["acme"], "api_url": fake.url}
    if not org_only:
        flags["enterprise"] = ["acme-corp"]
    run_scenario(fake.url, make_config(flags), scenario, clock=clock, **kw)


def requests_to(fake: ServedFake, pattern: str, page: int | None = None) -> int:
    """Requests whose path matches ``pattern`` (and, given ``page``, asked for that page)."""
    return sum(
        1
        for r in fake.app.requests
        if re.search(pattern, r.path)
        and (page is None or int(dict(parse_qsl(r.query)).get("page", "1")) == page)
    )


def poll_failures(records: list[logging.LogRecord], target: str) -> list[logging.LogRecord]:
    return [
        r
        for r in records
        if r.name == "exporter.poller"
        and r.levelno == logging.ERROR
        and getattr(r, "target", "") == target
        and getattr(r, "source", "") == "seats"
    ]


# -- 5xx and timeouts -------------------------------------------------------------------------------


def test_server_errors_are_retried_with_exponential_backoff_and_jitter(
    fake: ServedFake, clock: ManualClock
) -> None:
    fake.app.faults.append(Fault(ORG_SEATS, status=502, page=1, times=2))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert total(parsed, "github_copilot_seats", org="acme") == 250
        endpoint = "/orgs/{org}/copilot/billing/seats"
        assert value(parsed, "github_copilot_api_requests_total", endpoint=endpoint, code="502") == 2
        assert total(parsed, "github_copilot_poll_failures_total", source="seats") == 0

    run(fake, clock, scenario)
    assert requests_to(fake, ORG_SEATS, page=1) == 3
    # Back-off 1s then 2s, each with +-50% jitter.
    first, second = clock.slept
    assert 0.5 <= first <= 1.5
    assert 1.0 <= second <= 3.0


def test_a_page_that_keeps_failing_fails_only_its_target_and_the_last_good_data_stays(
    fake: ServedFake, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        good = await metrics(exporter)
        last_success = value(
            good, "github_copilot_last_success_timestamp_seconds", source="seats", org="acme"
        )

        fault = Fault(ORG_SEATS, status=500, page=2, times=None)
        fake.app.faults.append(fault)
        before = requests_to(fake, ORG_SEATS, page=2)
        await exporter.poller.poll_once()
        assert requests_to(fake, ORG_SEATS, page=2) - before == 3  # bounded: the retry policy's attempts
        failed = await metrics(exporter)
        assert value(failed, "github_copilot_up", source="seats", org="acme") == 0
        assert value(failed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1
        assert value(failed, "github_copilot_polls_total", source="seats", enterprise="acme-corp") == 2
        assert (
            value(
                failed,
                "github_copilot_poll_failures_total",
                source="seats",
                org="acme",
                reason="server_error",
            )
            == 1
        )
        # The last complete snapshot is still served, unchanged, and says how old it is.
        for name in (
            "github_copilot_seats",
            "github_copilot_seat_info",
            "github_copilot_seats_pending_cancellation",
        ):
            assert {k: v for k, v in failed[name].items() if ("org", "acme") in k} == {
                k: v for k, v in good[name].items() if ("org", "acme") in k
            }, name
        assert (
            value(failed, "github_copilot_last_success_timestamp_seconds", source="seats", org="acme")
            == last_success
        )
        assert value(failed, "github_copilot_snapshot_age_seconds", source="seats", org="acme") is not None
        assert (await scrape(exporter, "/readyz")).status_code == 200  # it has data to serve

        fault.times = 0
        await exporter.poller.poll_once()
        recovered = await metrics(exporter)
        assert value(recovered, "github_copilot_up", source="seats", org="acme") == 1
        assert (
            value(
                recovered,
                "github_copilot_poll_failures_total",
                source="seats",
                org="acme",
                reason="server_error",
            )
            == 1
        )

    with caplog.at_level(logging.INFO):
        run(fake, clock, scenario)
    assert len(poll_failures(caplog.records, "org=acme")) == 1
    assert any(r.getMessage() == "target recovered" for r in caplog.records)


def test_timeouts_fail_the_poll_with_reason_timeout(
    fake: ServedFake, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.app.faults.append(Fault(ORG_BILLING, delay=2.0, times=None))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 0
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason="timeout")
            == 1
        )
        assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1
        assert total(parsed, "github_copilot_api_requests_total", code="error") == 3

    run(fake, clock, scenario, timeout=0.3)
    (line,) = poll_failures(caplog.records, "org=acme")
    assert "timed out" in line.error  # type: ignore[attr-defined]


# -- rate limits ------------------------------------------------------------------------------------


def test_primary_rate_limit_waits_until_the_reset_then_continues(
    fake: ServedFake, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    start = clock.now
    fake.app.rate_remaining = 0
    fake.app.rate_reset = int(start) + 120

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1
        # A request sent before the first 403 came back meets the limit too; one sent after waits for the
        # reset without asking. Either way no request is refused twice.
        refused = [
            value(parsed, "github_copilot_api_requests_total", endpoint=endpoint, code="403") or 0
            for endpoint in (ENDPOINT_ORG_BILLING, ENDPOINT_ORG_SEATS, ENDPOINT_ENTERPRISE_SEATS)
        ]
        assert 1 <= sum(refused) <= 3
        assert max(refused) == 1

    run(fake, clock, scenario)
    # Every request waited for the reset (a second after it, for clock skew), and no longer.
    assert 119 <= max(clock.slept) <= 122, clock.slept
    assert int(start) + 120 <= clock.now <= start + 125
    pauses = [r for r in caplog.records if r.getMessage().startswith("rate limited by GitHub")]
    assert len(pauses) == 1  # one pause, not one line per request that ran into it


def test_a_rate_limit_longer_than_a_poll_should_wait_fails_fast_without_sending(
    fake: ServedFake, clock: ManualClock
) -> None:
    fake.app.rate_remaining = 0
    fake.app.rate_reset = int(clock.now) + 3600

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        for labels in ({"org": "acme"}, {"enterprise": "acme-corp"}):
            assert value(parsed, "github_copilot_up", source="seats", **labels) == 0
            assert (
                value(
                    parsed,
                    "github_copilot_poll_failures_total",
                    source="seats",
                    reason="rate_limited",
                    **labels,
                )
                == 1
            )
        assert clock.slept == []
        sent = len(fake.app.requests)

        clock.advance(600)  # the next scheduled poll: the limit has not reset, nothing is sent
        await exporter.poller.poll_once()
        assert len(fake.app.requests) == sent
        parsed = await metrics(exporter)
        assert (
            value(
                parsed,
                "github_copilot_poll_failures_total",
                source="seats",
                org="acme",
                reason="rate_limited",
            )
            == 2
        )

        clock.advance(3001)  # past the reset
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1

    run(fake, clock, scenario)


@pytest.mark.parametrize(
    ("status", "headers", "message", "wait"),
    [
        pytest.param(403, {"retry-after": "30"}, SECONDARY, 30, id="403-retry-after"),
        pytest.param(429, {"retry-after": "7"}, "", 7, id="429-retry-after"),
        pytest.param(403, {}, SECONDARY, 60, id="403-message-only"),
        pytest.param(429, {}, "", 60, id="429-bare"),
    ],
)
def test_secondary_rate_limit_is_honoured(
    fake: ServedFake, clock: ManualClock, status: int, headers: dict[str, str], message: str, wait: float
) -> None:
    body = {"message": message, "documentation_url": "https://docs.github.com"} if message else {}
    fake.app.faults.append(Fault(ORG_SEATS, status=status, body=body, headers=headers, page=1, times=1))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1

    run(fake, clock, scenario, org_only=True)
    assert clock.slept == [wait]


def test_repeated_secondary_rate_limits_back_off_exponentially(fake: ServedFake, clock: ManualClock) -> None:
    body = {"message": SECONDARY}
    fake.app.faults.append(Fault(ORG_SEATS, status=403, body=body, page=1, times=3))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1

    run(fake, clock, scenario, org_only=True)
    assert clock.slept == [60, 120, 240]


def test_waiting_out_a_rate_limit_uses_up_none_of_a_requests_attempts(
    fake: ServedFake, clock: ManualClock
) -> None:
    body = {"message": SECONDARY}
    fake.app.faults.append(Fault(ORG_SEATS, status=403, body=body, headers={"retry-after": "30"}, times=1))
    fake.app.faults.append(Fault(ORG_SEATS, status=502, page=1, times=2))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert total(parsed, "github_copilot_seats", org="acme") == 250

    run(fake, clock, scenario, org_only=True)
    # The pause, then the two 502s of three attempts, with the back-off of a first and second failure.
    assert requests_to(fake, ORG_SEATS, page=1) == 4
    pause, first, second = clock.slept
    assert pause == 30
    assert 0.5 <= first <= 1.5
    assert 1.0 <= second <= 3.0


# -- refusals: no retry storm, one clear line per state change ------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "reason", "hint"),
    [
        (401, "Bad credentials", "unauthorized", "the token is invalid or expired"),
        (403, "Resource not accessible by personal access token", "forbidden", "manage_billing:copilot"),
        (404, "Not Found", "not_found", "check the organization or enterprise name"),
        (
            422,
            "Copilot Business is not enabled for this organization",
            "unprocessable",
            "Copilot is not enabled",
        ),
    ],
)
def test_refusals_are_not_retried_and_logged_once_with_what_to_fix(
    fake: ServedFake,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    status: int,
    message: str,
    reason: str,
    hint: str,
) -> None:
    fake.app.faults.append(Fault("^/orgs/acme/", status=status, body={"message": message}, times=None))

    async def scenario(exporter: Exporter) -> None:
        for poll in (1, 2, 3):
            await exporter.poller.poll_once()
            assert requests_to(fake, "^/orgs/acme/") <= 2 * poll  # billing and first seat page, once each
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 0
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason=reason)
            == 3
        )
        assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1
        assert value(parsed, "github_copilot_polls_total", source="seats", enterprise="acme-corp") == 3

    with caplog.at_level(logging.INFO):
        run(fake, clock, scenario)
    assert clock.slept == []
    (line,) = poll_failures(caplog.records, "org=acme")
    assert line.reason == reason  # type: ignore[attr-defined]
    assert hint in line.error  # type: ignore[attr-defined]
    assert str(status) in line.error  # type: ignore[attr-defined]
    assert poll_failures(caplog.records, "enterprise=acme-corp") == []


def test_a_failed_half_of_an_org_poll_stops_the_other(fake: ServedFake, clock: ManualClock) -> None:
    fake.app.faults.append(
        Fault(ORG_BILLING, status=403, body={"message": "Must be an org owner"}, times=None)
    )
    fake.app.faults.append(Fault(ORG_SEATS, delay=0.5, page=1, times=None))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert (
            value(
                parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason="forbidden"
            )
            == 1
        )
        await asyncio.sleep(1.0)  # time enough for an abandoned seat list to go on to page 2

    run(fake, clock, scenario, org_only=True)
    assert requests_to(fake, ORG_SEATS, page=2) == 0  # the seat list was abandoned with the poll


def test_bad_token_process_logs_one_line_per_target_and_counts_the_reason(fake: ServedFake) -> None:
    bad_token = "ghp_WRONGtoken0000000000000000000000000000"
    args = ["--org", "acme", "--enterprise", "acme-corp", "--github.api-url", fake.url]
    with start_exporter(args, {"GITHUB_TOKEN": bad_token}, wait_ready=False) as running:
        parsed: dict[Any, Any] = {}

        def polled() -> bool:
            nonlocal parsed
            parsed = parse_exposition(running.metrics())
            return total(parsed, "github_copilot_polls_total", source="seats") >= 2

        wait_until(polled, 30, what="both targets polled")
        for target, labels in (
            ("org=acme", {"org": "acme"}),
            ("enterprise=acme-corp", {"enterprise": "acme-corp"}),
        ):
            assert value(parsed, "github_copilot_up", source="seats", **labels) == 0
            assert (
                value(
                    parsed,
                    "github_copilot_poll_failures_total",
                    source="seats",
                    reason="unauthorized",
                    **labels,
                )
                == 1
            )
            lines = [
                line
                for line in running.log().splitlines()
                if "poll failed" in line and "source=seats" in line and target in line
            ]
            assert len(lines) == 1, lines
            assert "level=error" in lines[0]
            assert "reason=unauthorized" in lines[0]
            assert "replace GITHUB_TOKEN or the token file" in lines[0]
        assert running.get("/readyz").status_code == 503
        landing = running.get("/").text
    log = running.log()
    assert bad_token not in log
    assert bad_token not in landing
    # No retries: each endpoint asked once (an org's seat list may be cut short by its billing's 401).
    refused = Counter(r.path for r in fake.app.requests if r.status == 401)
    assert set(refused.values()) == {1}, refused
    assert "/enterprises/acme-corp/copilot/billing/seats" in refused
    assert {"/orgs/acme/copilot/billing", "/orgs/acme/copilot/billing/seats"} & set(refused)


# -- malformed or surprising bodies ----------------------------------------------------------------


def _set(key: str, new: Any) -> Callable[[Any], Any]:
    def mutate(body: Any) -> Any:
        body = copy.deepcopy(body)
        body[key] = new(body[key]) if callable(new) else new
        return body

    return mutate


def _seats(change: Callable[[list[Any]], list[Any]]) -> Callable[[Any], Any]:
    return _set("seats", change)


def _drop_created_at(seats: list[Any]) -> list[Any]:
    del seats[0]["created_at"]
    return seats


MALFORMED = [
    pytest.param(
        Fault(ORG_SEATS, status=200, body=b'{"total_seats": 250, "seats": [', page=2),
        "malformed_response",
        id="invalid-json",
    ),
    pytest.param(
        Fault(
            ORG_SEATS,
            status=200,
            body=b"<html><body><h1>Unicorn!</h1>This page is taking too long</body></html>",
        ),
        "malformed_response",
        id="html-with-200",
    ),
    pytest.param(
        Fault(ORG_SEATS, status=200, body=b"[" * 100_000, page=3), "malformed_response", id="nested-too-deep"
    ),
    pytest.param(
        Fault(ORG_SEATS, mutate=lambda b: {"total_seats": b["total_seats"]}),
        "malformed_response",
        id="no-seats",
    ),
    pytest.param(Fault(ORG_SEATS, mutate=_set("seats", None), page=2), "malformed_response", id="seats-null"),
    pytest.param(
        Fault(ORG_SEATS, mutate=_set("total_seats", "250")), "malformed_response", id="total-is-a-string"
    ),
    pytest.param(
        Fault(ORG_SEATS, mutate=_seats(lambda s: ["seat", *s[1:]]), page=2),
        "malformed_response",
        id="seat-not-an-object",
    ),
    pytest.param(
        Fault(ORG_SEATS, mutate=_seats(_drop_created_at), page=3),
        "malformed_response",
        id="seat-without-created-at",
    ),
    pytest.param(Fault(ORG_BILLING, mutate=lambda b: [b]), "malformed_response", id="billing-a-list"),
    pytest.param(
        Fault(ORG_SEATS, mutate=_set("total_seats", 251), page=2, times=None),
        "inconsistent",
        id="total-changes-between-pages",
    ),
    pytest.param(
        Fault(ORG_SEATS, mutate=_set("total_seats", 240), times=None),
        "inconsistent",
        id="total-disagrees-with-pages",
    ),
    pytest.param(
        Fault(ORG_SEATS, mutate=_seats(lambda s: s[:10]), page=2, times=None),
        "inconsistent",
        id="page-truncated",
    ),
    pytest.param(
        Fault(ORG_SEATS, mutate=_seats(lambda s: [s[0], *s[:-1]]), page=2, times=None),
        "inconsistent",
        id="duplicate-user",
    ),
]


@pytest.mark.parametrize(("fault", "reason"), MALFORMED)
def test_malformed_answers_never_replace_the_last_good_snapshot(
    fake: ServedFake, clock: ManualClock, fault: Fault, reason: str
) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        good = (await scrape(exporter)).text
        fake.app.faults.append(copy.copy(fault))  # the parameter is shared; its `times` counts down
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 0
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason=reason)
            == 1
        )
        assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1
        before = parse_exposition(good)
        for name in (
            "github_copilot_seats",
            "github_copilot_seats_without_activity",
            "github_copilot_seat_info",
        ):
            assert parsed[name] == before[name], name
        assert total(parsed, "github_copilot_seats", org="acme") == 250

    run(fake, clock, scenario)


@pytest.mark.parametrize(("fault", "reason"), MALFORMED[:4])
def test_malformed_first_answer_publishes_nothing(
    fake: ServedFake, clock: ManualClock, fault: Fault, reason: str
) -> None:
    fake.app.faults.append(copy.copy(fault))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason=reason)
            == 1
        )
        assert total(parsed, "github_copilot_seats", org="acme") == 0
        assert not any(("org", "acme") in k for k in parsed.get("github_copilot_seat_info", {}))
        assert value(parsed, "github_copilot_snapshot_age_seconds", source="seats", org="acme") is None
        assert (await scrape(exporter, "/readyz")).status_code == 503

    run(fake, clock, scenario)


def test_a_seat_list_that_changed_while_read_is_read_once_more_and_served(
    fake: ServedFake, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exporter.sources.seats")
    # A seat granted between two pages: page 2 counts one more seat than page 1, once.
    fake.app.faults.append(Fault(ORG_SEATS, mutate=_set("total_seats", 251), page=2, times=1))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert total(parsed, "github_copilot_seats", org="acme") == 250
        assert total(parsed, "github_copilot_poll_failures_total", source="seats") == 0

    run(fake, clock, scenario, org_only=True)
    assert requests_to(fake, ORG_SEATS, page=1) == 2
    (line,) = [r for r in caplog.records if r.getMessage().startswith("seat list changed during the poll")]
    assert line.target == "org=acme"  # type: ignore[attr-defined]
    assert "total_seats changed between pages" in line.detail  # type: ignore[attr-defined]
    assert clock.slept == []  # read again at once


# -- stale data is visible ---------------------------------------------------------------------------


def test_snapshot_age_grows_while_polls_fail_and_an_alert_watches_it(
    fake: ServedFake, clock: ManualClock
) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        first = value(
            await metrics(exporter), "github_copilot_snapshot_age_seconds", source="seats", org="acme"
        )
        fake.app.faults.append(Fault(ORG_SEATS, status=503, times=None))
        await exporter.poller.poll_once()
        await asyncio.sleep(0.05)
        second = value(
            await metrics(exporter), "github_copilot_snapshot_age_seconds", source="seats", org="acme"
        )
        assert first is not None
        assert second is not None
        assert second > first

    run(fake, clock, scenario)
    rules = yaml.safe_load(Path(REPO, "deploy/prometheus/copilot-rules.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    stale = ("github_copilot_snapshot_age_seconds", "github_copilot_last_success_timestamp_seconds")
    assert any(name in e for e in exprs for name in stale), exprs
