"""The reclaim plan: a selection written down for review, then read back by ``reclaim apply``.

JSON is the plan; CSV and the table show the same rows for people. Users are named as every other
output of the exporter names them (``seat_metrics``: the login, or its keyed hash), and ``apply``
matches them the same way against the seats it reads again. The plan id is a digest of what the
plan would remove and when it was made, so an audit line names the very plan it carried out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.config import ReclaimConfig
from exporter.errors import ExporterError
from exporter.github.timestamps import parse_timestamp
from exporter.reclaim.policy import DIRECT, ENTERPRISE, TEAM, Candidate, Selection, capped
from exporter.sources.seats.report import SeatReport, iso_time, render
from exporter.sources.seats.snapshot import TargetSnapshot

KIND = "github-copilot-exporter/reclaim-plan"
VERSION = 1
FORMATS = ("json", "csv", "table")
COLUMNS = (
    "action",
    "target",
    "orgs",
    "user",
    "user_id",
    "team",
    "grant",
    "reason",
    "idle_days",
    "last_activity_at",
    "created_at",
    "plan_type",
    "monthly_saving_usd",
)
ACTIONS = {DIRECT: "remove", TEAM: "act on the team", ENTERPRISE: "act in the enterprise"}
#: The policy settings a plan was made under that ``apply`` must still have: the idle threshold and
#: the grace. An allowlist may grow between plan and apply; the seats it covers are then skipped.
POLICY_KEYS = ("idle_days", "grace_days", "never_used")


class PlanError(ExporterError):
    """A plan file that cannot be read, or that no longer fits the configuration."""


@dataclass(frozen=True, slots=True)
class PlanItem:
    target: str
    orgs: tuple[str, ...]
    user: str
    user_id: int | None
    team: str
    grant: str
    reason: str
    idle_days: int
    last_activity_at: float | None
    created_at: float
    plan_type: str
    monthly_saving_usd: float

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "orgs": list(self.orgs),
            "user": self.user,
            "user_id": self.user_id,
            "team": self.team,
            "grant": self.grant,
            "reason": self.reason,
            "idle_days": self.idle_days,
            "last_activity_at": iso_time(self.last_activity_at),
            "created_at": iso_time(self.created_at),
            "plan_type": self.plan_type,
            "monthly_saving_usd": self.monthly_saving_usd,
        }


@dataclass(frozen=True)
class Plan:
    plan_id: str
    created_at: float
    targets: tuple[str, ...]
    policy: Mapping[str, Any]
    removals: tuple[PlanItem, ...]
    team_grants: tuple[PlanItem, ...] = ()
    enterprise_grants: tuple[PlanItem, ...] = ()
    left_out: Mapping[str, int] = field(default_factory=dict)

    @property
    def monthly_saving_usd(self) -> float:
        return round(sum(item.monthly_saving_usd for item in self.removals), 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "version": VERSION,
            "plan_id": self.plan_id,
            "created_at": iso_time(self.created_at),
            "targets": list(self.targets),
            "policy": dict(self.policy),
            "summary": {
                "seats": len(self.removals),
                "monthly_saving_usd": self.monthly_saving_usd,
                "team_grants": len(self.team_grants),
                "enterprise_grants": len(self.enterprise_grants),
                "left_out": dict(self.left_out),
                "left_out_total": sum(self.left_out.values()),
            },
            "removals": [item.to_json() for item in self.removals],
            "team_grants": [item.to_json() for item in self.team_grants],
            "enterprise_grants": [item.to_json() for item in self.enterprise_grants],
        }


def policy_json(policy: ReclaimConfig) -> dict[str, Any]:
    return {
        "idle_days": policy.idle_days,
        "grace_days": policy.grace_days,
        "never_used": policy.never_used,
        "max_removals": policy.max_removals,
        "allowlist": {"logins": sorted(policy.allow_logins), "teams": sorted(policy.allow_teams)},
    }


def _item(candidate: Candidate, user_label: Callable[[str], str]) -> PlanItem:
    return PlanItem(
        target=candidate.target,
        orgs=candidate.orgs,
        user=user_label(candidate.login),
        user_id=candidate.user_id,
        team=candidate.team,
        grant=candidate.grant,
        reason=candidate.reason,
        idle_days=candidate.idle_days,
        last_activity_at=candidate.last_activity_at,
        created_at=candidate.created_at,
        plan_type=candidate.plan_type,
        monthly_saving_usd=candidate.monthly_saving_usd,
    )


def make_plan(
    selection: Selection,
    *,
    created_at: float,
    targets: Sequence[str],
    policy: ReclaimConfig,
    user_label: Callable[[str], str],
) -> Plan:
    removals = tuple(_item(c, user_label) for c in selection.removals)
    digest = hashlib.sha256(
        json.dumps(
            [iso_time(created_at), list(targets), [item.to_json() for item in removals]], sort_keys=True
        ).encode()
    )
    return Plan(
        plan_id=digest.hexdigest()[:16],
        created_at=created_at,
        targets=tuple(targets),
        policy=policy_json(policy),
        removals=removals,
        team_grants=tuple(_item(c, user_label) for c in selection.team_grants),
        enterprise_grants=tuple(_item(c, user_label) for c in selection.enterprise_grants),
        left_out=dict(selection.left_out),
    )


# -- reading a plan back ---------------------------------------------------------------------------


def _field(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise PlanError(f"{where}: {key} is missing or not a {getattr(kind, '__name__', 'value')}")
    return value


def _read_item(raw: Any, where: str) -> PlanItem:
    if not isinstance(raw, Mapping):
        raise PlanError(f"{where}: not an object")
    orgs = _field(raw, "orgs", list, where)
    if not all(isinstance(org, str) and org for org in orgs):
        raise PlanError(f"{where}: orgs must be organization names")
    created = parse_timestamp(raw.get("created_at"))
    if created is None:
        raise PlanError(f"{where}: created_at is missing or not a time")
    user_id = raw.get("user_id")
    if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
        raise PlanError(f"{where}: user_id is not a number")
    return PlanItem(
        target=_field(raw, "target", str, where),
        orgs=tuple(orgs),
        user=_field(raw, "user", str, where),
        user_id=user_id,
        team=_field(raw, "team", str, where),
        grant=_field(raw, "grant", str, where),
        reason=_field(raw, "reason", str, where),
        idle_days=_field(raw, "idle_days", int, where),
        last_activity_at=parse_timestamp(raw.get("last_activity_at")),
        created_at=created,
        plan_type=_field(raw, "plan_type", str, where),
        monthly_saving_usd=float(_field(raw, "monthly_saving_usd", (int, float), where)),
    )


def parse_plan(text: str) -> Plan:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise PlanError("not JSON") from None
    if not isinstance(raw, Mapping) or raw.get("kind") != KIND:
        raise PlanError(f'not a reclaim plan (no "kind": "{KIND}")')
    if raw.get("version") != VERSION:
        raise PlanError(f"plan version {raw.get('version')!r:.20} is not {VERSION}")
    created = parse_timestamp(raw.get("created_at"))
    if created is None:
        raise PlanError("created_at is missing or not a time")
    targets = _field(raw, "targets", list, "plan")
    policy = _field(raw, "policy", dict, "plan")
    removals = _field(raw, "removals", list, "plan")
    plan_id = _field(raw, "plan_id", str, "plan")
    items = tuple(_read_item(item, f"removals[{i}]") for i, item in enumerate(removals))
    if any(item.grant != DIRECT for item in items):
        raise PlanError("a removal is not a direct grant; only direct grants can be removed")
    return Plan(
        plan_id=plan_id,
        created_at=created,
        targets=tuple(str(t) for t in targets),
        policy=policy,
        removals=items,
    )


# -- for people ------------------------------------------------------------------------------------


def rows(plan: Plan) -> SeatReport:
    out = []
    for item in (*plan.removals, *plan.team_grants, *plan.enterprise_grants):
        data = item.to_json()
        data["orgs"] = " ".join(item.orgs) or None
        data["team"] = item.team or None
        out.append({"action": ACTIONS.get(item.grant, item.grant), **data})
    return SeatReport(COLUMNS, tuple(out))


def summary_lines(plan: Plan) -> str:
    left = ", ".join(f"{reason} {count}" for reason, count in plan.left_out.items()) or "none"
    return (
        f"plan {plan.plan_id}: {len(plan.removals)} seats to remove, "
        f"{plan.monthly_saving_usd:.2f} USD per month; "
        f"{len(plan.team_grants)} idle through teams, {len(plan.enterprise_grants)} through the "
        f"enterprise; left out: {left}\n"
    )


def render_plan(plan: Plan, fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n").encode()
    body = render(rows(plan), fmt)
    return body + summary_lines(plan).encode() if fmt == "table" else body


def plan_of(
    snapshots: Sequence[TargetSnapshot],
    selection: Selection,
    policy: ReclaimConfig,
    user_label: Callable[[str], str],
) -> Plan:
    """The plan of a selection over ``snapshots``: dated by the oldest poll, at most ``max_removals``."""
    return make_plan(
        capped(selection, policy.max_removals),
        created_at=min(s.taken_at for s in snapshots),
        targets=[str(s.target) for s in snapshots],
        policy=policy,
        user_label=user_label,
    )
