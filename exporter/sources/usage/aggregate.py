"""Streaming aggregation of one day's usage reports into a :class:`UsageSnapshot`.

A users report of 100,000 users is hundreds of megabytes of NDJSON, so lines are fed as they come, one
at a time or in runs, and each is folded into what the metrics need before the next is read: per user
a login, a few counts and flags; per team its slug and the set of its members' ids. Nothing else of a
line outlives it. A run may be parsed in another process (:mod:`exporter.sources.usage.parts`) and
its part added here, in the order of the report.

The team figures are GitHub's documented join (user-teams inner join users on user and day, grouped by
team, distinct users): membership sets are collected as they come and summed over the users at
:meth:`UsageAggregator.finish`, so the three reports may be fed in any order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from exporter.config import Target
from exporter.errors import MalformedResponseError
from exporter.privacy import unique_labels
from exporter.sources.usage.cohorts import OTHER as OTHER
from exporter.sources.usage.cohorts import cut_agents, cut_pairs, cut_phases, top_names
from exporter.sources.usage.fields import REPORTS, unknown_fields
from exporter.sources.usage.model import (
    BreakdownItem,
    Counters,
    EntityDay,
    parse_entity_record,
    parse_line,
)
from exporter.sources.usage.parts import (
    Start,
    TeamPart,
    UserPart,
    parse_team_lines,
    parse_user_lines,
    records_in,
    too_many_records,
)
from exporter.sources.usage.snapshot import TeamFigures, UsageSnapshot, UserFigures

logger = logging.getLogger(__name__)
DEFAULT_TOP_N = 20
#: GitHub documents four AI-adoption phases (0 to 3): a top N below that does not cut them.
DOCUMENTED_PHASES = 4
#: Records (non-blank lines) one report may hold: what a report keeps in memory is bounded by it.
DEFAULT_MAX_RECORDS = 1_000_000


class UsageAggregator:
    """Folds the NDJSON lines of one target's entity, users and user-teams reports of ``day``.

    Records of another day are skipped: the join is on (user, day), and a report of one day should
    hold no others. A report of more than ``max_records`` records (skipped ones included) fails.
    """

    def __init__(
        self, day: date, *, top_n: int = DEFAULT_TOP_N, max_records: int = DEFAULT_MAX_RECORDS
    ) -> None:
        if top_n < 0:
            raise ValueError("top_n must not be negative")
        self.day = day
        self.top_n = top_n
        self.max_records = max_records
        self._records: Counter[str] = Counter()
        self._entity: EntityDay | None = None
        self._users: dict[int, UserFigures] = {}
        self._teams: dict[int, tuple[str, set[int]]] = {}
        self._unknown: dict[str, set[str]] = {report: set() for report in REPORTS}
        self._lines = 0

    def feed_entity_line(self, line: bytes) -> None:
        raw = parse_line(line, f"entity report line {self._next_line()}")
        if raw is None:
            return
        self._count("entity")
        self._unknown["entity"] |= unknown_fields("entity", raw)
        record = parse_entity_record(raw, f"entity report line {self._lines}")
        if record.day != self.day:
            return
        if self._entity is not None:
            raise MalformedResponseError(f"entity report: two records for {self.day}")
        self._entity = record

    def feed_user_line(self, line: bytes) -> None:
        self.feed_user_lines((line,))

    def feed_user_lines(self, lines: Sequence[bytes]) -> None:
        self.add_users(parse_user_lines(self.day, lines, self.reserve("users", lines), self.max_records))

    def feed_team_line(self, line: bytes) -> None:
        self.feed_team_lines((line,))

    def feed_team_lines(self, lines: Sequence[bytes]) -> None:
        self.add_teams(parse_team_lines(self.day, lines, self.reserve("user-teams", lines), self.max_records))

    def reserve(self, report: str, lines: Sequence[bytes]) -> Start:
        """Where ``lines``, the next run of ``report`` to be parsed (here or elsewhere), start.

        Runs are reserved in the order of the report, and their parts added in that order.
        """
        start = Start(self._lines, self._records[report])
        self._lines += len(lines)
        self._records[report] += records_in(lines)
        return start

    def add_users(self, part: UserPart) -> None:
        """Fold in the users of a run of the users report, parsed by :func:`parse_user_lines`."""
        self._unknown["users"] |= part.unknown
        users = self._users
        for fields in part.users:
            figures = UserFigures(*fields)
            earlier = users.get(figures.user_id)
            # One row per (user, day, entity) is documented; should GitHub split a user over rows
            # anyway, the parts add up rather than the last one winning.
            users[figures.user_id] = figures if earlier is None else _merged(earlier, figures)

    def add_teams(self, part: TeamPart) -> None:
        """Fold in the memberships of a run of the user-teams report, parsed by :func:`parse_team_lines`."""
        self._unknown["user_teams"] |= part.unknown
        for team_id, slug, members in part.teams:
            team = self._teams.get(team_id)
            if team is None:
                team = self._teams[team_id] = (slug, set())
            team[1].update(members)

    def _count(self, report: str) -> None:
        self._records[report] += 1
        if self._records[report] > self.max_records:
            raise too_many_records(report, self.max_records)

    def _next_line(self) -> int:
        self._lines += 1
        return self._lines

    def finish(self, target: Target, *, final: bool) -> UsageSnapshot:
        """The snapshot of everything fed; the aggregator should not be fed afterwards."""
        entity = self._entity
        if entity is not None:
            # Every label of a breakdown is open-ended (one report line can name thousands of IDEs), so
            # every one is cut; repeated keys are summed too, as two series with the same labels would
            # break the exposition.
            entity = dataclasses.replace(
                entity,
                breakdowns={
                    name: top_n_with_other(items, self.top_n) for name, items in entity.breakdowns.items()
                },
                suggestions_by_comment_type=top_comment_types(entity.suggestions_by_comment_type, self.top_n),
                third_party_agents=cut_agents(entity.third_party_agents, self.top_n),
                adoption_phases=cut_phases(entity.adoption_phases, max(self.top_n, DOCUMENTED_PHASES)),
            )
        users = sorted(self._users.values(), key=lambda u: (-u.ai_credits_used, -u.interactions, u.login))
        for report, names in self._unknown.items():
            for name in sorted(names):
                # The name only: a value may be a login, a repository or anything GitHub adds.
                logger.debug(
                    "%s: the %s report has a field the exporter does not know: %s", target, report, name
                )
        phases: Counter[str] = Counter(u.phase for u in users if u.phase is not None)
        kept = top_names(phases.items(), max(self.top_n, DOCUMENTED_PHASES))
        by_phase: Counter[str] = Counter()
        for phase, count in phases.items():
            by_phase[phase if phase in kept else OTHER] += count
        ide_versions: Counter[tuple[str, str]] = Counter(pair for u in users for pair in u.ide_versions)
        plugin_versions: Counter[tuple[str, str]] = Counter(pair for u in users for pair in u.plugin_versions)
        return UsageSnapshot(
            target=target,
            day=self.day,
            final=final,
            entity=entity,
            teams=self._team_figures(),
            users=tuple(users),
            users_by_phase=dict(sorted(by_phase.items())),
            users_by_ide_version=cut_pairs(ide_versions, self.top_n),
            users_by_plugin_version=cut_pairs(plugin_versions, self.top_n),
            unknown_fields={report: tuple(sorted(names)) for report, names in self._unknown.items()},
        )

    def _team_figures(self) -> tuple[TeamFigures, ...]:
        # Enterprise reports mix teams of several organizations, whose slugs may repeat.
        names = unique_labels([((), slug, team_id) for team_id, (slug, _) in self._teams.items()])
        teams = []
        for name, (_, members) in zip(names, self._teams.values(), strict=True):
            found = [self._users[m] for m in members if m in self._users]
            teams.append(
                TeamFigures(
                    team=name,
                    users=len(found),
                    active_users=sum(1 for u in found if u.interactions > 0),
                    interactions=sum(u.interactions for u in found),
                    acceptances=sum(u.acceptances for u in found),
                    ai_credits_used=sum(u.ai_credits_used for u in found),
                )
            )
        return tuple(sorted(teams, key=lambda t: t.team))


def _merged(a: UserFigures, b: UserFigures) -> UserFigures:
    return UserFigures(
        user_id=b.user_id,
        login=b.login,
        ai_credits_used=a.ai_credits_used + b.ai_credits_used,
        interactions=a.interactions + b.interactions,
        acceptances=a.acceptances + b.acceptances,
        used_chat=a.used_chat or b.used_chat,
        used_agent=a.used_agent or b.used_agent,
        used_cli=a.used_cli or b.used_cli,
        used_code_review=a.used_code_review or b.used_code_review,
        used_code_review_passive=a.used_code_review_passive or b.used_code_review_passive,
        used_cloud_agent=a.used_cloud_agent or b.used_cloud_agent,
        used_copilot_app=a.used_copilot_app or b.used_copilot_app,
        phase=b.phase if b.phase is not None else a.phase,
        ide_versions=tuple(dict.fromkeys((*a.ide_versions, *b.ide_versions))),
        plugin_versions=tuple(dict.fromkeys((*a.plugin_versions, *b.plugin_versions))),
    )


def top_n_with_other(items: Iterable[BreakdownItem], n: int) -> tuple[BreakdownItem, ...]:
    """Each key (IDE, feature, language, model) cut to its ``n`` largest values by volume, the rest
    summed under ``other``.

    Every key is cut on its own, within the breakdown: ``(language, feature)`` holds at most
    ``(n + 1)**2`` items however many names a report makes up. Every item lands in exactly one row,
    so the sum over a family equals the sum before the cut.
    """
    items = list(items)
    width = len(items[0].keys) if items else 0
    kept = [top_names(((item.keys[i], item.counters.volume) for item in items), n) for i in range(width)]
    return sum_by_keys(
        BreakdownItem(tuple(k if k in kept[i] else OTHER for i, k in enumerate(item.keys)), item.counters)
        for item in items
    )


def top_comment_types(by_type: Mapping[str, tuple[int, int]], n: int) -> dict[str, tuple[int, int]]:
    """Comment types beyond the ``n`` with the most suggestions (applied or not) summed under ``other``."""
    kept = top_names(((kind, sum(counts)) for kind, counts in by_type.items()), n)
    cut: dict[str, tuple[int, int]] = {}
    for kind, (suggested, applied) in by_type.items():
        name = kind if kind in kept else OTHER
        old = cut.get(name, (0, 0))
        cut[name] = (old[0] + suggested, old[1] + applied)
    return cut


def sum_by_keys(items: Iterable[BreakdownItem]) -> tuple[BreakdownItem, ...]:
    """One item per distinct keys, counters added up, sorted by keys."""
    sums: dict[tuple[str, ...], Counters] = {}
    for item in items:
        earlier = sums.get(item.keys)
        sums[item.keys] = item.counters if earlier is None else earlier.plus(item.counters)
    return tuple(BreakdownItem(keys, counters) for keys, counters in sorted(sums.items()))
