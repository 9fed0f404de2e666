"""Usage tests' support: the fake API and its download host on two loopback origins, and what the
usage series should be, computed from the NDJSON rows independently of the exporter.

Tests fetch a report the way a person would (the report endpoint with the token, then each link
without it) and derive every figure straight from GitHub's documented fields: nothing here imports
the exporter's parsing or aggregation.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from exporter.demo.usage_world import REPORT_DELAY_HOURS, UsageWorld
from tests.fakegithub.fake_downloads import FakeDownloads, UsageReports
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.world import demo_github
from tests.support import TOKEN, ServedApp

Row = dict[str, Any]
COUNTERS = {
    "interactions": "user_initiated_interaction_count",
    "code_generations": "code_generation_activity_count",
    "code_acceptances": "code_acceptance_activity_count",
    "lines_suggested_added": "loc_suggested_to_add_sum",
    "lines_suggested_deleted": "loc_suggested_to_delete_sum",
    "lines_added": "loc_added_sum",
    "lines_deleted": "loc_deleted_sum",
}


def newest_report_day(now: datetime) -> date:
    """The newest day whose report the fake has out at ``now``: a day's report appears hours after it
    ends, so minutes after midnight UTC it is the day before yesterday."""
    return (now - timedelta(hours=REPORT_DELAY_HOURS)).date() - timedelta(days=1)


@dataclass
class UsageFakes:
    github: FakeGitHub
    downloads: FakeDownloads
    world: UsageWorld
    api: str
    download_url: str


def usage_fakes(world: UsageWorld, clock: Callable[[], float]) -> Iterator[UsageFakes]:
    """The demo's seats and ``world``'s reports from 127.0.0.1, the report files from 127.0.0.2."""
    demo = demo_github(clock())
    github = FakeGitHub(demo.orgs.values(), demo.enterprises.values(), token=TOKEN, clock=clock)
    downloads = FakeDownloads(world, clock=clock)
    with ServedApp(downloads, "127.0.0.2").running() as served_downloads:
        github.usage = UsageReports(world, served_downloads.url)
        with ServedApp(github).running() as served_api:
            yield UsageFakes(github, downloads, world, served_api.url, served_downloads.url)


@dataclass
class Reports:
    entity: list[Row]
    users: list[Row]
    user_teams: list[Row]


def fetch_reports(api: str, token: str, kind: str, name: str, day: str) -> Reports:
    prefix = "orgs" if kind == "org" else "enterprises"
    entity_report = "organization-1-day" if kind == "org" else "enterprise-1-day"
    found: dict[str, list[Row]] = {}
    with httpx.Client(timeout=30) as http:
        for key, report in (
            ("entity", entity_report),
            ("users", "users-1-day"),
            ("teams", "user-teams-1-day"),
        ):
            answer = http.get(
                f"{api}/{prefix}/{name}/copilot/metrics/reports/{report}",
                params={"day": day},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
            rows: list[Row] = []
            for link in answer.json()["download_links"]:
                download = http.get(link)
                assert download.status_code == 200
                rows += [json.loads(line) for line in download.content.splitlines() if line.strip()]
            found[key] = rows
    return Reports(found["entity"], found["users"], found["teams"])


def breakdown(
    entity: Row, name: str, keys: tuple[str, ...], field: str, top_n: int | None
) -> dict[tuple[str, ...], int]:
    """Sums of ``field`` by ``keys`` over a breakdown; with ``top_n``, each key cut to its top N."""
    items = entity.get(name, [])
    kept: list[set[str]] = []
    if top_n is not None:
        activity = (COUNTERS["interactions"], COUNTERS["code_generations"], COUNTERS["code_acceptances"])
        for key in keys:
            volume: Counter[str] = Counter()
            for item in items:
                volume[item[key]] += sum(item.get(f, 0) for f in activity)
            kept.append(set(sorted(volume, key=lambda k: (-volume[k], k))[:top_n]))
    sums: Counter[tuple[str, ...]] = Counter()
    for item in items:
        values = tuple(item[k] for k in keys)
        if top_n is not None:
            values = tuple(v if v in kept[i] else "other" for i, v in enumerate(values))
        sums[values] += item.get(field, 0)
    return dict(sums)


@dataclass
class TeamExpected:
    users: int
    active_users: int
    interactions: int
    acceptances: int
    ai_credits_used: float


def teams(reports: Reports) -> dict[str, TeamExpected]:
    """GitHub's documented join: user-teams inner join users on (user_id, day), grouped by team."""
    users = {(row["user_id"], row["day"]): row for row in reports.users}
    members: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for row in reports.user_teams:
        members[row["slug"]].add((row["user_id"], row["day"]))
    expected = {}
    for slug, keys in members.items():
        found = [users[k] for k in keys if k in users]
        expected[slug] = TeamExpected(
            users=len(found),
            active_users=sum(1 for u in found if u.get(COUNTERS["interactions"], 0) > 0),
            interactions=sum(u.get(COUNTERS["interactions"], 0) for u in found),
            acceptances=sum(u.get(COUNTERS["code_acceptances"], 0) for u in found),
            ai_credits_used=sum(u.get("ai_credits_used", 0) for u in found),
        )
    return expected
