"""A fake of GitHub's Copilot usage-metrics reports: the 1-day report endpoints and the download host.

Two pure routers, so any server (the fake GitHub's ASGI app, an in-test client) can mount them:
:func:`usage_route` answers the report endpoints with signed links to ``download_base``, and
:func:`download_route` answers those links with the NDJSON files. As on GitHub, an organization
endpoint answers 204 for a day without a report and an enterprise endpoint 404 (its only documented
"no data" status); user-teams leaves out teams with fewer than five seated users. The records the
files hold come from :mod:`exporter.demo.usage_rows`; the demo world from :func:`demo_usage` below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
import random
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from exporter.demo.usage_rows import entity_row, user_rows, user_team_rows
from exporter.demo.usage_world import (
    UsageEntity,
    UsageTeam,
    UsageUser,
    UsageWorld,
    day_activity,
    roll,
)

DOCS = "https://docs.github.com/rest/copilot/copilot-usage-metrics"
#: Report endpoint name -> report, per entity kind.
_REPORTS = {
    "org": {"organization-1-day": "entity", "users-1-day": "users", "user-teams-1-day": "user_teams"},
    "enterprise": {"enterprise-1-day": "entity", "users-1-day": "users", "user-teams-1-day": "user_teams"},
}
_REPORT_PATH = re.compile(r"^/(orgs|enterprises)/([^/]+)/copilot/metrics/reports/([a-z0-9-]+)$")
_DOWNLOAD_PATH = re.compile(
    r"^/copilot-usage/(org|enterprise)/([^/]+)/(entity|users|user_teams)/(\d{4}-\d\d-\d\d)/v(\d+)/part-(\d+)\.ndjson$"
)
#: Links expire like GitHub's signed URLs do.
LINK_LIFETIME = timedelta(hours=1)


def _error(status: int, message: str) -> tuple[int, Any]:
    return status, {"message": message, "documentation_url": DOCS, "status": str(status)}


def usage_route(
    world: UsageWorld, path: str, params: Mapping[str, str], download_base: str
) -> tuple[int, Any] | None:
    """(status, JSON body or None for 204) for a report endpoint; None for any other path."""
    match = _REPORT_PATH.match(path)
    if match is None:
        return None
    kind = "org" if match[1] == "orgs" else "enterprise"
    report = _REPORTS[kind].get(match[3])
    if report is None:
        return None
    entity = world.entities.get((kind, match[2].lower()))
    if entity is None:
        return _error(404, "Not Found")
    try:
        day = date.fromisoformat(params.get("day", ""))
    except ValueError:
        return _error(400, "day must be a date in YYYY-MM-DD format")
    if not world.has_report(entity, day):
        return (204, None) if kind == "org" else _error(404, "No report for this day")
    files = _file_count(world, entity, report, day)
    version = world.version(day)
    links = [
        _signed(
            world,
            download_base,
            f"/copilot-usage/{kind}/{entity.name}/{report}/{day}/v{version}/part-{n}.ndjson",
        )
        for n in range(files)
    ]
    return 200, {"download_links": links, "report_day": day.isoformat()}


def _signature(world: UsageWorld, path: str, expires: int) -> str:
    key = f"fake-usage-{world.seed}".encode()
    return hmac.new(key, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def _signed(world: UsageWorld, base: str, path: str) -> str:
    # Valid for at least LINK_LIFETIME, and the same link all hour, so that an unchanged report has an
    # unchanged answer (and ETag) for a while, as a cached answer would.
    hour = world.now.replace(minute=0, second=0, microsecond=0)
    expires = int((hour + 2 * LINK_LIFETIME).timestamp())
    return f"{base.rstrip('/')}{path}?expires={expires}&sig={_signature(world, path, expires)}"


def download_route(world: UsageWorld, path: str, query: Mapping[str, str]) -> tuple[int, bytes] | None:
    """(status, NDJSON bytes) for a download link; None for any other path."""
    match = _DOWNLOAD_PATH.match(path)
    if match is None:
        return None
    expires = int(query["expires"]) if query.get("expires", "").isdigit() else 0
    if not hmac.compare_digest(query.get("sig", ""), _signature(world, path, expires)):
        return 403, b"<Error><Code>AuthenticationFailed</Code></Error>"
    if expires < world.now.timestamp():
        return 403, b"<Error><Code>AuthenticationFailed</Code><Message>expired</Message></Error>"
    kind, name, report, day_text, version, part = match.groups()
    entity = world.entities.get((kind, name))
    if entity is None:
        return 404, b"<Error><Code>BlobNotFound</Code></Error>"
    # The link names the processing state it was issued for, so its content stays what it was then.
    day = date.fromisoformat(day_text)
    issued = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, hours=int(version))
    frozen = dataclasses.replace(world, now=issued)
    files = report_files(frozen, entity, report, day)
    if int(part) >= len(files):
        return 404, b"<Error><Code>BlobNotFound</Code></Error>"
    body = files[int(part)]
    if report in world.truncated and int(part) == len(files) - 1:
        body = body[: max(1, len(body) - 40)]
    return 200, body


def report_files(world: UsageWorld, entity: UsageEntity, report: str, day: date) -> list[bytes]:
    """The NDJSON files of one report: the rows split ``world.rows_per_file`` to a file."""
    if report == "entity":
        rows = [entity_row(world, entity, day)]
    elif report == "users":
        rows = user_rows(world, entity, day, day_activity(world, entity, day))
    else:
        rows = user_team_rows(entity, day)
    size = max(1, world.rows_per_file)
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
    return [b"".join(json.dumps(row).encode() + b"\n" for row in chunk) for chunk in chunks]


def _file_count(world: UsageWorld, entity: UsageEntity, report: str, day: date) -> int:
    """How many files :func:`report_files` makes, without building the rows."""
    if report == "entity":
        rows = 1
    elif report == "users":
        rows = sum(1 for user in entity.users if roll(world, entity, user, day).active)
    else:
        rows = len(user_team_rows(entity, day))
    return max(1, math.ceil(rows / max(1, world.rows_per_file)))


# -- demo data ---------------------------------------------------------------------------------------

#: The demo targets of exporter/demo.py (the seats demo), repeated here because that module and this
#: package share the name ``exporter.demo`` until the seats demo moves into the package.
DEMO_ORG = "octodemo"
DEMO_ENTERPRISE = "octodemo-enterprise"
IDES = ("vscode", "vscode", "vscode", "intellij", "pycharm", "visualstudio", "neovim", "xcode")
LANGUAGES = (
    *("python", "typescript", "javascript", "java", "go", "csharp", "rust", "kotlin", "ruby", "php"),
    *("cpp", "c", "swift", "scala", "shell", "sql", "yaml", "markdown", "html", "css", "dockerfile"),
    *("terraform", "lua", "elixir", "haskell", "r", "dart", "perl", "zig", "unknown", "Unknown"),
)
MODELS = (
    *("gpt-4.1", "gpt-5", "gpt-5-mini", "claude-sonnet-4.5", "claude-opus-4.1", "gemini-2.5-pro"),
    *("o3", "grok-code-fast-1", "unknown"),
)
#: Team slug -> members: "all" of the entity's users by stride, or a fixed small number.
DEMO_TEAMS = (
    ("backend", 4),
    ("frontend", 5),
    ("mobile", 9),
    ("data-science", 7),
    ("platform", 6),
    ("security", 11),
)
#: Teams too small for GitHub to report, and whose members must still count in the entity's totals.
SMALL_TEAMS = (("design", 3), ("release-managers", 4))


def make_users(
    rng: random.Random, prefix: str, first_id: int, count: int, *, languages: tuple[str, ...] = LANGUAGES
) -> list[UsageUser]:
    """``count`` users with a skewed spread of IDEs, languages and models (the head is common)."""
    users = []
    weights = [1 / (rank + 1) for rank in range(len(languages))]
    for i in range(count):
        users.append(
            UsageUser(
                login=f"{prefix}-{i:03d}",
                user_id=first_id + i,
                activity=rng.choice((0.15, 0.5, 0.8, 0.95)),
                ides=tuple(rng.sample(IDES, k=2)),
                languages=tuple(dict.fromkeys(rng.choices(languages, weights=weights, k=4))),
                models=tuple(rng.sample(MODELS, k=3)),
                uses_agent=rng.random() < 0.6,
                uses_cli=rng.random() < 0.3,
            )
        )
    return users


def assign_teams(entity: UsageEntity, first_team_id: int) -> None:
    """Stride teams (user i joins the team of stride s when i % s == 0), so some users are in two."""
    users = entity.users
    for offset, (slug, stride) in enumerate(DEMO_TEAMS):
        team = UsageTeam(first_team_id + offset, slug)
        entity.teams.append(team)
        users[:] = [_join(u, team) if i % stride == offset % stride else u for i, u in enumerate(users)]
    for offset, (slug, size) in enumerate(SMALL_TEAMS, start=len(DEMO_TEAMS)):
        team = UsageTeam(first_team_id + offset, slug)
        entity.teams.append(team)
        users[:] = [_join(u, team) if i < size else u for i, u in enumerate(users)]


def _join(user: UsageUser, team: UsageTeam) -> UsageUser:
    return dataclasses.replace(user, team_ids=(*user.team_ids, team.team_id))


def demo_usage(now: float | datetime, *, seed: int = 2026) -> UsageWorld:
    """The demo organization and enterprise with a report for every day of the last month."""
    moment = now if isinstance(now, datetime) else datetime.fromtimestamp(now, UTC)
    rng = random.Random(seed)
    first_day = moment.date() - timedelta(days=31)
    world = UsageWorld.drawn_relative_to(moment, seed)
    org = world.add(UsageEntity("org", DEMO_ORG, 9_000_001, first_day=first_day))
    org.users = make_users(rng, "demo-user", 10_000, 320)
    assign_teams(org, 3_100)
    enterprise = world.add(UsageEntity("enterprise", DEMO_ENTERPRISE, 7_000_001, first_day=first_day))
    enterprise.users = make_users(rng, "ent-user", 50_000, 140)
    assign_teams(enterprise, 5_100)
    return world
