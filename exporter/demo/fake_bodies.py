"""JSON bodies of users, organizations and teams exactly as GitHub's schemas describe them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from exporter.demo.fake_model import FakeOrg, FakeSeat


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def stable_id(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def user_body(login: str, user_id: int) -> dict[str, Any]:
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
        "user_view_type": "public",
    }


def organization_body(login: str) -> dict[str, Any]:
    api = f"https://api.github.com/orgs/{login}"
    org_id = stable_id(login)
    return {
        "login": login,
        "id": org_id,
        "node_id": f"MDEyOk9yZ2FuaXphdGlvbj{org_id}",
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{org_id}?v=4",
        "description": None,
    }


def team_body(slug: str, org: str) -> dict[str, Any]:
    team_id = stable_id(f"{org}/{slug}")
    api = f"https://api.github.com/teams/{team_id}"
    return {
        "id": team_id,
        "node_id": f"MDQ6VGVhbT{team_id}",
        "url": api,
        "html_url": f"https://github.com/orgs/{org}/teams/{slug}",
        "name": slug.replace("-", " ").title(),
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{api}/members{{/member}}",
        "repositories_url": f"{api}/repos",
        "parent": None,
        "type": "organization",
        "organization_id": stable_id(org),
    }


def enterprise_team_body(slug: str, created: datetime) -> dict[str, Any]:
    team_id = stable_id(f"enterprise/{slug}")
    api = f"https://api.github.com/enterprises/teams/{team_id}"
    return {
        "id": team_id,
        "name": slug.replace("-", " ").title(),
        "slug": slug,
        "url": api,
        "html_url": f"https://github.com/enterprises/teams/{slug}",
        "members_url": f"{api}/members{{/member}}",
        "group_id": None,
        "created_at": iso(created),
        "updated_at": iso(created),
    }


def org_billing_body(org: FakeOrg, now: datetime) -> dict[str, Any]:
    """GET /orgs/{org}/copilot/billing: the seat breakdown of the current billing cycle and the policies."""
    cycle_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    pending = sum(1 for s in org.seats if s.pending_cancellation_date is not None)
    active = sum(1 for s in org.seats if s.last_activity_at is not None and s.last_activity_at >= cycle_start)
    return {
        "seat_breakdown": {
            "total": len(org.seats),
            "added_this_cycle": org.added_this_cycle,
            "pending_invitation": org.pending_invitation,
            "pending_cancellation": pending,
            "active_this_cycle": active,
            "inactive_this_cycle": len(org.seats) - active,
        },
        **org.policies,
        "plan_type": org.plan_type,
    }


def seat_body(seat: FakeSeat, org: FakeOrg | None) -> dict[str, Any]:
    org_login = seat.org or (org.login if org else None)
    body: dict[str, Any] = {
        "created_at": iso(seat.created_at),
        "updated_at": iso(seat.created_at),
        "pending_cancellation_date": seat.pending_cancellation_date.isoformat()
        if seat.pending_cancellation_date
        else None,
        "last_activity_at": iso(seat.last_activity_at),
        "last_activity_editor": seat.last_activity_editor,
        "last_authenticated_at": iso(seat.last_authenticated_at),
        "assignee": user_body(seat.login, seat.user_id),
        "organization": organization_body(org_login) if org_login else None,
        "assigning_team": None,
    }
    if seat.plan_type is not None:
        body["plan_type"] = seat.plan_type
    if seat.team:
        body["assigning_team"] = (
            enterprise_team_body(seat.team, seat.created_at)
            if seat.team_kind == "enterprise"
            else team_body(seat.team, org_login or "")
        )
    return body
