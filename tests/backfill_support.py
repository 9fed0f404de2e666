"""Backfill tests' support: a fake GitHub with months of usage reports and billing, faults by day, and
the figures the backfilled series must have, computed from the fake's answers over HTTP.

Nothing here imports the exporter's parsing or aggregation: each expected value is read from the
report files and billing bodies as a person would read them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from exporter.cli import config_from_args, parse_args
from exporter.commands import backfill
from exporter.demo.fake_billing import FakeBillingWorld, fake_account
from exporter.demo.fake_repos import RepoDownloads, RepoReports, RepoWorld
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage
from exporter.sources.registry import spec
from exporter.sources.spec import BackfillPart
from exporter.web.asgi import Receive, Scope, Send
from exporter.wiring import build_client
from tests.fakegithub.fake_downloads import FakeDownloads, UsageReports
from tests.fakegithub.fake_github import FakeGitHub
from tests.fakegithub.world import demo_github
from tests.support import TOKEN, ServedApp


@dataclass
class DayFaults:
    """Download requests of a day held until released (an interrupted run), or answered 500."""

    downloads: FakeDownloads
    hold: str | None = None
    fail: str | None = None
    released: threading.Event = field(default_factory=threading.Event)
    failed_requests: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.fail is not None and self.fail in path:
            self.failed_requests += 1
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"<Error><Code>InternalError</Code></Error>"})
            return
        if self.hold is not None and self.hold in path:
            # The event is set from the test's thread: wait for it without blocking the fake's loop.
            await asyncio.to_thread(self.released.wait)
        await self.downloads(scope, receive, send)


@dataclass
class HistoryFakes:
    github: FakeGitHub
    downloads: FakeDownloads
    faults: DayFaults
    api: str
    #: The origin of the report files, for usage.allowed_download_hosts.
    download_url: str
    #: The repository report's download host (every day of both targets has a report) and its paths.
    repos: RepoDownloads


def history_fakes(now: float, first_day: date, org_first_report: date) -> Iterator[HistoryFakes]:
    """The demo organization and enterprise with reports and billing from ``first_day`` (the org's
    reports only from ``org_first_report``), the API on 127.0.0.1 and the report files on 127.0.0.2."""
    world = demo_usage(now)
    for entity in world.entities.values():
        entity.first_day = org_first_report if entity.kind == "org" else first_day
    billing = FakeBillingWorld(now=now)
    billing.add(fake_account("org", DEMO_ORG, now=now, seed=7, seats=320, first_day=first_day))
    billing.add(
        fake_account("enterprise", DEMO_ENTERPRISE, now=now, seed=7, seats=140, plan="enterprise",
                     first_day=first_day, credits_per_seat_day=150)
    )  # fmt: skip
    demo = demo_github(now)
    github = FakeGitHub(
        demo.orgs.values(), demo.enterprises.values(), token=TOKEN, clock=lambda: now, billing=billing
    )
    downloads = FakeDownloads(world, clock=lambda: now)
    faults = DayFaults(downloads)
    names = {"org": {DEMO_ORG.lower()}, "enterprise": {DEMO_ENTERPRISE.lower()}}
    repos = RepoWorld(repos_per_entity=40, rows_per_file=10, entities=names)
    repo_downloads = RepoDownloads(repos, faults)
    with ServedApp(repo_downloads, "127.0.0.2").running() as served_downloads:
        usage = UsageReports(world, served_downloads.url)
        github.usage = RepoReports(repos, served_downloads.url, usage)  # type: ignore[assignment]
        with ServedApp(github).running() as served_api:
            yield HistoryFakes(
                github, downloads, faults, served_api.url, served_downloads.url, repo_downloads
            )
            faults.released.set()


def config_file(tmp: Path, fakes: HistoryFakes, **sections: Any) -> Path:
    """A configuration file for a backfill of the demo organization and enterprise from ``fakes``, with
    ``sections`` (``repositories={"top_n": 5}``) added."""
    config = tmp / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "organizations": [DEMO_ORG],
                "enterprises": [DEMO_ENTERPRISE],
                "github": {"requests_per_minute": 900, "max_concurrency": 50},
                "usage": {"allowed_download_hosts": [fakes.download_url]},
                **sections,
            }
        )
    )
    return config


def day_stamp(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def entity_record(api: str, kind: str, name: str, day: date) -> dict[str, Any] | None:
    """The entity report's record of ``day``, read through the report endpoint and its link."""
    prefix, report = ("orgs", "organization-1-day") if kind == "org" else ("enterprises", "enterprise-1-day")
    with httpx.Client(timeout=30) as http:
        answer = http.get(
            f"{api}/{prefix}/{name}/copilot/metrics/reports/{report}",
            params={"day": day.isoformat()},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        if answer.status_code in (204, 404):
            return None
        (link,) = answer.json()["download_links"]
        (line,) = http.get(link).content.splitlines()
        record: dict[str, Any] = json.loads(line)
        return record


def net_ai_credit_spend(api: str, kind: str, name: str, day: date) -> float:
    """The day's AI-credit items' net amount, from the billing endpoint of that day."""
    prefix = "organizations" if kind == "org" else "enterprises"
    answer = httpx.get(
        f"{api}/{prefix}/{name}/settings/billing/ai_credit/usage",
        params={"year": day.year, "month": day.month, "day": day.day},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return float(sum(item["netAmount"] for item in answer.json()["usageItems"]))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def parts(**enabled: bool) -> list[BackfillPart]:
    """The backfill parts of the sources named true: ``parts(usage=True, billing=False)``."""
    found = [spec(name).backfill for name, on in enabled.items() if on]
    return [part for part in found if part is not None]


def run_backfill(
    fakes: HistoryFakes,
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    first: date,
    last: date,
    today: date,
    *extra: str,
    sections: Mapping[str, Any] | None = None,
) -> Path:
    """The backfill of ``first``..``last`` in this process on the fixed day ``today``; the output's path."""
    output = tmp / "history.om"
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    args = parse_args(
        ["backfill", "--config", str(config_file(tmp, fakes, **(sections or {}))), "--github.api-url",
         fakes.api, "--usage.enabled=true", "--seat-metrics", "login", "--from", first.isoformat(),
         "--to", last.isoformat(), "--output", str(output), *extra]
    )  # fmt: skip
    config = config_from_args(args)
    assert backfill.run(config, args, build_client(config), today=today) == 0
    return output
