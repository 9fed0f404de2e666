"""``reclaim apply``: check a plan against seats read again, then remove what still matches, in batches.

A seat is removed only if the fresh read still selects it under the current configuration: still
idle past the threshold (GitHub's ``last_activity_at`` and the usage reports), still directly
assigned in the same organization, not pending cancellation, not allowlisted since. So a second
apply of the same plan sends nothing: the seats it removed are pending cancellation by then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from exporter.config import Config
from exporter.errors import GitHubError
from exporter.github.writes import GitHubWriter
from exporter.reclaim.audit import AuditLog, entry
from exporter.reclaim.plan import POLICY_KEYS, Plan, PlanError, PlanItem
from exporter.reclaim.policy import Selection
from exporter.sources.seats.model import Seat
from exporter.sources.seats.snapshot import TargetSnapshot

#: A plan dated this far in the future was not made by this clock: refused.
CLOCK_SKEW = 300.0


@dataclass(frozen=True, slots=True)
class Removal:
    item: PlanItem
    org: str
    #: The login as GitHub spells it now (the plan may hold a keyed hash of it).
    login: str


@dataclass(frozen=True, slots=True)
class Batch:
    org: str
    removals: tuple[Removal, ...]

    @property
    def logins(self) -> list[str]:
        return [r.login for r in self.removals]


@dataclass
class Outcome:
    batches: list[Batch] = field(default_factory=list)
    #: (user, why) of every planned seat not removed.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    removed: int = 0
    cancelled: int = 0
    failure: GitHubError | None = None


def check_plan(plan: Plan, config: Config, now: float) -> None:
    """Refuse a plan that no longer fits: other targets, another policy, too young or from the future."""
    configured = {str(target) for target in config.targets}
    missing = [target for target in plan.targets if target not in configured]
    if missing:
        raise PlanError(f"the plan covers {', '.join(missing)}, which the configuration does not poll")
    for key in POLICY_KEYS:
        if plan.policy.get(key) != getattr(config.reclaim, key):
            raise PlanError(f"reclaim.{key} changed since the plan was made; make a new plan")
    age = now - plan.created_at
    if age < -CLOCK_SKEW:
        raise PlanError("the plan is dated in the future")
    if age < config.reclaim.min_plan_age:
        raise PlanError(
            f"the plan is {int(max(age, 0) // 60)} minutes old; reclaim.min_plan_age asks for "
            f"{int(config.reclaim.min_plan_age // 60)} minutes of review first"
        )


def _why_not(
    item: PlanItem, seats: dict[tuple[str, str], Seat], config: Config, user_label: Callable[[str], str]
) -> str:
    seat = seats.get((item.target, item.user))
    if seat is None:
        return "no_longer_assigned"
    if seat.pending_cancellation_date is not None:
        return "pending_cancellation"
    if seat.login.lower() in config.reclaim.allow_logins or seat.team.lower() in config.reclaim.allow_teams:
        return "allowlisted"
    return "no_longer_idle_or_reassigned"


def still_matching(
    plan: Plan,
    fresh: Selection,
    snapshots: Sequence[TargetSnapshot],
    config: Config,
    user_label: Callable[[str], str],
) -> tuple[list[Removal], list[tuple[str, str]]]:
    """The plan's removals the fresh selection still makes, at most ``max_removals``; and the rest."""
    selected = {(c.target, user_label(c.login)): c for c in fresh.removals}
    seats = {
        (str(s.target), user_label(seat.login)): seat for s in snapshots for seat in s.seats if seat.login
    }
    removals: list[Removal] = []
    skipped: list[tuple[str, str]] = []
    for item in plan.removals:
        candidate = selected.get((item.target, item.user))
        same_user = candidate is not None and (
            item.user_id is None or candidate.user_id is None or candidate.user_id == item.user_id
        )
        orgs = [org for org in item.orgs if candidate is not None and org in candidate.orgs]
        if candidate is None or not same_user or not orgs:
            skipped.append((item.user, _why_not(item, seats, config, user_label)))
            continue
        removals.extend(Removal(item, org, candidate.login) for org in orgs)
    cap = config.reclaim.max_removals
    users = []
    for removal in removals:
        if removal.item.user not in users:
            users.append(removal.item.user)
    over = set(users[cap:])
    skipped += [(user, "over_max_removals") for user in users[cap:]]
    return [r for r in removals if r.item.user not in over], skipped


def batches(removals: Sequence[Removal], size: int) -> list[Batch]:
    by_org: dict[str, list[Removal]] = {}
    for removal in removals:
        by_org.setdefault(removal.org, []).append(removal)
    return [
        Batch(org, tuple(members[start : start + size]))
        for org, members in by_org.items()
        for start in range(0, len(members), size)
    ]


async def remove(
    plan: Plan,
    planned: list[Batch],
    writer: GitHubWriter,
    audit: AuditLog,
    *,
    pause: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Send the batches in order; each batch's audit lines are on disk before the next is sent.

    The first failure stops the run: its batch is logged with GitHub's answer and nothing more is sent.
    """
    outcome = Outcome(batches=planned)
    for number, batch in enumerate(planned):
        if number:
            await sleep(pause)
        try:
            cancelled = await writer.remove_users(batch.org, batch.logins)
        except GitHubError as exc:
            answer: dict[str, object] = {"status": exc.status, "error": exc.reason, "message": str(exc)}
            audit.append(_entries(plan, batch, answer, clock()))
            outcome.failure = exc
            return outcome
        audit.append(_entries(plan, batch, {"status": 200, "seats_cancelled": cancelled}, clock()))
        outcome.removed += len(batch.removals)
        outcome.cancelled += cancelled
    return outcome


def _entries(plan: Plan, batch: Batch, answer: dict[str, object], at: float) -> list[dict[str, object]]:
    return [
        entry(
            at=at,
            target=r.item.target,
            org=batch.org,
            user=r.item.user,
            reason=r.item.reason,
            plan_id=plan.plan_id,
            answer=answer,
        )
        for r in batch.removals
    ]
