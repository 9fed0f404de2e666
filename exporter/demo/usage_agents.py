"""The fields GitHub added to the usage records in 2026, served by the fake (``CHANGES-2026.md``):
the cloud agent, the Copilot app, third-party agents, AI-adoption phases, and the IDE and plugin
versions users run.

Every figure is drawn from a generator seeded with (seed, entity, user, day), like the rest of the
world, and the entity's figures are sums over its users' rows of the day. A day in
``UsageWorld.older_days`` is served as before these fields existed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from exporter.demo.usage_world import UsageEntity, UsageUser, UsageWorld, UserActivity, roll

#: (agent_id, agent_name): more than a top N of five, so that the demo shows "other".
THIRD_PARTY_AGENTS = (
    (1, "Claude (Anthropic)"),
    (2, "Codex (OpenAI)"),
    (3, "Jules (Google)"),
    (4, "Devin (Cognition)"),
    (5, "Amp (Sourcegraph)"),
    (6, "Cline"),
    (7, "Roo Code"),
)
#: IDE -> (plugin, its versions newest first); versions of the IDE itself.
PLUGINS = {
    "vscode": ("copilot-chat", ("0.33.1", "0.33.0", "0.32.4", "0.31.0", "0.30.2", "0.29.1", "0.28.0")),
    "intellij": ("copilot-intellij", ("1.5.61", "1.5.59", "1.5.52", "1.5.48")),
    "pycharm": ("copilot-intellij", ("1.5.61", "1.5.59", "1.5.52")),
    "visualstudio": ("copilot-vs", ("17.14.6", "17.14.2", "17.12.9")),
    "neovim": ("copilot.vim", ("1.52.0", "1.50.0")),
    "xcode": ("copilot-xcode", ("0.44.0", "0.42.1")),
}
IDE_VERSIONS = {
    "vscode": ("1.107.0", "1.106.2", "1.105.1", "1.104.0", "1.99.3"),
    "intellij": ("2025.3", "2025.2.4", "2025.1"),
    "pycharm": ("2025.3", "2025.2.4"),
    "visualstudio": ("17.14", "17.12"),
    "neovim": ("0.11.4", "0.10.2"),
    "xcode": ("26.1", "16.4"),
}
PHASES = 4


def _rng(world: UsageWorld, entity: UsageEntity, user: UsageUser, day: date, what: str) -> random.Random:
    return random.Random(f"{world.seed}/{entity.kind}/{entity.name}/{user.user_id}/{world.drawn(day)}/{what}")


def uses_cloud_agent(world: UsageWorld, entity: UsageEntity, user: UsageUser, day: date) -> bool:
    return roll(world, entity, user, day).agent and _rng(world, entity, user, day, "cloud").random() < 0.4


def phase_number(user: UsageUser) -> int:
    """The user's AI-adoption phase (0 to 3): the more often active, the further along."""
    return sum(user.activity > threshold for threshold in (0.3, 0.6, 0.9))


