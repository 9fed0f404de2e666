"""The repository report source end to end: the fake's repos-1-day over HTTP, the exporter in-process."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from exporter.cli import parse_args
from exporter.demo.fake_repos import RepoDownloads, RepoReports, RepoWorld
from exporter.demo.usage_world import UsageWorld
from exporter.demo.world import demo_github
from exporter.errors import ConfigError
from exporter.github.auth import StaticToken
from exporter.github.client import GitHubClient
from exporter.wiring import build_config, build_sources
from tests.fakegithub.fake_downloads import FakeDownloads
from tests.fakegithub.fake_github import FakeGitHub
from tests.inprocess import ManualClock, make_config, make_exporter, metrics
from tests.support import NOW, TOKEN, ServedApp

pytestmark = pytest.mark.e2e
ORG = "octodemo"
TOP_N = 7
COUNTS = {
    "total_created": "created",
    "total_reviewed": "reviewed",
    "total_merged": "merged",
    "total_created_by_copilot": "created_by_copilot",
    "total_merged_created_by_copilot": "merged_created_by_copilot",
}


@pytest.fixture
def served() -> Iterator[tuple[str, str, RepoDownloads]]:
    world = RepoWorld(repos_per_entity=60, rows_per_file=10, entities={"org": {ORG}, "enterprise": set()})
    downloads = RepoDownloads(world, FakeDownloads(UsageWorld(now=NOW)))
    demo = demo_github(NOW.timestamp())
    github = FakeGitHub(demo.orgs.values(), [], token=TOKEN, clock=lambda: NOW.timestamp())
    with ServedApp(downloads, "127.0.0.2").running() as host:
        github.usage = RepoReports(world, host.url)  # type: ignore[assignment]
        with ServedApp(github).running() as api:
            yield api.url, host.url, downloads


def _served_rows(api: str, day: str) -> list[dict[str, object]]:
    """The report as a person reads it: the endpoint with the token, each link without it."""
    with httpx.Client() as http:
        answer = http.get(
            f"{api}/orgs/{ORG}/copilot/metrics/reports/repos-1-day",
            params={"day": day},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 200
        links = answer.json()["download_links"]
        assert len(links) > 1  # several files
        return [json.loads(line) for link in links for line in http.get(link).content.splitlines()]


def test_repository_families_equal_a_computation_over_the_ndjson_served(
    served: tuple[str, str, RepoDownloads],
) -> None:
    api, host, _ = served
    config = make_config(
        {"org": [ORG], "api_url": api, "repositories_enabled": "true"},
        {"usage": {"allowed_download_hosts": [host]}, "repositories": {"top_n": TOP_N}},
    )

    async def scenario() -> dict[str, dict[frozenset[tuple[str, str]], float]]:
        exporter = make_exporter(api, config, clock=ManualClock(NOW.timestamp()))
        try:
            await exporter.poller.poll_once()
            return await metrics(exporter)
        finally:
            await exporter.client.aclose()

    parsed = asyncio.run(scenario())
    day_series = parsed["github_copilot_repository_report_day_timestamp_seconds"]
    (stamp,) = day_series.values()
    day = datetime.fromtimestamp(stamp, UTC).date()
    rows = _served_rows(api, day.isoformat())
    assert parsed["github_copilot_repository_reported_repositories"] == {
        frozenset({("enterprise", ""), ("org", ORG)}): len(rows)
    }

    def prs(row: dict[str, object], key: str) -> int:
        return int(row["pull_requests"].get(key) or 0)  # type: ignore[attr-defined]

    activity = {
        f"{r['repo_owner_name']}/{r['repo_name']}": sum(prs(r, k) for k in COUNTS if k in ACTIVITY)
        for r in rows
    }
    top = set(sorted(activity, key=lambda name: (-activity[name], name))[:TOP_N])
    for key, suffix in COUNTS.items():
        expected: Counter[tuple[str, str]] = Counter()
        for row in rows:
            name = f"{row['repo_owner_name']}/{row['repo_name']}"
            expected[(name if name in top else "other", str(row["repo_visibility"]).lower())] += prs(row, key)
        got = {
            (dict(labels)["repository"], dict(labels)["visibility"]): v
            for labels, v in parsed[f"github_copilot_repository_pull_requests_{suffix}"].items()
        }
        assert got == dict(expected)
        # The totals are exact through "other".
        assert sum(got.values()) == sum(prs(row, key) for row in rows)
    medians = {
        dict(labels)["repository"]: v
        for labels, v in parsed["github_copilot_repository_pull_request_median_merge_seconds"].items()
        if dict(labels)["pull_requests"] == "all"
    }
    assert medians == {
        f"{r['repo_owner_name']}/{r['repo_name']}": r["pull_requests"]["median_minutes_to_merge"] * 60  # type: ignore[index]
        for r in rows
        if f"{r['repo_owner_name']}/{r['repo_name']}" in top
        and r["pull_requests"]["median_minutes_to_merge"] is not None  # type: ignore[index]
    }
    assert (
        parsed["github_copilot_up"][frozenset({("source", "repositories"), ("enterprise", ""), ("org", ORG)})]
        == 1
    )


ACTIVITY = ("total_created", "total_reviewed", "total_merged")


@pytest.mark.parametrize(
    ("file_data", "flags", "api_url", "built"),
    [
        ({}, {}, "https://api.github.com", True),
        ({}, {}, "https://api.acme.ghe.com", True),
        # auto: GitHub Enterprise Server has no usage-metrics reports.
        ({}, {}, "https://github.acme.internal/api/v3", False),
        ({"enabled": True}, {}, "https://github.acme.internal/api/v3", True),
        ({"enabled": False}, {}, "https://api.github.com", False),
        ({"enabled": "true"}, {"repositories_enabled": "false"}, "https://api.github.com", False),
        ({}, {"repositories_enabled": "true"}, "https://github.acme.internal/api/v3", True),
        # top_n 0 turns it off whatever enabled says.
        ({"enabled": "true", "top_n": 0}, {}, "https://api.github.com", False),
    ],
)
def test_the_source_has_its_own_switch(
    file_data: dict[str, object], flags: dict[str, str], api_url: str, built: bool
) -> None:
    # The usage source's switch does not decide it, either way.
    for usage in ("true", "false"):
        config = build_config(
            {"org": [ORG], "api_url": api_url, "usage_enabled": usage, **flags},
            {"repositories": file_data},
            {"GITHUB_TOKEN": TOKEN},
        )
        client = GitHubClient(api_url, StaticToken(TOKEN))
        assert ("repositories" in [s.name for s in build_sources(config, client)]) is built


def test_the_flag_is_on_the_command_line() -> None:
    assert parse_args(["--repositories.enabled", "false"])["repositories_enabled"] == "false"


def test_config_errors_name_the_key() -> None:
    with pytest.raises(
        ConfigError, match=r"^repositories\.enabled: 'sometimes' is not one of auto, true, false"
    ):
        make_config({"org": [ORG], "repositories_enabled": None}, {"repositories": {"enabled": "sometimes"}})
    with pytest.raises(ConfigError, match=r"^repositories\.top_n: must be a whole number from 0 to 1000"):
        make_config({"org": [ORG]}, {"repositories": {"top_n": -1}})
    with pytest.raises(ConfigError, match=r"^repositories\.colour: unknown key"):
        make_config({"org": [ORG]}, {"repositories": {"colour": 1}})
    with pytest.raises(ConfigError, match=r"^repositories\.poll_interval"):
        make_config({"org": [ORG]}, {"repositories": {"poll_interval": "5s"}})
