"""The immutable result of reading one target's usage reports for one day.

A snapshot holds only what the metrics need: the entity's own figures with its breakdowns cut to the
top N of each label (IDE, feature, language, model, comment type), one small record per team and per
user. It is built by :class:`~exporter.sources.usage.aggregate.UsageAggregator` and read, never
changed, at scrape time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from exporter.config import Target
from exporter.sources.usage.model import EntityDay


@dataclass(frozen=True, slots=True)
class TeamFigures:
    """A team's sums over its members found in the day's users report (GitHub's documented join)."""

    team: str
    #: Members that have a row in the users report (users with any Copilot activity that day).
    users: int
    #: Members with ``user_initiated_interaction_count > 0``, GitHub's definition of an active user.
    active_users: int
    interactions: int
    acceptances: int
    ai_credits_used: float


@dataclass(frozen=True, slots=True)
class UserFigures:
    user_id: int
    login: str
    ai_credits_used: float
    interactions: int
    acceptances: int
    used_chat: bool
    used_agent: bool
    used_cli: bool
    used_code_review: bool
    used_code_review_passive: bool = False
    used_cloud_agent: bool = False
    used_copilot_app: bool = False
    #: ``ai_adoption_phase.phase``; None when the user's record has none.
    phase: str | None = None
    #: Distinct (IDE, version) and (plugin, version) pairs the user's record reported.
    ide_versions: tuple[tuple[str, str], ...] = ()
    plugin_versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    target: Target
    #: The newest day with a report.
    day: date
    #: True when ``day`` was final at the time of reading, so a later poll may keep this snapshot.
    final: bool
    #: The entity report's record for ``day``; None when the report held none.
    entity: EntityDay | None
    teams: tuple[TeamFigures, ...]
    #: Most AI credits first (then most interactions, then login): the order a series cap keeps.
    users: tuple[UserFigures, ...]
    #: A digest of the download links the snapshot was read from: while GitHub answers the report
    #: endpoints with the same links (a 304 to the ETag, say), the files are the same and are not read
    #: again. A digest, because the signed links themselves grant access to the reports.
    source_digest: str = ""
    #: Phase -> users of the users report in it (users without a phase are not counted).
    users_by_phase: Mapping[str, int] = field(default_factory=dict)
    #: ((IDE or plugin, version), users), both cut to the top N plus "other".
    users_by_ide_version: tuple[tuple[tuple[str, str], int], ...] = ()
    users_by_plugin_version: tuple[tuple[tuple[str, str], int], ...] = ()
    #: Report -> names of the fields the exporter does not know (see :mod:`~exporter.sources.usage.fields`).
    unknown_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def day_timestamp(self) -> float:
        """00:00 UTC of ``day`` as Unix seconds."""
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC).timestamp()
