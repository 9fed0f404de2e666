"""What one hostile usage report can cost: labels cut to the top N, files and records per report bounded.

The exporter's real wiring runs in-process (tests/inprocess.py) against the fake API and its download
host on loopback; the download host rewrites the report files (a hostile blob store) or the report
endpoint lists links of its choosing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import Fault
from tests.inprocess import ManualClock, metrics, usage_exporter
from tests.support import Labels, value
from tests.test_hostile_numbers import Rows, rewrite_rows
from tests.usage_support import UsageFakes, usage_fakes

pytestmark = pytest.mark.e2e
START = datetime(2026, 7, 15, 10, 0, tzinfo=UTC).timestamp()
ORG = {"org": DEMO_ORG, "enterprise": ""}
TOP_N = 20
Parsed = dict[str, dict[Labels, float]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fakes(clock: ManualClock) -> Iterator[UsageFakes]:
    yield from usage_fakes(demo_usage(START), clock)


def _run(
    fakes: UsageFakes,
    clock: ManualClock,
    scenario: Callable[[Exporter], Awaitable[None]],
    **usage: Any,
) -> None:
    async def main() -> None:
        exporter = usage_exporter(
            fakes.api, [DEMO_ORG], [DEMO_ENTERPRISE], clock, usage=usage, download_url=fakes.download_url
        )
        try:
            await scenario(exporter)
        finally:
            await exporter.client.aclose()

    asyncio.run(main())


def _series(parsed: Parsed, name: str) -> dict[Labels, float]:
    return {k: v for k, v in parsed.get(name, {}).items() if set(ORG.items()) <= set(k)}


# -- every open-ended label is cut to the top N ---------------------------------------------------

IDES = 5000
FEATURES = 5000
COMMENT_TYPES = 3000


def _thousands_of_names(rows: Rows) -> None:
    (row,) = rows
    row["totals_by_ide"] = [{"ide": f"ide-{i}", "code_generation_activity_count": i} for i in range(IDES)]
    row["totals_by_feature"] = [
        {"feature": f"feature-{i}", "code_acceptance_activity_count": 1} for i in range(FEATURES)
    ]
    row["totals_by_model_feature"] = [
        {"model": f"m{i % 3}", "feature": f"f{i}", "user_initiated_interaction_count": 2} for i in range(300)
    ]
    row["pull_requests"]["copilot_suggestions_by_comment_type"] = [
        {"comment_type": f"type-{i}", "total_copilot_suggestions": i, "total_copilot_applied_suggestions": 1}
        for i in range(COMMENT_TYPES)
    ]


def test_ides_features_and_comment_types_beyond_the_top_n_are_summed_as_other(
    fakes: UsageFakes, clock: ManualClock
) -> None:
    fakes.downloads.rewrite = rewrite_rows(f"/org/{DEMO_ORG}/entity/", _thousands_of_names)

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="usage", **ORG) == 1
        by_ide = _series(parsed, "github_copilot_usage_code_generations_by_ide")
        assert len(by_ide) == TOP_N + 1
        assert sum(by_ide.values()) == sum(range(IDES))  # the total is exact
        assert value(parsed, "github_copilot_usage_code_generations_by_ide", ide="other", **ORG) == sum(
            range(IDES - TOP_N)
        )
        by_feature = _series(parsed, "github_copilot_usage_code_acceptances_by_feature")
        assert len(by_feature) == TOP_N + 1
        assert sum(by_feature.values()) == FEATURES
        by_model = _series(parsed, "github_copilot_usage_interactions_by_model_feature")
        # The 20 features kept (each of one model) and "other" for each of the three models.
        assert len(by_model) == TOP_N + 3
        assert sum(by_model.values()) == 2 * 300
        family = "github_copilot_usage_pull_request_copilot_{}suggestions_by_comment_type"
        suggested, applied = _series(parsed, family.format("")), _series(parsed, family.format("applied_"))
        assert sum(suggested.values()) == sum(range(COMMENT_TYPES))
        assert sum(applied.values()) == COMMENT_TYPES
        top = {f"type-{i}" for i in range(COMMENT_TYPES - TOP_N, COMMENT_TYPES)}
        for series in (suggested, applied):
            assert {dict(labels)["comment_type"] for labels in series} == {"other", *top}

    _run(fakes, clock, scenario)


# -- files and records per report -----------------------------------------------------------------


def _links(change: Callable[[list[str]], list[str]]) -> Callable[[Any], Any]:
    def mutate(body: Any) -> Any:
        body["download_links"] = change(body["download_links"])
        return body

    return mutate


def _assert_failed_as_malformed(parsed: Parsed) -> None:
    assert value(parsed, "github_copilot_up", source="usage", **ORG) == 0
    reason = "malformed_response"
    assert value(parsed, "github_copilot_poll_failures_total", source="usage", reason=reason, **ORG) == 1


def _status(exporter: Exporter) -> Any:
    return exporter.state.statuses[("usage", Target("org", DEMO_ORG))]


def test_a_report_listing_more_files_than_the_limit_fails_as_malformed_without_downloading(
    fakes: UsageFakes, clock: ManualClock
) -> None:
    many = _links(lambda links: [f"{links[0]}&copy={n}" for n in range(61)])
    fakes.github.faults.append(Fault(f"^/orgs/{DEMO_ORG}/copilot/metrics/reports/users-1-day$", mutate=many))

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        _assert_failed_as_malformed(parsed)
        assert "61 files" in _status(exporter).error_message
        assert "usage.max_files_per_report" in _status(exporter).error_message
        assert not [r for r in fakes.downloads.requests if f"/org/{DEMO_ORG}/users/" in r.path]
        assert value(parsed, "github_copilot_up", source="seats", **ORG) == 1

    _run(fakes, clock, scenario, max_files_per_report=60)


def test_a_repeated_link_counts_and_is_read_once(fakes: UsageFakes, clock: ManualClock) -> None:
    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        good = await metrics(exporter)
        clock.advance(3 * 3600)
        fakes.github.faults.append(
            Fault(
                f"^/orgs/{DEMO_ORG}/copilot/metrics/reports/users-1-day$",
                mutate=_links(lambda links: links * 50),
            )
        )
        read = len(fakes.downloads.requests)
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="usage", **ORG) == 1
        users = [r for r in fakes.downloads.requests[read:] if f"/org/{DEMO_ORG}/users/" in r.path]
        assert len(users) == len({r.path + r.query for r in users})  # each file read once
        # Read twice, each user's figures would count twice.
        name = "github_copilot_usage_users_reported"
        assert value(parsed, name, **ORG) == value(good, name, **ORG)
        assert (
            _series(parsed, "github_copilot_user_interactions").keys()
            == _series(good, "github_copilot_user_interactions").keys()
        )

    _run(fakes, clock, scenario, max_files_per_report=2)


def test_a_report_with_more_records_than_the_limit_fails_as_malformed(
    fakes: UsageFakes, clock: ManualClock
) -> None:
    fakes.world.rows_per_file = 40

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        _assert_failed_as_malformed(parsed)
        message = _status(exporter).error_message
        assert "users report" in message
        assert "usage.max_records_per_report" in message
        # The enterprise's report (140 users) is under the limit.
        assert value(parsed, "github_copilot_up", source="usage", org="", enterprise=DEMO_ENTERPRISE) == 1

    _run(fakes, clock, scenario, max_records_per_report=150)
