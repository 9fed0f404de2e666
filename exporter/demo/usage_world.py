"""The world behind the fake usage-metrics reports: users, teams and their Copilot activity per day.

Everything is derived from a seed and the clock, never stored: a user's activity on a day comes from a
random generator seeded with (seed, entity, user, day), so any report of any day can be rebuilt at any
time and two reads agree. A day's numbers grow with the share of its telemetry processed so far, and
stop changing once three full UTC days have passed, as GitHub documents.

Records carry the fields of GitHub's documented NDJSON rows (github/docs, Copilot usage metrics).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

COUNTERS = (
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
)
CHAT_MODES = (
    "chat_panel_ask_mode",
    "chat_panel_edit_mode",
    "chat_panel_plan_mode",
    "chat_panel_unknown_mode",
)
AGENT_FEATURES = ("agent", "agent_edit", "chat_panel_agent_mode")
#: Hours after a day ends before its report first appears, and until its numbers are final.
REPORT_DELAY_HOURS = 8
FINAL_AFTER_HOURS = 72
#: GitHub keeps a year of daily reports.
RETENTION_DAYS = 365

Numbers = tuple[int, int, int, int, int, int, int]
#: The day the demo's activity is drawn at: a world made relative to another day shows it shifted.
DRAWN_ON = date(2026, 7, 15)


@dataclass(frozen=True)
class UsageUser:
    login: str
    user_id: int
    #: Probability of any Copilot activity on a given day.
    activity: float
    ides: tuple[str, ...]
    languages: tuple[str, ...]
    models: tuple[str, ...]
    team_ids: tuple[int, ...] = ()
    uses_agent: bool = True
    uses_cli: bool = False


@dataclass(frozen=True)
class UsageTeam:
    team_id: int
    slug: str


@dataclass
class UsageEntity:
    """An organization (kind "org") or enterprise with its Copilot users."""

    kind: str
    name: str
    entity_id: int
    users: list[UsageUser] = field(default_factory=list)
    teams: list[UsageTeam] = field(default_factory=list)
    #: First day with a report (GitHub: not before 2025-10-10).
    first_day: date = date(2025, 10, 10)
    #: Last day with a report, e.g. since the usage-metrics policy was turned off; None: no end.
    last_day: date | None = None


@dataclass
class UsageWorld:
    now: datetime
    seed: int = 2026
    entities: dict[tuple[str, str], UsageEntity] = field(default_factory=dict)
    #: Users-report rows per NDJSON file; a larger report is split over several links.
    rows_per_file: int = 500
    #: Reports ("entity", "users", "user_teams") whose last file is served cut off mid-line.
    truncated: set[str] = field(default_factory=set)
    #: Days between the day the world is drawn for and the day its activity was drawn at: a day's
    #: activity is that of the day ``shift_days`` earlier, so a world made on any date has the same
    #: shape relative to it (tests hold on any day), while each day keeps its numbers as ``now`` moves.
    shift_days: int = 0
    #: Days served as before 2026's fields (cloud agent, Copilot app, adoption phases...) existed.
    older_days: set[date] = field(default_factory=set)

    @classmethod
    def drawn_relative_to(cls, now: datetime, seed: int) -> UsageWorld:
        """A world whose activity relative to ``now`` is the same whatever the date of ``now``."""
        return cls(now, seed, shift_days=(now.date() - DRAWN_ON).days)

    def drawn(self, day: date) -> date:
        """The day whose random draw ``day`` shows."""
        return day - timedelta(days=self.shift_days)

    def add(self, entity: UsageEntity) -> UsageEntity:
        self.entities[(entity.kind, entity.name)] = entity
        return entity

    def hours_since(self, day: date) -> float:
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        return (self.now - end).total_seconds() / 3600

    def has_report(self, entity: UsageEntity, day: date) -> bool:
        oldest = self.now.date() - timedelta(days=RETENTION_DAYS)
        if entity.last_day is not None and day > entity.last_day:
            return False
        return max(entity.first_day, oldest) <= day and self.hours_since(day) >= REPORT_DELAY_HOURS

    def version(self, day: date) -> int:
        """Hours of processing the day's numbers reflect: they stop changing at FINAL_AFTER_HOURS."""
        return min(FINAL_AFTER_HOURS, max(0, math.floor(self.hours_since(day))))


@dataclass(frozen=True)
class DayRoll:
    """What a user did on a day, drawn cheaply so 28-day windows can replay it."""

    active: bool
    chat: bool
    agent: bool
    cli: bool
    review_active: bool
    review_passive: bool


@dataclass(frozen=True)
class Cell:
    ide: str
    feature: str
    language: str
    model: str | None
    numbers: Numbers


@dataclass(frozen=True)
class UserActivity:
    user: UsageUser
    roll: DayRoll
    cells: tuple[Cell, ...]
    #: session, request, prompt counts, prompt and output tokens; None without CLI use.
    cli: tuple[int, int, int, int, int] | None
    ai_credits: float