def _app(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() >= 0.25:
        return None
    sessions = rng.randint(1, 3)
    requests = sessions * rng.randint(2, 12)
    prompt_tokens, output_tokens = requests * 2100, requests * 350
    return {
        "session_count": sessions,
        "request_count": requests,
        "prompt_count": requests // 2 + 1,
        "token_usage": {
            "prompt_tokens_sum": prompt_tokens,
            "output_tokens_sum": output_tokens,
            "avg_tokens_per_request": round((prompt_tokens + output_tokens) / requests, 2),
        },
    }


def extend_user_row(
    world: UsageWorld, entity: UsageEntity, found: UserActivity, day: date, row: dict[str, Any]
) -> dict[str, Any]:
    """``row``, a users-report row, with the 2026 fields (none on an older day)."""
    if day in world.older_days:
        return row
    user = found.user
    rng = _rng(world, entity, user, day, "2026")
    cloud = uses_cloud_agent(world, entity, user, day)
    row["used_copilot_cloud_agent"] = cloud
    row["used_copilot_coding_agent"] = cloud
    if user.user_id % 5 == 0:  # some rows carry the flag under its older name only
        del row["used_copilot_cloud_agent"]
    app = _app(rng)
    row["used_copilot_app"] = app is not None
    if app is not None:
        row["totals_by_copilot_app"] = app
    if rng.random() < 0.3:
        agents = rng.sample(THIRD_PARTY_AGENTS, k=rng.randint(1, 2))
        row["totals_by_3rd_party_agent"] = [
            {
                "agent_id": agent_id,
                "agent_name": name,
                "user_initiated_interaction_count": rng.randint(1, 30),
                "session_count": rng.randint(1, 5),
            }
            for agent_id, name in sorted(agents)
        ]
    number = phase_number(user)
    row["ai_adoption_phase"] = {"phase_number": number, "phase": f"Phase {number}", "version": "v1"}
    versions = random.Random(f"{world.seed}/{entity.name}/{user.user_id}/versions")  # a user upgrades rarely
    for item in row.get("totals_by_ide", []):
        plugin, plugin_versions = PLUGINS.get(item["ide"], ("copilot", ("1.0.0",)))
        item["last_known_ide_version"]["ide_version"] = versions.choice(
            IDE_VERSIONS.get(item["ide"], ("1.0",))
        )
        item["last_known_plugin_version"]["plugin"] = plugin
        item["last_known_plugin_version"]["plugin_version"] = versions.choice(plugin_versions)
    return row


def extend_entity_row(
    world: UsageWorld, entity: UsageEntity, day: date, users: Iterable[dict[str, Any]], row: dict[str, Any]
) -> None:
    """Add the 2026 aggregate fields to an entity record, summed from the day's users-report rows."""
    if day in world.older_days:
        return
    users = list(users)
    daily = sum(1 for u in users if u.get("used_copilot_cloud_agent", u.get("used_copilot_coding_agent")))
    # GitHub documents the cloud-agent counts as nullable: a day without cloud-agent use has null.
    row["daily_active_copilot_cloud_agent_users"] = daily or None
    for window, days in (("weekly", 7), ("monthly", 28)):
        row[f"{window}_active_copilot_cloud_agent_users"] = sum(
            any(uses_cloud_agent(world, entity, user, day - timedelta(days=back)) for back in range(days))
            for user in entity.users
        )
    apps = [u["totals_by_copilot_app"] for u in users if "totals_by_copilot_app" in u]
    row["daily_active_copilot_app_users"] = sum(1 for u in users if u.get("used_copilot_app"))
    if apps:
        row["totals_by_copilot_app"] = _summed_tool(apps)
    agents: dict[tuple[int, str], tuple[int, int]] = {}
    for u in users:
        for item in u.get("totals_by_3rd_party_agent", []):
            key = (item["agent_id"], item["agent_name"])
            old = agents.get(key, (0, 0))
            agents[key] = (old[0] + item["user_initiated_interaction_count"], old[1] + item["session_count"])
    row["totals_by_3rd_party_agent"] = [
        {"agent_id": i, "agent_name": n, "user_initiated_interaction_count": a, "session_count": s}
        for (i, n), (a, s) in sorted(agents.items())
    ]
    row["totals_by_ai_adoption_phase"] = _phases(world, entity, day, users)


def _summed_tool(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(b["request_count"] for b in blocks)
    prompt_tokens = sum(b["token_usage"]["prompt_tokens_sum"] for b in blocks)
    output_tokens = sum(b["token_usage"]["output_tokens_sum"] for b in blocks)
    return {
        "session_count": sum(b["session_count"] for b in blocks),
        "request_count": requests,
        "prompt_count": sum(b["prompt_count"] for b in blocks),
        "token_usage": {
            "prompt_tokens_sum": prompt_tokens,
            "output_tokens_sum": output_tokens,
            "avg_tokens_per_request": round((prompt_tokens + output_tokens) / max(1, requests), 2),
        },
    }


def _phases(
    world: UsageWorld, entity: UsageEntity, day: date, users: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per phase: its engaged users of the day and their averages; later phases review and merge faster."""
    rng = random.Random(f"{world.seed}/{entity.kind}/{entity.name}/{world.drawn(day)}/phases")
    items = []
    for number in range(PHASES):
        members = [u for u in users if u["ai_adoption_phase"]["phase_number"] == number]
        if not members:
            continue
        engaged = len(members)

        def average(field: str, rows: list[dict[str, Any]] = members) -> float:
            return round(float(sum(u.get(field, 0) for u in rows)) / len(rows), 2)

        created = round(rng.uniform(0.2, 1.5) * (number + 1), 2)
        merged = round(created * rng.uniform(0.5, 0.9), 2)
        items.append(
            {
                "phase": f"Phase {number}",
                "phase_number": number,
                "total_engaged_users": engaged,
                "avg_user_initiated_interactions": average("user_initiated_interaction_count"),
                "avg_code_generation_activities": average("code_generation_activity_count"),
                "avg_code_acceptance_activities": average("code_acceptance_activity_count"),
                "avg_loc_added": average("loc_added_sum"),
                "avg_loc_deleted": average("loc_deleted_sum"),
                "avg_pull_requests_created": created,
                "avg_pull_requests_reviewed": round(created * 0.8, 2),
                "avg_pull_requests_merged": merged,
                "avg_pull_requests_median_minutes_to_merge": round(rng.uniform(200, 2400) / (number + 1), 1),
                "avg_pull_requests_minutes_to_review": round(rng.uniform(60, 900) / (number + 1), 1),
                "avg_pull_requests_review_cycles": round(rng.uniform(1.0, 3.0), 2),
                "total_pull_requests_merged": round(merged * engaged),
            }
        )
    return items
