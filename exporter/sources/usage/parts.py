"""A run of one report's lines parsed into a part that :class:`UsageAggregator` folds in, in order.

Parsing is most of a usage day's CPU (a 100,000-user report is hundreds of megabytes of NDJSON), and
a run of lines parses without anything of the others, so ``backfill`` parses runs in worker processes
(:mod:`exporter.workers`) while the next ones download. Everything here is therefore a plain function
of picklable values, and a part holds plain tuples: they cross a process boundary several times
faster than dataclass instances.

What a run needs of the lines before it is its :class:`Start`: line numbers in messages, and the
records counted against ``max_records``. So a run parsed anywhere fails exactly where, and with
exactly the message with which, the lines parsed one by one would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from exporter.errors import MalformedResponseError
from exporter.sources.usage.fields import unknown_fields
from exporter.sources.usage.model import UserDay, parse_line, parse_user_record, parse_user_team_record
from exporter.sources.usage.snapshot import UserFigures

#: UserFigures' fields in order: a part carries each user as a tuple of them.
USER_FIELDS = tuple(f.name for f in fields(UserFigures))


@dataclass(frozen=True, slots=True)
class Start:
    """Where a run of lines begins: lines of the day's reports before it, records of its report."""

    line: int
    records: int


@dataclass(frozen=True, slots=True)
class UserPart:
    """The users of the day in a run of the users report, in line order, as UserFigures field tuples."""

    unknown: frozenset[str]
    users: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class TeamPart:
    """The teams of a run of the user-teams report, as first seen: id, slug, and members' ids."""

    unknown: frozenset[str]
    teams: tuple[tuple[int, str, tuple[int, ...]], ...]


def records_in(lines: Sequence[bytes]) -> int:
    """The records among ``lines``: the ones that are not blank, as :func:`parse_line` decides."""
    return sum(1 for line in lines if line.strip())


def too_many_records(report: str, max_records: int) -> MalformedResponseError:
    """The error of a report with more than ``max_records`` records."""
    return MalformedResponseError(
        f"{report} report: more than usage.max_records_per_report ({max_records:,}) records"
    )


def parse_user_lines(day: date, lines: Sequence[bytes], start: Start, max_records: int) -> UserPart:
    """The users of ``day`` in a run of the users report; MalformedResponseError at the first bad line."""
    unknown: set[str] = set()
    users = [
        user_figures(record)
        for where, raw in _records("users", lines, start, max_records, unknown)
        if (record := parse_user_record(raw, where)).day == day
    ]
    return UserPart(frozenset(unknown), tuple(users))


def parse_team_lines(day: date, lines: Sequence[bytes], start: Start, max_records: int) -> TeamPart:
    """The team memberships of ``day`` in a run of the user-teams report."""
    unknown: set[str] = set()
    teams: dict[int, tuple[str, list[int]]] = {}
    for where, raw in _records("user-teams", lines, start, max_records, unknown):
        record = parse_user_team_record(raw, where)
        if record.day != day:
            continue
        team = teams.get(record.team_id)
        if team is None:
            team = teams[record.team_id] = (record.slug, [])
        team[1].append(record.user_id)
    found = tuple((team_id, slug, tuple(members)) for team_id, (slug, members) in teams.items())
    return TeamPart(frozenset(unknown), found)


def _records(
    report: str, lines: Sequence[bytes], start: Start, max_records: int, unknown: set[str]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each record of a run, with the place its messages name; blank lines skipped, records counted
    against ``max_records``, and the names of fields the exporter does not know added to ``unknown``."""
    known = report.replace("-", "_")
    number, records = start.line, start.records
    for line in lines:
        number += 1
        where = f"{report} report line {number}"
        raw = parse_line(line, where)
        if raw is None:
            continue
        records += 1
        if records > max_records:
            raise too_many_records(report, max_records)
        unknown |= unknown_fields(known, raw)
        yield where, raw


def user_figures(record: UserDay) -> tuple[Any, ...]:
    """What the metrics keep of a user's record, as UserFigures' fields in order."""
    extras = record.extras
    return (
        record.user_id,
        record.login,
        record.ai_credits_used,
        record.counters.interactions,
        record.counters.acceptances,
        record.used_chat,
        record.used_agent,
        record.used_cli,
        record.used_code_review_active,
        record.used_code_review_passive,
        extras.used_cloud_agent,
        extras.used_copilot_app,
        extras.phase,
        extras.ide_versions,
        extras.plugin_versions,
    )
