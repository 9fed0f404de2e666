"""The NDJSON records of GitHub's Copilot usage-metrics reports, drawn from a usage world: the entity's
day, its users' days and its user-team pairs, as the report files hold them (the serving, the signed
links and the demo world are in fake_usage)."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Any

from exporter.demo.usage_agents import extend_entity_row, extend_user_row
from exporter.demo.usage_world import (
    COUNTERS,
    UsageEntity,
    UsageUser,
    UsageWorld,
    UserActivity,
    breakdowns,
    day_activity,
    roll,
    totals,
)

#: Teams smaller than this on a day are absent from the user-teams report.
MIN_TEAM_SIZE = 5


def _entity_ids(entity: UsageEntity) -> dict[str, str]:
    key = "organization_id" if entity.kind == "org" else "enterprise_id"
    return {key: str(entity.entity_id)}


def user_row(entity: UsageEntity, found: UserActivity, day: date) -> dict[str, Any]:
    user = found.user
    parts = breakdowns(found.cells)
    for item in parts["totals_by_ide"]:
        item["last_known_ide_version"] = {"ide_version": "1.104.0", "sampled_at": f"{day}T15:04:05Z"}
        item["last_known_plugin_version"] = {
            "plugin": "copilot-chat",
            "plugin_version": "0.31.0",
            "sampled_at": f"{day}T15:04:05Z",
        }
    row: dict[str, Any] = {
        "user_id": user.user_id,
        "user_login": user.login,
        "day": day.isoformat(),
        **_entity_ids(entity),
        **dict(zip(COUNTERS, totals(found.cells), strict=True)),
        **parts,
        "used_agent": found.roll.agent,
        "used_chat": found.roll.chat,
        "used_cli": found.roll.cli,
        "used_copilot_code_review_active": found.roll.review_active,
        "used_copilot_code_review_passive": found.roll.review_passive,
        "ai_credits_used": found.ai_credits,
        "etl_id": "green",
        "day_partition": day.isoformat(),
        "entity_id_partition": entity.entity_id,
    }
    if found.cli is not None:
        row["totals_by_cli"] = _cli_block(found.cli) | {
            "last_known_cli_version": {"cli_version": "0.0.339", "sampled_at": f"{day}T15:04:05Z"}
        }
    return row


def user_rows(
    world: UsageWorld, entity: UsageEntity, day: date, found: list[UserActivity]
) -> list[dict[str, Any]]:
    return [extend_user_row(world, entity, a, day, user_row(entity, a, day)) for a in found]


def _cli_block(cli: tuple[int, int, int, int, int]) -> dict[str, Any]:
    sessions, requests, prompts, prompt_tokens, output_tokens = cli
    return {
        "session_count": sessions,
        "request_count": requests,
        "prompt_count": prompts,
        "token_usage": {
            "output_tokens_sum": output_tokens,
            "prompt_tokens_sum": prompt_tokens,
            "avg_tokens_per_request": round((prompt_tokens + output_tokens) / max(1, requests), 2),
        },
    }


def _window_users(world: UsageWorld, entity: UsageEntity, day: date) -> dict[int, dict[str, int]]:
    """Window (1, 7, 28 days ending on ``day``) -> distinct users per kind of use."""
    counts = {
        days: dict.fromkeys(("active", "chat", "agent", "cli", "review_active", "review_passive"), 0)
        for days in (1, 7, 28)
    }
    for user in entity.users:
        rolls = [roll(world, entity, user, day - timedelta(days=back)) for back in range(28)]
        for days, figures in counts.items():
            window = rolls[:days]
            review_active = any(r.review_active for r in window)
            figures["active"] += any(r.chat or r.agent for r in window)  # GitHub: active = sent a prompt
            figures["chat"] += any(r.chat for r in window)
            figures["agent"] += any(r.agent for r in window)
            figures["cli"] += any(r.cli for r in window)
            figures["review_active"] += review_active
            figures["review_passive"] += not review_active and any(r.review_passive for r in window)
    return counts


def entity_row(world: UsageWorld, entity: UsageEntity, day: date) -> dict[str, Any]:
    """The entity's record of ``day``: its users' activity summed, windows counted, pull requests."""
    found = day_activity(world, entity, day)
    cells = [cell for a in found for cell in a.cells]
    windows = _window_users(world, entity, day)
    daily, weekly, monthly = windows[1], windows[7], windows[28]
    row: dict[str, Any] = {
        "day": day.isoformat(),
        **_entity_ids(entity),
        "daily_active_users": daily["active"],
        "weekly_active_users": weekly["active"],
        "monthly_active_users": monthly["active"],
        "monthly_active_chat_users": monthly["chat"],
        "monthly_active_agent_users": monthly["agent"],
        **dict(zip(COUNTERS, totals(cells), strict=True)),
        **breakdowns(cells),
        "pull_requests": _pull_requests(world, entity, day, len(found)),
    }
    for window, counts in (("daily", daily), ("weekly", weekly), ("monthly", monthly)):
        row[f"{window}_active_copilot_code_review_users"] = counts["review_active"]
        row[f"{window}_passive_copilot_code_review_users"] = counts["review_passive"]
    if daily["cli"]:  # GitHub omits the field, and totals_by_cli, on days without CLI use
        row["daily_active_cli_users"] = daily["cli"]
        cli = [a.cli for a in found if a.cli is not None]
        row["totals_by_cli"] = _cli_block(
            (
                sum(c[0] for c in cli),
                sum(c[1] for c in cli),
                sum(c[2] for c in cli),
                sum(c[3] for c in cli),
                sum(c[4] for c in cli),
            )
        )
    extend_entity_row(world, entity, day, user_rows(world, entity, day, found), row)
    return row


def _pull_requests(world: UsageWorld, entity: UsageEntity, day: date, active: int) -> dict[str, Any]:
    rng = random.Random(f"{world.seed}/{entity.kind}/{entity.name}/{world.drawn(day)}/pull-requests")
    created = math.ceil(active * rng.uniform(0.2, 0.6))
    merged = int(created * rng.uniform(0.5, 0.9))
    by_copilot = int(created * rng.uniform(0.05, 0.3))
    reviewed_by_copilot = int(created * rng.uniform(0.2, 0.7))
    counts = (
        ("bug_risk", reviewed_by_copilot * 2),
        ("security", reviewed_by_copilot // 2),
        ("readability", reviewed_by_copilot * 3),
    )
    by_type = [
        {"comment_type": kind, "total_copilot_suggestions": n, "total_copilot_applied_suggestions": n // 3}
        for kind, n in counts
    ]
    suggestions = sum(n for _, n in counts)
    applied = sum(n // 3 for _, n in counts)
    return {
        "total_created": created,
        "total_reviewed": int(created * 0.8),
        "total_merged": merged,
        "median_minutes_to_merge": round(rng.uniform(30, 2000), 1),
        "total_suggestions": suggestions + created,
        "total_applied_suggestions": applied + created // 2,
        "total_created_by_copilot": by_copilot,
        "total_reviewed_by_copilot": reviewed_by_copilot,
        "total_merged_created_by_copilot": int(by_copilot * 0.7),
        "total_merged_reviewed_by_copilot": int(reviewed_by_copilot * 0.8),
        "median_minutes_to_merge_copilot_authored": round(rng.uniform(20, 900), 1),
        "median_minutes_to_merge_copilot_reviewed": round(rng.uniform(20, 1500), 1),
        "total_copilot_suggestions": suggestions,
        "total_copilot_applied_suggestions": applied,
        "copilot_suggestions_by_comment_type": by_type,
    }


def user_team_rows(entity: UsageEntity, day: date) -> list[dict[str, Any]]:
    """One row per (user, team), for the teams with at least five seated users (every world user is)."""
    members: dict[int, list[UsageUser]] = {team.team_id: [] for team in entity.teams}
    for user in entity.users:
        for team_id in user.team_ids:
            members[team_id].append(user)
    return [
        {
            "user_id": user.user_id,
            "user_login": user.login,
            "day": day.isoformat(),
            **_entity_ids(entity),
            "team_id": team.team_id,
            "slug": team.slug,
        }
        for team in entity.teams
        if len(members[team.team_id]) >= MIN_TEAM_SIZE
        for user in members[team.team_id]
    ]
