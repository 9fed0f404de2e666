"""Which seats the ``reclaim:`` policy proposes to remove, from seat snapshots and usage reports alone.

A pure function of its inputs, so that ``reclaim plan``, the re-check of ``reclaim apply``, the
``github_copilot_reclaimable_seats`` metric and ``/reclaim.csv`` all agree. Idle time counts to each
snapshot's own poll, as the seat report does, so the same snapshots always give the same selection.

What GitHub lets one remove decides what is proposed: only seats whose every grant is a direct
organization assignment go through ``DELETE /orgs/{org}/copilot/billing/selected_users``. A seat
granted through a team is listed with the team to act on (the user leaves it, or the team loses
Copilot); a seat granted at the enterprise level is listed as such; neither is ever removed user by user.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from exporter.config import ReclaimConfig
from exporter.sources.seats.config import price_for
from exporter.sources.seats.model import Seat
from exporter.sources.seats.snapshot import GroupKey, TargetSnapshot
from exporter.sources.usage.snapshot import UsageSnapshot

DAY = 86400.0
# Why a seat is proposed.
IDLE = "idle"
NEVER_USED = "never_used"
# How a seat is granted, which says who can take it back.
DIRECT = "direct"
TEAM = "team"
ENTERPRISE = "enterprise"
#: Why an idle seat is left out of the removals, in the order they are checked.
LEFT_OUT_REASONS = (
    "no_login",
    "pending_cancellation",
    "allowlisted_login",
    "allowlisted_team",
    "active_in_usage",
    "in_grace",
    "never_used_not_counted",
    "team_grant",
    "enterprise_grant",
    "over_max_removals",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An idle seat, with what it would take to remove it."""

    target: str
    enterprise: str
    login: str
    user_id: int | None
    #: Organizations of the direct grants (one DELETE each); for team grants, the teams' organizations.
    orgs: tuple[str, ...]
    #: The team to act on (team grants), the enterprise team (enterprise grants), else "".
    team: str
    grant: str
    reason: str
    idle_days: int
    #: The latest activity known, GitHub's ``last_activity_at`` or a usage report, whichever is later.
    last_activity_at: float | None
    created_at: float
    plan_type: str
    monthly_saving_usd: float
    #: Where ``github_copilot_seats`` counts the seat: enterprise, org, team, plan of its first grant.
    group: GroupKey


@dataclass(frozen=True)
class Selection:
    #: Directly assigned seats to remove, longest idle first, at most ``max_removals``.
    removals: tuple[Candidate, ...] = ()
    #: Idle seats granted through an organization team: listed with the team, never removed here.
    team_grants: tuple[Candidate, ...] = ()
    #: Idle seats granted at the enterprise level.
    enterprise_grants: tuple[Candidate, ...] = ()
    left_out: Mapping[str, int] = field(default_factory=dict)

    @property
    def monthly_saving_usd(self) -> float:
        return sum(c.monthly_saving_usd for c in self.removals)


def usage_activity(snapshots: Iterable[UsageSnapshot]) -> dict[str, float]:
    """Login (lower case) -> end of the newest day a usage report lists the user as having used Copilot.

    A user active in any target's report is active: the policy never proposes someone a report
    shows at work, whatever ``last_activity_at`` says (it lags, and needs IDE telemetry on).
    """
    latest: dict[str, float] = {}
    for snapshot in snapshots:
        end_of_day = snapshot.day_timestamp + DAY
        for user in snapshot.users:
            key = user.login.lower()
            if key and end_of_day > latest.get(key, 0.0):
                latest[key] = end_of_day
    return latest


def _grants(snapshot: TargetSnapshot) -> dict[object, list[Seat]]:
    """Every grant of every user: an enterprise lists one entry per granting organization or team."""
    by_user: dict[object, list[Seat]] = defaultdict(list)
    for page in snapshot.pages:
        for seat in page.seats:
            by_user[_key(seat)].append(seat)
    return by_user


def _key(seat: Seat) -> object:
    return seat.user_id if seat.user_id is not None else seat.login.lower()


def _grant_kind(target: TargetSnapshot, grants: Sequence[Seat]) -> tuple[str, str, tuple[str, ...]]:
    """(grant, team to act on, organizations) of one user's grants."""
    org_name = target.target.org
    enterprise_teams = sorted({g.team for g in grants if g.team_kind == "enterprise"})
    direct_orgless = [g for g in grants if not g.team and not (g.org or org_name)]
    if enterprise_teams or direct_orgless:
        return ENTERPRISE, ",".join(enterprise_teams), ()
    teams = sorted({(g.org or org_name, g.team) for g in grants if g.team})
    if teams:
        return TEAM, ",".join(team for _, team in teams), tuple(sorted({org for org, _ in teams}))
    return DIRECT, "", tuple(sorted({g.org or org_name for g in grants}))


