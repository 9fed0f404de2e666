"""No exposition ever holds two series with the same labels, whatever names GitHub sends.

Prometheus and promtool drop one of two identical series. Names collide in real data: an account
renamed (its old and new user ids under one login), logins cut at 256 characters, logins equal but
for case (one pseudonym under hashing), team slugs of two organizations of an enterprise, and a
renamed ``x#2`` beside a real team ``x#2``. Each scrape here is parsed with every sample kept.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.exposition import FamilyList
from exporter.privacy import UserLabels
from exporter.sources.usage.aggregate import UsageAggregator
from exporter.sources.usage.metrics import usage_families
from exporter.web.server import Exporter
from tests.fakegithub.fake_github import Fault
from tests.inprocess import ManualClock, scrape, usage_exporter
from tests.test_hostile_numbers import Rows, rewrite_rows
from tests.test_properties import check_invariants, config, snapshot_of
from tests.usage_support import UsageFakes, usage_fakes

START = datetime(2026, 7, 15, 10, 0, tzinfo=UTC).timestamp()
LONG = "l" * 300  # cut to 256 characters: two such logins are one label
HASH_KEY = "unique-series-test-hash-key"


def duplicates(text: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every (sample name, labels) that occurs more than once in exposition ``text``."""
    seen: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            seen[(sample.name, tuple(sorted(sample.labels.items())))] += 1
    return [key for key, count in seen.items() if count > 1]


def series(text: str, name: str, label: str) -> list[str]:
    return [
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels.get("org") == DEMO_ORG
    ]


# -- through the exporter ---------------------------------------------------------------------------


def _colliding_logins(rows: Rows) -> None:
    first = rows[0]["user_login"]
    rows[1]["user_login"] = first  # a renamed account: another id, the same login
    rows[2]["user_login"] = first.upper()  # the same login but for case
    rows[3]["user_login"] = LONG + "a"
    rows[4]["user_login"] = LONG + "b"


def _colliding_slugs(rows: Rows) -> None:
    template = rows[0]
    for team_id, slug in ((2, "x"), (3, "x"), (4, "x#2")):
        rows.append({**template, "team_id": team_id, "slug": slug})


@pytest.fixture
def fakes() -> Iterator[UsageFakes]:
    yield from usage_fakes(demo_usage(START), ManualClock(START))


def _seat_login_twice(body: Any) -> Any:
    seats = body["seats"]
    seats[1]["assignee"]["login"] = seats[0]["assignee"]["login"]
    return body


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["login", "hashed"])
def test_colliding_logins_and_slugs_give_distinct_series(fakes: UsageFakes, mode: str) -> None:
    fakes.downloads.rewrite = lambda path, body: rewrite_rows("/users/", _colliding_logins)(
        path, rewrite_rows("/user_teams/", _colliding_slugs)(path, body)
    )
    fakes.github.faults.append(
        Fault(f"^/orgs/{DEMO_ORG}/copilot/billing/seats$", mutate=_seat_login_twice, page=1, times=None)
    )
    clock = ManualClock(START)

    async def main() -> str:
        exporter: Exporter = usage_exporter(
            fakes.api, [DEMO_ORG], [DEMO_ENTERPRISE], clock, flags={"seat_metrics": mode},
            env={"GITHUB_COPILOT_EXPORTER_HASH_KEY": HASH_KEY}, download_url=fakes.download_url,
        )  # fmt: skip
        try:
            await exporter.poller.poll_once()
            response = await scrape(exporter)
            assert response.status_code == 200
            return response.text
        finally:
            await exporter.client.aclose()

    text = asyncio.run(main())
    assert duplicates(text) == []
    teams = series(text, "github_copilot_usage_team_users", "team")
    assert {"x#3", "x#2", "x#2#2"} <= set(teams)
    users = series(text, "github_copilot_user_interactions", "user")
    assert len(users) == len(set(users)) > 5
    seats = series(text, "github_copilot_seat_info", "user")
    assert len(seats) == len(set(seats)) > 2


# -- as a property --------------------------------------------------------------------------------

DAY = date(2026, 7, 14)
TARGET = Target("enterprise", "acme-corp")
NAMES = st.sampled_from(["a", "A", "a#1", "a#2", "x", "x#2", "x#3", "x#2#2", LONG, LONG + "z", ""])


def _user_line(user_id: int, login: str) -> bytes:
    return (
        f'{{"user_id": {user_id}, "user_login": "{login}", "day": "{DAY}", '
        f'"user_initiated_interaction_count": {user_id % 7}, "ai_credits_used": {user_id % 3}}}'
    ).encode()


def _team_line(user_id: int, team_id: int, slug: str) -> bytes:
    return f'{{"user_id": {user_id}, "day": "{DAY}", "team_id": {team_id}, "slug": "{slug}"}}'.encode()


@settings(max_examples=200, deadline=None)
@given(
    users=st.dictionaries(st.integers(1, 40), NAMES, max_size=12),
    teams=st.dictionaries(st.integers(1, 40), NAMES, max_size=8),
    mode=st.sampled_from(["login", "hashed"]),
)
def test_usage_series_are_unique_whatever_the_logins_and_slugs(
    users: dict[int, str], teams: dict[int, str], mode: str
) -> None:
    aggregator = UsageAggregator(DAY)
    aggregator.feed_entity_line(f'{{"day": "{DAY}"}}'.encode())
    for user_id, login in users.items():
        aggregator.feed_user_line(_user_line(user_id, login))
    for team_id, slug in teams.items():
        for user_id in list(users)[:3] or [99]:
            aggregator.feed_team_line(_team_line(user_id, team_id, slug))
    snapshot = aggregator.finish(TARGET, final=True)
    labels = UserLabels(config(mode))
    families = list(usage_families([snapshot], user_label=labels, max_user_series=50_000))
    text = generate_latest(FamilyList(families)).decode()
    assert duplicates(text) == []
    assert len(snapshot.teams) == len(teams)


SEAT_LOGINS = st.lists(
    st.tuples(st.integers(1, 30), NAMES.filter(bool)), max_size=12, unique_by=lambda t: t[0]
)


@settings(max_examples=200, deadline=None)
@given(seats=SEAT_LOGINS, mode=st.sampled_from(["login", "hashed"]))
def test_seat_series_are_unique_whatever_the_logins(seats: list[tuple[int, str]], mode: str) -> None:
    body = {
        "total_seats": len(seats),
        "seats": [
            {"created_at": "2026-01-01T00:00:00Z", "assignee": {"login": login, "id": user_id}}
            for user_id, login in seats
        ],
    }
    billing = {"seat_breakdown": {"total": len(seats)}, "plan_type": "business"}
    check_invariants(config(mode), snapshot_of(Target("org", "acme"), [body], billing))
