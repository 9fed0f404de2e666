"""A fake of GitHub's repository report (``repos-1-day``): its endpoints and its download files.

Mounted in front of the usage reports' fakes (:class:`RepoReports` before the report endpoints,
:class:`RepoDownloads` before the download host), so neither changes. Each target has
``repos_per_entity`` repositories whose day of pull-request activity is drawn from (seed, target,
repository, day): any day can be rebuilt and two reads agree. Repositories without activity are
left out, as GitHub documents; the rows are split ``rows_per_file`` to a file.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from exporter.web.asgi import ASGIApp, Receive, Scope, Send

_PATH = re.compile(r"^/(orgs|enterprises)/([^/]+)/copilot/metrics/reports/repos-1-day$")
_DOWNLOAD = re.compile(r"^/copilot-repos/(org|enterprise)/([^/]+)/(\d{4}-\d\d-\d\d)/part-(\d+)\.ndjson$")
_VISIBILITY = ("PRIVATE", "PRIVATE", "INTERNAL", "PUBLIC")
_WORDS = ("api", "web", "billing", "search", "auth", "mobile", "infra", "docs", "data", "ml", "ui", "cli")
REPORT_DELAY_HOURS = 8


class Reports(Protocol):
    def route(
        self, path: str, params: Mapping[str, str], now: float, base: str
    ) -> tuple[int, Any] | None: ...


@dataclass
class RepoWorld:
    seed: int = 2026
    repos_per_entity: int = 60
    rows_per_file: int = 25
    #: Target names (lower case) by kind that have repository reports.
    entities: dict[str, set[str]] = field(default_factory=lambda: {"org": set(), "enterprise": set()})

    def repositories(self, kind: str, name: str) -> list[tuple[int, str, str]]:
        rng = random.Random(f"{self.seed}/{kind}/{name}")
        found = []
        for i in range(self.repos_per_entity):
            repo = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{i:03d}"
            found.append((1_000_000 + i, repo, rng.choice(_VISIBILITY)))
        return found

    def rows(self, kind: str, name: str, day: date) -> list[dict[str, Any]]:
        rows = []
        for rank, (repo_id, repo, visibility) in enumerate(self.repositories(kind, name)):
            rng = random.Random(f"{self.seed}/{kind}/{name}/{repo_id}/{day}")
            # A long tail: the first repositories are busy, most are quiet, some idle that day.
            scale = 40.0 / (1 + rank)
            created = int(rng.expovariate(1.0) * scale * 3)
            if created == 0 and rng.random() < 0.5:
                continue
            merged = int(created * rng.uniform(0.3, 0.9))
            by_copilot = int(created * rng.uniform(0.0, 0.4))
            prs: dict[str, Any] = {
                "total_created": created,
                "total_reviewed": int(created * rng.uniform(0.5, 1.0)),
                "total_merged": merged,
                "total_created_by_copilot": by_copilot,
                "total_reviewed_by_copilot": int(created * rng.uniform(0.0, 0.6)),
                "total_merged_created_by_copilot": min(by_copilot, merged),
                "total_merged_reviewed_by_copilot": int(merged * rng.uniform(0.0, 0.5)),
                "total_copilot_suggestions": int(created * rng.uniform(0, 3)),
                "total_copilot_applied_suggestions": int(created * rng.uniform(0, 1)),
                # null when nothing was merged, as GitHub sends it
                "median_minutes_to_merge": round(rng.uniform(20, 3000), 1) if merged else None,
            }
            if by_copilot and merged:
                prs["median_minutes_to_merge_copilot_authored"] = round(rng.uniform(10, 2000), 1)
            owner = name if kind == "org" else f"{name}-org"
            # crc32, not hash(): str hashes change from one process to the next (PYTHONHASHSEED).
            ids = {
                "organization_id" if kind == "org" else "enterprise_id": str(
                    zlib.crc32(name.encode()) % 10**7
                )
            }
            rows.append(
                {
                    "day": day.isoformat(),
                    **ids,
                    "repo_id": repo_id,
                    "repo_owner_name": owner,
                    "repo_name": repo,
                    "repo_visibility": visibility,
                    "pull_requests": prs,
                }
            )
        return rows

    def files(self, kind: str, name: str, day: date) -> list[bytes]:
        rows = self.rows(kind, name, day)
        size = max(1, self.rows_per_file)
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
        return [b"".join(json.dumps(r).encode() + b"\n" for r in chunk) for chunk in chunks]


@dataclass
class RepoReports:
    """The fake API's report endpoints: ``repos-1-day`` here, every other one to ``inner``."""

    world: RepoWorld
    download_base: str
    inner: Reports | None = None

    def route(self, path: str, params: Mapping[str, str], now: float, base: str) -> tuple[int, Any] | None:
        match = _PATH.match(path)
        if match is None:
            return self.inner.route(path, params, now, base) if self.inner is not None else None
        kind = "org" if match[1] == "orgs" else "enterprise"
        name = match[2].lower()
        if name not in self.world.entities[kind]:
            return 404, {"message": "Not Found"}
        try:
            day = date.fromisoformat(params.get("day", ""))
        except ValueError:
            return 400, {"message": "day must be a date in YYYY-MM-DD format"}
        out = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, hours=REPORT_DELAY_HOURS)
        if datetime.fromtimestamp(now, UTC) < out:
            return (204, None) if kind == "org" else (404, {"message": "No report for this day"})
        count = len(self.world.files(kind, name, day))
        base_url = (self.download_base or base).rstrip("/")
        links = [f"{base_url}/copilot-repos/{kind}/{name}/{day}/part-{n}.ndjson" for n in range(count)]
        return 200, {"download_links": links, "report_day": day.isoformat()}


class RepoDownloads:
    """The download host: repository report files here, every other request to ``inner``."""

    def __init__(self, world: RepoWorld, inner: ASGIApp) -> None:
        self.world = world
        self.inner = inner
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _DOWNLOAD.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.inner(scope, receive, send)
            return
        kind, name, day, part = match.groups()
        files = self.world.files(kind, name, date.fromisoformat(day))
        self.paths.append(scope["path"])
        status, body = (200, files[int(part)]) if int(part) < len(files) else (404, b"")
        headers = [(b"content-type", b"application/x-ndjson"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
