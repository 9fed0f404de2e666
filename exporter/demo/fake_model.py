"""The world the demo's GitHub serves: organizations, enterprises and their seats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class FakeSeat:
    login: str
    user_id: int
    created_at: datetime
    org: str | None = None
    team: str | None = None
    #: "organization" for an org team, "enterprise" for an enterprise team.
    team_kind: str = "organization"
    plan_type: str | None = "business"
    last_activity_at: datetime | None = None
    last_activity_editor: str | None = None
    last_authenticated_at: datetime | None = None
    pending_cancellation_date: date | None = None


@dataclass
class FakeOrg:
    login: str
    id: int
    seats: list[FakeSeat] = field(default_factory=list)
    plan_type: str = "business"
    pending_invitation: int = 0
    added_this_cycle: int = 0
    policies: dict[str, str] = field(
        default_factory=lambda: {
            "seat_management_setting": "assign_selected",
            "ide_chat": "enabled",
            "platform_chat": "enabled",
            "cli": "enabled",
            "public_code_suggestions": "block",
        }
    )
    #: Bodies of the real GitHub served as they are instead of ``seats`` and the billing summary, by
    #: endpoint ("seats": a whole seat list, paged here; "billing": ``/copilot/billing``).
    recorded: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeEnterprise:
    slug: str
    id: int
    #: One entry per grant: a user granted through two orgs appears twice.
    seats: list[FakeSeat] = field(default_factory=list)
    #: As :attr:`FakeOrg.recorded` ("seats" only).
    recorded: dict[str, Any] = field(default_factory=dict)
