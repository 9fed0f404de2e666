"""``backfill`` of the repository report (``repos-1-day``): every day's written values against the
report files the fake served, read here with ``json`` and summed by hand; ``--repositories.enabled``.

The fake runs at a fixed moment and the backfill in this process on that day, so the days are the
same whenever the test runs.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG
from tests.backfill_support import HistoryFakes, day_stamp, days, history_fakes, run_backfill
from tests.support import TOKEN

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC).timestamp()
TODAY = datetime.fromtimestamp(NOW, UTC).date()
LAST = TODAY - timedelta(days=4)
FIRST = LAST - timedelta(days=5)
TOP_N = 4
TARGETS = (("org", DEMO_ORG), ("enterprise", DEMO_ENTERPRISE))
PREFIX = "github_copilot_repository_"
#: The record's count -> the family that carries it.
COUNTS = {
    "total_created": "pull_requests_created",
    "total_reviewed": "pull_requests_reviewed",
    "total_merged": "pull_requests_merged",
    "total_created_by_copilot": "pull_requests_created_by_copilot",
    "total_merged_reviewed_by_copilot": "pull_requests_merged_reviewed_by_copilot",
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[HistoryFakes]:
    yield from history_fakes(NOW, FIRST - timedelta(days=40), FIRST - timedelta(days=40))


def served_records(api: str, kind: str, name: str, day: date) -> list[dict[str, Any]]:
    """Every record of the day's repository report, through the endpoint and every file it links."""
    prefix = "orgs" if kind == "org" else "enterprises"
    with httpx.Client(timeout=30) as http:
        answer = http.get(
            f"{api}/{prefix}/{name}/copilot/metrics/reports/repos-1-day",
            params={"day": day.isoformat()},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 200, answer.text
        return [
            json.loads(line)
            for link in answer.json()["download_links"]
            for line in http.get(link).content.splitlines()
            if line.strip()
        ]


def written(output: Path) -> dict[tuple[str, float, str, str, str], float]:
    """(family, timestamp, target, repository, visibility) -> value of every repository sample, read
    from the OpenMetrics lines as they are (``name{labels} value timestamp``)."""
    found = {}
    for line in output.read_text().splitlines():
        if not line.startswith(PREFIX):
            continue
        name, _, rest = line.partition("{")
        label_text, _, numbers = rest.rpartition("} ")
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', label_text))
        value, stamp = (float(n) for n in numbers.split())
        target = labels["org"] or labels["enterprise"]
        visibility = labels.get("visibility", "")
        if "pull_requests" in labels:
            visibility += "/" + labels["pull_requests"]
        found[(name.removeprefix(PREFIX), stamp, target, labels.get("repository", ""), visibility)] = value
    return found


def activity(record: dict[str, Any]) -> int:
    prs = record.get("pull_requests", {})
    return sum(int(prs.get(k) or 0) for k in ("total_created", "total_reviewed", "total_merged"))


def test_each_days_repository_report_is_written_top_n_and_other_exact(
    fakes: HistoryFakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sections = {"repositories": {"top_n": TOP_N}}
    output = run_backfill(
        fakes, tmp_path, monkeypatch, FIRST, LAST, TODAY, "--no-per-user", sections=sections
    )
    values = written(output)
    checked = 0
    for kind, name in TARGETS:
        for day in days(FIRST, LAST):
            stamp = day_stamp(day) + 2 * 86400 - 1  # 23:59:59 UTC of the day after
            records = served_records(fakes.api, kind, name, day)
            assert len(records) > TOP_N  # some repositories go to "other"
            assert values[("report_day_timestamp_seconds", stamp, name, "", "")] == day_stamp(day)
            assert values[("reported_repositories", stamp, name, "", "")] == len(records)
            ranked = sorted(records, key=activity, reverse=True)
            named = {f"{r['repo_owner_name']}/{r['repo_name']}": r for r in ranked}
            shown = {key[3] for key in values if key[1] == stamp and key[2] == name and key[3]} - {"other"}
            assert len(shown) == TOP_N
            least_shown = min(activity(named[repo]) for repo in shown)
            rest = [r for repo, r in named.items() if repo not in shown]
            assert all(activity(r) <= least_shown for r in rest)
            for field, family in COUNTS.items():
                for repo in shown:
                    record = named[repo]
                    visibility = record["repo_visibility"].lower()
                    expected = record["pull_requests"].get(field) or 0
                    assert values[(family, stamp, name, repo, visibility)] == expected, (day, repo, field)
                other: dict[str, int] = defaultdict(int)
                for record in rest:
                    other[record["repo_visibility"].lower()] += record["pull_requests"].get(field) or 0
                for visibility, total in other.items():
                    assert values[(family, stamp, name, "other", visibility)] == total, (day, field)
                all_written = sum(v for k, v in values.items() if k[:3] == (family, stamp, name))
                assert all_written == sum(r["pull_requests"].get(field) or 0 for r in records)
                checked += 1
            for repo in shown:
                median = named[repo]["pull_requests"].get("median_minutes_to_merge")
                key = ("pull_request_median_merge_seconds", stamp, name, repo,
                       f"{named[repo]['repo_visibility'].lower()}/all")  # fmt: skip
                assert values.get(key) == (None if median is None else median * 60.0)
    assert checked == len(TARGETS) * len(days(FIRST, LAST)) * len(COUNTS)


def test_repositories_enabled_false_leaves_the_report_out(
    fakes: HistoryFakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = len(fakes.repos.paths)
    output = run_backfill(fakes, tmp_path, monkeypatch, LAST, LAST, TODAY, "--repositories.enabled=false")
    assert PREFIX not in output.read_text()
    assert "github_copilot_usage_active_users" in output.read_text()
    assert len(fakes.repos.paths) == asked
