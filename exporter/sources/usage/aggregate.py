"""Streaming aggregation of one day's usage reports into a :class:`UsageSnapshot`.

A users report of 100,000 users is hundreds of megabytes of NDJSON, so lines are fed one at a time and
each is folded into what the metrics need before the next is read: per user a login, a few counts and
flags; per team its slug and the set of its members' ids. Nothing else of a line outlives it.

The team figures are GitHub's documented join (user-teams inner join users on user and day, grouped by
team, distinct users): membership sets are collected as they come and summed over the users at
:meth:`UsageAggregator.finish`, so the three reports may be fed in any order.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from datetime import date

from exporter.config import Target
from exporter.errors import MalformedResponseError
from exporter.sources.usage.model import (
    BreakdownItem,
    Counters,
    EntityDay,
    UserDay,
    parse_entity_record,
    parse_line,
    parse_user_record,
    parse_user_team_record,
)
from exporter.sources.usage.snapshot import TeamFigures, UsageSnapshot, UserFigures

#: Label value standing for the languages and models beyond the top N.
OTHER = "other"
DEFAULT_TOP_N = 20
#: Breakdowns whose first key (language, model) is cut to the top N by volume.
CAPPED_BREAKDOWNS = ("totals_by_language_feature", "totals_by_model_feature")


class UsageAggregator:
    """Folds the NDJSON lines of one target's entity, users and user-teams reports of ``day``.

    Records of another day are skipped: the join is on (user, day), and a report of one day should
    hold no others.
    """

    def __init__(self, day: date, *, top_n: int = DEFAULT_TOP_N) -> None:
        if top_n < 0:
            raise ValueError("top_n must not be negative")
        self.day = day
        self.top_n = top_n
        self._entity: EntityDay | None = None
        self._users: dict[int, UserFigures] = {}
        self._teams: dict[int, tuple[str, set[int]]] = {}
        self._lines = 0

    def feed_entity_line(self, line: bytes) -> None:
        raw = parse_line(line, f"entity report line {self._next_line()}")
        if raw is None:
            return
        record = parse_entity_record(raw, f"entity report line {self._lines}")
        if record.day != self.day:
            return
        if self._entity is not None:
            raise MalformedResponseError(f"entity report: two records for {self.day}")
        self._entity = record

    def feed_user_line(self, line: bytes) -> None:
        raw = parse_line(line, f"users report line {self._next_line()}")
        if raw is None:
            return
        record = parse_user_record(raw, f"users report line {self._lines}")
        if record.day != self.day:
            return
        figures = _user_figures(record)
        earlier = self._users.get(record.user_id)
        # One row per (user, day, entity) is documented; should GitHub split a user over rows anyway,
        # the parts add up rather than the last one winning.
        self._users[record.user_id] = figures if earlier is None else _merged(earlier, figures)

    def feed_team_line(self, line: bytes) -> None:
        raw = parse_line(line, f"user-teams report line {self._next_line()}")
        if raw is None:
            return
        record = parse_user_team_record(raw, f"user-teams report line {self._lines}")
        if record.day != self.day:
            return
        team = self._teams.get(record.team_id)
        if team is None:
            team = self._teams[record.team_id] = (record.slug, set())
        team[1].add(record.user_id)

    def _next_line(self) -> int:
        self._lines += 1
        return self._lines

    def finish(self, target: Target, *, final: bool) -> UsageSnapshot:
        """The snapshot of everything fed; the aggregator should not be fed afterwards."""
        entity = self._entity
        if entity is not None:
            # Repeated keys are summed too: two series with the same labels would break the exposition.
            breakdowns = {
                name: top_n_with_other(items, self.top_n) if name in CAPPED_BREAKDOWNS else sum_by_keys(items)
                for name, items in entity.breakdowns.items()
            }
            entity = dataclasses.replace(entity, breakdowns=breakdowns)
        users = sorted(self._users.values(), key=lambda u: (-u.ai_credits_used, -u.interactions, u.login))
        return UsageSnapshot(
            kind=target.kind,
            name=target.name,
            enterprise=target.enterprise,
            org=target.org,
            day=self.day,
            final=final,
            entity=entity,
            teams=self._team_figures(),
            users=tuple(users),
        )

    def _team_figures(self) -> tuple[TeamFigures, ...]:
        slugs = Counter(slug for slug, _ in self._teams.values())
        teams = []
        for team_id, (slug, members) in self._teams.items():
            found = [self._users[m] for m in members if m in self._users]
            teams.append(
                TeamFigures(
                    # Enterprise reports mix teams of several organizations, whose slugs may repeat.
                    team=slug if slugs[slug] == 1 else f"{slug}#{team_id}",
                    users=len(found),
                    active_users=sum(1 for u in found if u.interactions > 0),
                    interactions=sum(u.interactions for u in found),
                    acceptances=sum(u.acceptances for u in found),
                    ai_credits_used=sum(u.ai_credits_used for u in found),
                )
            )
        return tuple(sorted(teams, key=lambda t: t.team))


def _user_figures(record: UserDay) -> UserFigures:
    return UserFigures(
        login=record.login,
        ai_credits_used=record.ai_credits_used,
        interactions=record.counters.interactions,
        acceptances=record.counters.acceptances,
        used_chat=record.used_chat,
        used_agent=record.used_agent,
        used_cli=record.used_cli,
        used_code_review=record.used_code_review_active,
    )


def _merged(a: UserFigures, b: UserFigures) -> UserFigures:
    return UserFigures(
        login=b.login,
        ai_credits_used=a.ai_credits_used + b.ai_credits_used,
        interactions=a.interactions + b.interactions,
        acceptances=a.acceptances + b.acceptances,
        used_chat=a.used_chat or b.used_chat,
        used_agent=a.used_agent or b.used_agent,
        used_cli=a.used_cli or b.used_cli,
        used_code_review=a.used_code_review or b.used_code_review,
    )


def top_n_with_other(items: Iterable[BreakdownItem], n: int) -> tuple[BreakdownItem, ...]:
    """Items whose first key is among the ``n`` largest by volume; the rest summed under ``other``.

    The remaining keys (the feature) are kept, so the ``other`` rows still split by feature, and every
    item lands in exactly one row: the sum over a family equals the sum before the cut.
    """
    items = list(items)
    volume: Counter[str] = Counter()
    for item in items:
        volume[item.keys[0]] += item.counters.volume
    # Ties break by name so the cut does not depend on the order of the lines.
    ranked = sorted(volume, key=lambda key: (-volume[key], key))
    kept = set(ranked[:n])
    return sum_by_keys(
        item if item.keys[0] in kept else BreakdownItem((OTHER, *item.keys[1:]), item.counters)
        for item in items
    )


def sum_by_keys(items: Iterable[BreakdownItem]) -> tuple[BreakdownItem, ...]:
    """One item per distinct keys, counters added up, sorted by keys."""
    sums: dict[tuple[str, ...], Counters] = {}
    for item in items:
        earlier = sums.get(item.keys)
        sums[item.keys] = item.counters if earlier is None else earlier.plus(item.counters)
    return tuple(BreakdownItem(keys, counters) for keys, counters in sorted(sums.items()))
