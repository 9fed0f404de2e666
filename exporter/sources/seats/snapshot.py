"""The immutable result of one complete poll of one target.

Everything that does not depend on the time of the scrape is computed here, once per poll: the
de-duplication of enterprise grants, each seat's resolved plan and price, and per-group sorted
activity timestamps from which the collector counts active seats for any window with a bisection.

A poll whose every page was answered ``304 Not Modified`` hands over the very page objects of the poll
before, and then gets the previous snapshot back with a new time instead of a rebuilt one: the steady
state of a large enterprise costs almost nothing, and the exposition cached for the unchanged seats
(see :mod:`exporter.exposition`) stays valid.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from exporter.config import Target
from exporter.errors import InconsistentDataError
from exporter.sources.seats.config import price_for
from exporter.sources.seats.model import OrgBilling, Seat, SeatPage


class GroupKey(NamedTuple):
    enterprise: str
    org: str
    team: str
    plan_type: str


@dataclass(frozen=True, slots=True)
class SeatGroup:
    """Seats sharing enterprise, org, team and plan: the unit of every aggregate metric."""

    key: GroupKey
    seats: int
    pending_cancellation: int
    without_activity: int
    price_usd: float
    #: Sorted ``last_activity_at`` of the seats that have one.
    activity: tuple[float, ...]

    def active_since(self, cutoff: float) -> int:
        return len(self.activity) - bisect_left(self.activity, cutoff)

    @property
    def monthly_cost_usd(self) -> float:
        return self.seats * self.price_usd


@dataclass(frozen=True, slots=True)
class TargetSnapshot:
    target: Target
    #: Unix time at which the poll that produced this snapshot completed.
    taken_at: float
    #: One seat per user (enterprise grants merged), org and plan resolved.
    seats: tuple[Seat, ...]
    groups: tuple[SeatGroup, ...]
    #: (enterprise, org, editor family) -> seats.
    editors: Mapping[tuple[str, str, str], int]
    #: GitHub's own figures; only organization targets have them.
    billing: OrgBilling | None
    #: ``total_seats`` as GitHub reported it.
    total_seats: int
    #: Seat entries GitHub listed, before merging grants of the same user.
    entries: int
    #: Seats with a login, each a candidate for per-seat series.
    named_seats: int
    #: What the snapshot was built from: the parsed pages (the client hands back the very same page
    #: objects for a 304), GitHub's billing figures and the configured prices.
    pages: tuple[SeatPage, ...] = ()
    prices: tuple[tuple[str, float], ...] = ()

    def built_from(
        self, pages: list[SeatPage], billing: OrgBilling | None, prices: tuple[tuple[str, float], ...]
    ) -> bool:
        # Identity, not equality: comparing 100,000 seats field by field would cost as much as rebuilding.
        return (
            len(pages) == len(self.pages)
            and all(new is old for new, old in zip(pages, self.pages, strict=True))
            and billing == self.billing
            and prices == self.prices
        )


def _identity(seat: Seat, index: int) -> object:
    if seat.user_id is not None:
        return seat.user_id
    return ("login", seat.login) if seat.login else ("entry", index)


def merge_grants(entries: Iterable[Seat]) -> list[Seat]:
    """One seat per user: the earliest grant decides org, team and plan; activity is the latest of all.

    Enterprise seat lists hold an entry per granting organization or team while GitHub bills the user
    once. The seat stays pending cancellation only when every grant is.
    """
    by_user: dict[object, list[Seat]] = defaultdict(list)
    for index, seat in enumerate(entries):
        by_user[_identity(seat, index)].append(seat)
    merged = []
    for grants in by_user.values():
        if len(grants) == 1:
            merged.append(grants[0])
            continue
        first = min(grants, key=lambda s: (s.created_at, s.org, s.team))
        active = [s for s in grants if s.last_activity_at is not None]
        latest = max(active, key=lambda s: s.last_activity_at or 0.0) if active else None
        authenticated = [s.last_authenticated_at for s in grants if s.last_authenticated_at is not None]
        cancellations = [s.pending_cancellation_date for s in grants]
        merged.append(
            dataclasses.replace(
                first,
                last_activity_at=latest.last_activity_at if latest else None,
                last_activity_editor=latest.last_activity_editor if latest else "",
                last_authenticated_at=max(authenticated) if authenticated else None,
                pending_cancellation_date=(
                    max(c for c in cancellations if c is not None) if None not in cancellations else None
                ),
            )
        )
    return merged


def check_ids(target: Target, entries: Iterable[Seat], shown: Callable[[str], str | None] = str) -> None:
    """Refuse two logins with one user id: which of them holds the seat cannot be told.

    GitHub's own seat example does this (octocat and octokitten are both id 1). An enterprise lists a
    user once per grant, always with the same login; a login renamed between two pages also lands
    here, and the poll's second reading then sees one login. The refusal names the logins as
    ``shown`` (:meth:`exporter.privacy.UserLabels.shown`) does: by login, keyed hash, or not at all.
    """
    logins: dict[int, str] = {}
    for seat in entries:
        if seat.user_id is None or not seat.login:
            continue
        known = logins.setdefault(seat.user_id, seat.login)
        if known.lower() != seat.login.lower():
            first, second = shown(known), shown(seat.login)
            whom = f"both {first} and {second}" if first and second else "two different logins"
            raise InconsistentDataError(f"{target}: assignee.id {seat.user_id} is given to {whom}")


def check_complete(target: Target, pages: list[SeatPage], shown: Callable[[str], str | None] = str) -> None:
    """Refuse a seat list whose pages disagree: it changed while being read, or pages went missing."""
    totals = {page.total_seats for page in pages}
    if len(totals) > 1:
        raise InconsistentDataError(f"{target}: total_seats changed between pages ({sorted(totals)})")
    total = totals.pop() if totals else 0
    entries = [seat for page in pages for seat in page.seats]
    check_ids(target, entries, shown)
    users = {_identity(seat, index) for index, seat in enumerate(entries)}
    if len(users) != total:
        raise InconsistentDataError(f"{target}: total_seats is {total} but the pages list {len(users)} users")
    if target.kind == "org" and len(entries) != total:
        raise InconsistentDataError(
            f"{target}: total_seats is {total} but the pages hold {len(entries)} entries "
            "(a user listed twice)"
        )


def build_snapshot(
    target: Target,
    pages: list[SeatPage],
    billing: OrgBilling | None,
    prices: Mapping[str, float],
    taken_at: float,
    previous: TargetSnapshot | None = None,
    *,
    shown: Callable[[str], str | None] = str,
) -> TargetSnapshot:
    """The snapshot of ``target`` from a complete poll; the previous one, re-dated, when nothing changed.

    ``shown`` names a login in an error, as the ``seat_metrics`` mode allows (see :func:`check_ids`)."""
    price_items = tuple(sorted(prices.items()))
    if previous is not None and previous.built_from(pages, billing, price_items):
        return dataclasses.replace(previous, taken_at=taken_at)
    return _build(target, pages, billing, prices, taken_at, shown)


def _plan_resolver(seats: Iterable[Seat], billed_plan: str) -> Callable[[str], str]:
    """The plan an ``unknown`` seat of an organization is billed at.

    An organization has one Copilot plan. Org targets read it from ``/copilot/billing``; enterprise
    targets have no such call, so the plan most of that organization's other seats report stands in,
    then the plan most seats of the whole list report. ``unknown`` only when no seat says.
    """
    if billed_plan != "unknown":
        return lambda org: billed_plan
    per_org: defaultdict[str, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    for seat in seats:
        if seat.plan_type != "unknown":
            per_org[seat.org][seat.plan_type] += 1
            overall[seat.plan_type] += 1
    # Ties go to the dearer plan: an estimate of cost should not come out low by a coin toss.
    rank = {"enterprise": 0, "business": 1}

    def majority(counts: Counter[str]) -> str:
        return min(counts, key=lambda plan: (-counts[plan], rank.get(plan, 2), plan))

    fallback = majority(overall) if overall else "unknown"
    by_org = {org: majority(counts) for org, counts in per_org.items()}
    return lambda org: by_org.get(org, fallback)


def _build(
    target: Target,
    pages: list[SeatPage],
    billing: OrgBilling | None,
    prices: Mapping[str, float],
    taken_at: float,
    shown: Callable[[str], str | None],
) -> TargetSnapshot:
    check_complete(target, pages, shown)
    entries = [seat for page in pages for seat in page.seats]
    merged = merge_grants(entries)
    if target.kind == "org":
        # Org seats always belong to the polled org, whatever `organization` says (it is often null).
        merged = [s if s.org == target.name else dataclasses.replace(s, org=target.name) for s in merged]
    plan_of = _plan_resolver(merged, billing.plan_type if billing is not None else "unknown")
    seats: list[Seat] = []
    for seat in merged:
        if seat.plan_type == "unknown":
            plan = plan_of(seat.org)
            if plan != "unknown":
                seat = dataclasses.replace(seat, plan_type=plan)
        seats.append(seat)
    seats.sort(key=lambda s: (s.org, s.login, s.created_at))

    enterprise = target.enterprise
    grouped: dict[GroupKey, list[Seat]] = defaultdict(list)
    editors: Counter[tuple[str, str, str]] = Counter()
    for seat in seats:
        grouped[GroupKey(enterprise, seat.org, seat.team, seat.plan_type)].append(seat)
        editors[(enterprise, seat.org, seat.editor)] += 1
    groups = tuple(
        SeatGroup(
            key=key,
            seats=len(members),
            pending_cancellation=sum(1 for s in members if s.pending_cancellation_date is not None),
            without_activity=sum(1 for s in members if s.last_activity_at is None),
            price_usd=price_for(prices, key.plan_type),
            activity=tuple(sorted(s.last_activity_at for s in members if s.last_activity_at is not None)),
        )
        for key, members in sorted(grouped.items())
    )
    return TargetSnapshot(
        target=target,
        taken_at=taken_at,
        seats=tuple(seats),
        groups=groups,
        editors=dict(editors),
        billing=billing,
        total_seats=pages[0].total_seats if pages else 0,
        entries=len(entries),
        named_seats=sum(1 for seat in seats if seat.login),
        pages=tuple(pages),
        prices=tuple(sorted(prices.items())),
    )