def _idle_days(seconds: float) -> int:
    return int(max(0.0, seconds) // DAY)


def select(
    snapshots: Sequence[TargetSnapshot],
    policy: ReclaimConfig,
    usage: Mapping[str, float] | None = None,
    *,
    limit: int | None = None,
) -> Selection:
    """The seats ``policy`` proposes; ``limit`` overrides ``max_removals`` (None: the policy's)."""
    return capped(select_all(snapshots, policy, usage), policy.max_removals if limit is None else limit)


def select_all(
    snapshots: Sequence[TargetSnapshot], policy: ReclaimConfig, usage: Mapping[str, float] | None = None
) -> Selection:
    """Every seat ``policy`` proposes, ``max_removals`` aside: the saving at stake over all runs."""
    usage = usage or {}
    removals: list[Candidate] = []
    team_grants: list[Candidate] = []
    enterprise_grants: list[Candidate] = []
    left_out: Counter[str] = Counter()
    for snapshot in snapshots:
        now = math.floor(snapshot.taken_at)
        prices = dict(snapshot.prices)
        grants = _grants(snapshot)
        for seat in snapshot.seats:
            mine = grants.get(_key(seat)) or [seat]
            candidate, why = _judge(snapshot, seat, mine, policy, usage, now, prices)
            if why is not None:
                left_out[why] += 1
                if why == "team_grant" and candidate is not None:
                    team_grants.append(candidate)
                elif why == "enterprise_grant" and candidate is not None:
                    enterprise_grants.append(candidate)
            elif candidate is not None:
                removals.append(candidate)
    order = _longest_idle_first
    return Selection(
        removals=tuple(sorted(removals, key=order)),
        team_grants=tuple(sorted(team_grants, key=order)),
        enterprise_grants=tuple(sorted(enterprise_grants, key=order)),
        left_out=_ordered(left_out),
    )


def capped(selection: Selection, limit: int) -> Selection:
    """``selection`` with at most ``limit`` removals (the longest idle); the rest left out as such."""
    if len(selection.removals) <= limit:
        return selection
    left_out = Counter(selection.left_out)
    left_out["over_max_removals"] += len(selection.removals) - limit
    return dataclasses.replace(selection, removals=selection.removals[:limit], left_out=_ordered(left_out))


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    return {reason: counts[reason] for reason in LEFT_OUT_REASONS if counts.get(reason)}


def _longest_idle_first(c: Candidate) -> tuple[int, str, str, str]:
    return (-c.idle_days, c.target, ",".join(c.orgs), c.login.lower())


def _judge(
    snapshot: TargetSnapshot,
    seat: Seat,
    grants: Sequence[Seat],
    policy: ReclaimConfig,
    usage: Mapping[str, float],
    now: float,
    prices: Mapping[str, float],
) -> tuple[Candidate | None, str | None]:
    """(the candidate, or None when the seat is not idle; the reason it is left out, or None)."""
    reported = seat.last_activity_at
    seen = usage.get(seat.login.lower()) if seat.login else None
    last = max((t for t in (reported, seen) if t is not None), default=None)
    # The newest grant: a seat granted again recently is new, whatever an older grant says.
    assigned = max(g.created_at for g in grants)
    if last is None:
        reason, idle = NEVER_USED, now - assigned
        if idle < policy.grace_days * DAY:
            return None, None  # new, not idle yet
    else:
        reason, idle = IDLE, now - last
        if idle < policy.idle_days * DAY:
            stale = reported is None or now - reported >= policy.idle_days * DAY
            return None, ("active_in_usage" if stale and seen is not None else None)
    # Grants already pending cancellation are gone at the end of the cycle; only the rest matter.
    live = [g for g in grants if g.pending_cancellation_date is None]
    grant, team, orgs = _grant_kind(snapshot, live or grants)
    candidate = Candidate(
        target=str(snapshot.target),
        enterprise=snapshot.target.enterprise,
        login=seat.login,
        user_id=seat.user_id,
        orgs=orgs,
        team=team,
        grant=grant,
        reason=reason,
        idle_days=_idle_days(idle),
        last_activity_at=last,
        created_at=assigned,
        plan_type=seat.plan_type,
        monthly_saving_usd=price_for(prices, seat.plan_type),
        group=GroupKey(snapshot.target.enterprise, seat.org, seat.team, seat.plan_type),
    )
    teams = {g.team.lower() for g in grants if g.team}
    if not seat.login:
        return None, "no_login"
    if not live:
        return None, "pending_cancellation"
    if seat.login.lower() in policy.allow_logins:
        return None, "allowlisted_login"
    if teams & policy.allow_teams:
        return None, "allowlisted_team"
    if now - assigned < policy.grace_days * DAY:
        return None, "in_grace"
    if reason == NEVER_USED and not policy.never_used:
        return None, "never_used_not_counted"
    if grant == TEAM:
        return candidate, "team_grant"
    if grant == ENTERPRISE:
        return candidate, "enterprise_grant"
    return candidate, None
