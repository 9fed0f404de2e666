"""Giant numbers in GitHub's answers: rejected where they are read, and never able to fail a scrape.

A JSON integer of 400 digits is valid JSON and a Python int, but no float (a Prometheus sample) can
hold it; ``1e308`` is a float, but two of them sum to ``+Inf``. Every number read from GitHub is
checked against one documented range (exporter/github/answers.py), so such an answer fails its poll
as ``malformed_response`` naming the field, the last good data stays, and the other sources are
untouched. The exposition checks every family anyway: a family that cannot be rendered is left out
of the scrape (logged and counted) instead of answering 500 for every source.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.privacy import UserLabels
from exporter.sources.base import Source
from exporter.sources.billing.source import BillingSource
from exporter.sources.seats import SeatSource
from exporter.web.server import Exporter
from tests.backfill_support import HistoryFakes, day_stamp, days, history_fakes
from tests.fakegithub.fake_github import FakeGitHub, Fault
from tests.inprocess import (
    ManualClock,
    make_config,
    make_exporter,
    metrics,
    run_scenario,
    scrape,
    usage_exporter,
)
from tests.support import NOW as SUPPORT_NOW
from tests.support import TOKEN, ServedFake, run_exporter_cli, serve_fake, standard_dataset, value
from tests.test_billing_end_to_end import billing_world
from tests.usage_support import UsageFakes, usage_fakes

pytestmark = pytest.mark.e2e
GIANT = 10**400
START = datetime(2026, 7, 15, 10, 0, tzinfo=UTC).timestamp()
ORG = {"org": DEMO_ORG, "enterprise": ""}
Rows = list[dict[str, Any]]


def rewrite_rows(fragment: str, change: Callable[[Rows], None]) -> Callable[[str, bytes], bytes]:
    """A download rewrite: the NDJSON rows of files whose path holds ``fragment``, changed."""

    def rewrite(path: str, body: bytes) -> bytes:
        if fragment not in path:
            return body
        rows = [json.loads(line) for line in body.splitlines() if line.strip()]
        change(rows)
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)

    return rewrite


# -- usage reports ----------------------------------------------------------------------------------


def _giant_count(rows: Rows) -> None:
    rows[0]["user_initiated_interaction_count"] = GIANT


def _breakdown_of_two_huge_floats(rows: Rows) -> None:
    (row,) = rows
    row["totals_by_ide"] = [
        {"ide": "vscode", "code_generation_activity_count": 1e308},
        {"ide": "vscode", "code_generation_activity_count": 1e308},
    ]


def _huge_credits(rows: Rows) -> None:
    for row in rows:
        row["ai_credits_used"] = 1e308


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fakes(clock: ManualClock) -> Iterator[UsageFakes]:
    yield from usage_fakes(demo_usage(START), clock)


@pytest.mark.parametrize(
    ("report", "change", "field"),
    [
        ("users", _giant_count, "user_initiated_interaction_count"),
        ("entity", _breakdown_of_two_huge_floats, "code_generation_activity_count"),
        ("users", _huge_credits, "ai_credits_used"),
    ],
    ids=["400-digit-count", "two-1e308-in-a-breakdown", "1e308-credits-per-user"],
)
def test_a_giant_usage_number_fails_the_poll_as_malformed_and_every_scrape_still_answers(
    fakes: UsageFakes, clock: ManualClock, report: str, change: Callable[[Rows], None], field: str
) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        good = await metrics(exporter)
        clock.advance(3 * 3600)  # new links: the files are read again, now hostile
        fakes.downloads.rewrite = rewrite_rows(f"/org/{DEMO_ORG}/{report}/", change)
        await exporter.poller.poll_once()
        for accept in ("text/plain", "application/openmetrics-text; version=1.0.0"):
            response = await scrape(exporter, headers={"accept": accept})
            assert response.status_code == 200, response.text
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="usage", **ORG) == 0
        reason = "malformed_response"
        assert value(parsed, "github_copilot_poll_failures_total", source="usage", reason=reason, **ORG) == 1
        status = exporter.state.statuses[("usage", Target("org", DEMO_ORG))]
        assert field in status.error_message
        # The last good day stays; the enterprise and the seats are untouched.
        name = "github_copilot_usage_code_generations"
        assert value(parsed, name, **ORG) == value(good, name, **ORG)
        assert value(parsed, "github_copilot_up", source="usage", org="", enterprise=DEMO_ENTERPRISE) == 1
        assert value(parsed, "github_copilot_up", source="seats", **ORG) == 1
        assert all(v == v and abs(v) != float("inf") for family in parsed.values() for v in family.values())

    async def main() -> None:
        exporter = usage_exporter(
            fakes.api, [DEMO_ORG], [DEMO_ENTERPRISE], clock, download_url=fakes.download_url
        )
        try:
            await scenario(exporter)
        finally:
            await exporter.client.aclose()

    asyncio.run(main())


# -- billing ----------------------------------------------------------------------------------------


@pytest.fixture
def billing_fake() -> Iterator[ServedFake]:
    data = standard_dataset(org_seats=30)
    with serve_fake(
        FakeGitHub([data.org], [data.enterprise], token=TOKEN, billing=billing_world(SUPPORT_NOW.timestamp()))
    ) as served:
        yield served


def _set_items(key: str, number: float) -> Callable[[Any], Any]:
    def mutate(body: Any) -> Any:
        for item in body["usageItems"][:2]:
            item[key] = number
        return body

    return mutate


@pytest.mark.parametrize(
    ("key", "number"),
    [("grossAmount", GIANT), ("netAmount", 1e308), ("netQuantity", float("inf"))],
    ids=["400-digit-amount", "two-1e308-amounts", "infinite-quantity"],
)
def test_a_giant_billing_amount_fails_the_poll_as_malformed_not_internal(
    billing_fake: ServedFake, key: str, number: float, caplog: pytest.LogCaptureFixture
) -> None:
    path = "^/organizations/acme/settings/billing/usage/summary$"
    billing_fake.app.faults.append(Fault(path, mutate=_set_items(key, number), times=None))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        response = await scrape(exporter)
        assert response.status_code == 200, response.text
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="billing", org="acme") == 0
        reason = "malformed_response"
        assert value(parsed, "github_copilot_poll_error_info", source="billing", org="acme", reason=reason)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        status = exporter.state.statuses[("billing", Target("org", "acme"))]
        assert key in status.error_message

    with caplog.at_level(logging.DEBUG):
        run_scenario(billing_fake.url, make_config({"org": ["acme"], "api_url": billing_fake.url}), scenario)
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


# -- the exposition's own check ---------------------------------------------------------------------


class _HostileSource:
    """A source whose families a bug (or data no parser caught) made unrenderable."""

    interval = 60.0

    def __init__(self, name: str, targets: tuple[Target, ...], families: Callable[[], Iterable[Metric]]):
        self.name = name
        self.targets = targets
        self._families = families

    async def fetch(self, target: Target, previous: object | None) -> object:
        return object()

    def families(self, snapshots: Sequence[object], now: float) -> Iterable[Metric]:
        return self._families()

    def prepare(self, snapshots: Sequence[object]) -> None:
        pass

    def describe_snapshot(self, snapshot: object) -> str:
        return "hostile"


def _giant_families() -> Iterator[Metric]:
    fine = GaugeMetricFamily("github_copilot_test_fine", "A renderable family.", labels=["x"])
    fine.add_metric(["a"], 1.0)
    giant = GaugeMetricFamily("github_copilot_test_giant", "A 400-digit sample.", labels=["x"])
    giant.add_metric(["a"], 1.0)
    giant.add_metric(["b"], GIANT)
    infinite = GaugeMetricFamily("github_copilot_test_infinite", "An infinite sample.")
    infinite.add_metric([], float("inf"))
    yield from (fine, giant, infinite)


def _raising_families() -> Iterator[Metric]:
    yield GaugeMetricFamily("github_copilot_test_half", "Yielded before the failure.", value=1.0)
    raise ValueError("a bug")


def test_a_family_that_cannot_be_rendered_is_left_out_logged_and_counted(
    billing_fake: ServedFake, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config({"org": ["acme"], "api_url": billing_fake.url})

    async def main() -> None:
        base = make_exporter(billing_fake.url, config)
        targets = config.targets
        sources: list[Source[Any]] = [
            SeatSource(config, base.client, UserLabels(config)),
            BillingSource(config, base.client),
            _HostileSource("giant", targets, _giant_families),
            _HostileSource("raising", targets, _raising_families),
        ]
        exporter = Exporter(config, base.client, sources)
        try:
            await exporter.poller.poll_once()
            for accept in ("text/plain", "application/openmetrics-text; version=1.0.0"):
                for encoding in ("identity", "gzip"):
                    headers = {"accept": accept, "accept-encoding": encoding}
                    assert (await scrape(exporter, headers=headers)).status_code == 200
            parsed = await metrics(exporter)
        finally:
            await exporter.client.aclose()
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert value(parsed, "github_copilot_test_fine", x="a") == 1
        for left_out in (
            "github_copilot_test_giant",
            "github_copilot_test_infinite",
            "github_copilot_test_half",
        ):
            assert left_out not in parsed
        dropped = "github_copilot_exposition_families_dropped_total"
        assert value(parsed, dropped, source="giant") == 2 * 5  # two families, in each of five scrapes
        assert value(parsed, dropped, source="raising") == 5
        assert value(parsed, dropped, source="seats") == 0

    with caplog.at_level(logging.WARNING, logger="exporter.collector"):
        asyncio.run(main())
    families = {getattr(r, "family", "") for r in caplog.records if r.name == "exporter.collector"}
    assert {"github_copilot_test_giant", "github_copilot_test_infinite"} <= families


# -- backfill ---------------------------------------------------------------------------------------

NOW = SUPPORT_NOW.timestamp()
LAST = datetime.fromtimestamp(NOW, UTC).date() - timedelta(days=4)


@pytest.fixture(scope="module")
def history() -> Iterator[HistoryFakes]:
    yield from history_fakes(NOW, LAST - timedelta(days=30), LAST - timedelta(days=30))


def test_backfill_fails_a_day_with_a_giant_number_cleanly_and_writes_the_others(
    history: HistoryFakes, tmp_path: Path
) -> None:
    first = LAST - timedelta(days=2)
    bad = first + timedelta(days=1)
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "organizations": [DEMO_ORG],
                "billing": {"enabled": False},
                "usage": {"allowed_download_hosts": [history.download_url]},
            }
        )
    )
    output = tmp_path / "out.om"
    args = ["backfill", "--config", str(config), "--github.api-url", history.api, "--usage.enabled=true",
            "--from", first.isoformat(), "--to", LAST.isoformat(), "--output", str(output)]  # fmt: skip
    history.downloads.rewrite = rewrite_rows(f"/org/{DEMO_ORG}/users/{bad.isoformat()}/", _giant_count)
    try:
        done = run_exporter_cli(args, {"GITHUB_TOKEN": TOKEN}, timeout=300)
    finally:
        history.downloads.rewrite = None
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert f"usage of org={DEMO_ORG} on {bad.isoformat()} failed: malformed_response" in done.stderr
    assert "user_initiated_interaction_count" in done.stderr
    text = output.read_text()
    stamps = [
        float(line.split()[-2])
        for line in text.splitlines()
        if line.startswith("github_copilot_usage_report_day_timestamp_seconds{")
    ]
    assert sorted(stamps) == [day_stamp(d) for d in days(first, LAST) if d != bad]
    assert not output.with_name("out.om.partial").exists()