def roll(world: UsageWorld, entity: UsageEntity, user: UsageUser, day: date) -> DayRoll:
    rng = random.Random(f"{world.seed}/{entity.kind}/{entity.name}/{user.user_id}/{world.drawn(day)}/roll")
    active = rng.random() < user.activity
    chat, agent, cli = rng.random() < 0.7, rng.random() < 0.35, rng.random() < 0.5
    review_active, review_passive = rng.random() < 0.1, rng.random() < 0.2
    return DayRoll(
        active=active,
        chat=active and chat,
        agent=active and agent and user.uses_agent,
        cli=active and cli and user.uses_cli,
        review_active=active and review_active,
        review_passive=active and review_passive,
    )


def _scaled(values: Iterable[int], share: float) -> Numbers:
    # ceil keeps a user who did something from vanishing while the day is still being processed.
    a, b, c, d, e, f, g = (math.ceil(v * share) for v in values)
    return a, b, c, d, e, f, g


def activity(world: UsageWorld, entity: UsageEntity, user: UsageUser, day: date) -> UserActivity | None:
    """The user's activity of ``day`` as processed at ``world.now``; None on a day without any."""
    today = roll(world, entity, user, day)
    if not today.active:
        return None
    share = 0.6 + 0.4 * world.version(day) / FINAL_AFTER_HOURS
    rng = random.Random(f"{world.seed}/{entity.kind}/{entity.name}/{user.user_id}/{world.drawn(day)}/cells")
    ide = rng.choice(user.ides)
    cells = []
    for language in rng.sample(user.languages, k=min(len(user.languages), rng.randint(1, 3))):
        generated = rng.randint(3, 80)
        accepted = int(generated * rng.uniform(0.1, 0.45))
        numbers = (0, generated, accepted, generated * 3, 0, accepted * 2, 0)
        cells.append(Cell(ide, "code_completion", language, None, _scaled(numbers, share)))
    if today.chat:
        asked = rng.randint(1, 25)
        numbers = (asked, asked // 2, asked // 4, asked * 5, asked, asked, 0)
        model = rng.choice(user.models)
        cells.append(
            Cell(ide, rng.choice(CHAT_MODES), rng.choice(user.languages), model, _scaled(numbers, share))
        )
    if today.agent:
        asked = rng.randint(1, 12)
        numbers = (asked, asked * 2, asked, asked * 40, asked * 8, asked * 30, asked * 6)
        model = rng.choice(user.models)
        feature = rng.choice(AGENT_FEATURES)
        cells.append(Cell(ide, feature, rng.choice(user.languages), model, _scaled(numbers, share)))
    cli = None
    if today.cli:
        sessions = rng.randint(1, 4)
        requests = sessions * rng.randint(2, 20)
        cli = (sessions, requests, requests // 2 + 1, requests * 1800, requests * 400)
    chat_interactions = sum(c.numbers[0] for c in cells if c.model is not None)
    credits = round((chat_interactions * 3.5 + (cli[1] * 2.0 if cli else 0.0)) * share, 2)
    return UserActivity(user, today, tuple(cells), cli, credits)


def _add(a: Numbers, b: Numbers) -> Numbers:
    x = [p + q for p, q in zip(a, b, strict=True)]
    return x[0], x[1], x[2], x[3], x[4], x[5], x[6]


ZERO: Numbers = (0, 0, 0, 0, 0, 0, 0)


def _counters(numbers: Numbers, *, interactions: bool = True) -> dict[str, int]:
    fields = dict(zip(COUNTERS, numbers, strict=True))
    if not interactions:
        del fields["user_initiated_interaction_count"]
    return fields


def breakdowns(cells: Iterable[Cell]) -> dict[str, list[dict[str, Any]]]:
    """The five documented breakdown arrays of a set of activity cells."""
    groups: dict[str, dict[tuple[str, ...], Numbers]] = {
        "totals_by_ide": {},
        "totals_by_feature": {},
        "totals_by_language_feature": {},
        "totals_by_language_model": {},
        "totals_by_model_feature": {},
    }
    for cell in cells:
        keys: dict[str, tuple[str, ...]] = {
            "totals_by_ide": (cell.ide,),
            "totals_by_feature": (cell.feature,),
            "totals_by_language_feature": (cell.language, cell.feature),
        }
        if cell.model is not None:  # model breakdowns are chat-only: completions are left out
            keys["totals_by_language_model"] = (cell.language, cell.model)
            keys["totals_by_model_feature"] = (cell.model, cell.feature)
        for name, key in keys.items():
            groups[name][key] = _add(groups[name].get(key, ZERO), cell.numbers)
    names = {
        "totals_by_ide": ("ide",),
        "totals_by_feature": ("feature",),
        "totals_by_language_feature": ("language", "feature"),
        "totals_by_language_model": ("language", "model"),
        "totals_by_model_feature": ("model", "feature"),
    }
    return {
        name: [
            {
                **dict(zip(names[name], key, strict=True)),
                **_counters(numbers, interactions=name != "totals_by_language_feature"),
            }
            for key, numbers in sorted(groups[name].items())
        ]
        for name in groups
    }


def totals(cells: Iterable[Cell]) -> Numbers:
    total = ZERO
    for cell in cells:
        total = _add(total, cell.numbers)
    return total


def day_activity(world: UsageWorld, entity: UsageEntity, day: date) -> list[UserActivity]:
    found = (activity(world, entity, user, day) for user in entity.users)
    return [a for a in found if a is not None]
