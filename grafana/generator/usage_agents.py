"""The usage dashboard's agents row (cloud agent, Copilot app, third-party agents) and adoption row
(users per AI-adoption phase, review speed per phase), from the fields GitHub added in 2026.

The phase figures are averages per engaged user: they are shown per target and phase, never summed
over targets or phases. ``usage`` is the dashboard's target matcher.
"""

from __future__ import annotations

from .panels import Column, Panel, Target, bars, stat, table, timeseries
from .queries import daily, readable

DAY = "GitHub's newest usage report day"


def agents_row(usage: str) -> list[Panel]:
    def metric(family: str, window: str = "") -> str:
        matcher = f'{usage}, window="{window}"' if window else usage
        return f"github_copilot_usage_{family}{{{matcher}}}"

    return [
        stat(
            "Cloud agent users (28 days)",
            f"Users of the Copilot cloud agent (coding agent) in the 28 days to {DAY}. GitHub may "
            "send no count (it is nullable): then the panel shows no data, not zero.",
            f"sum({metric('cloud_agent_active_users', '28d')})",
        ),
        stat(
            "Copilot app users",
            f"Users of the Copilot app on {DAY}.",
            f"sum({metric('copilot_app_active_users', '1d')})",
        ),
        stat(
            "Copilot app sessions",
            f"Copilot app sessions on {DAY}.",
            f"sum({metric('copilot_app_sessions')})",
        ),
        stat(
            "Copilot app tokens",
            f"Prompt and output tokens of Copilot app requests on {DAY}.",
            f"sum({metric('copilot_app_tokens')})",
        ),
        stat(
            "Third-party agent prompts",
            f"Prompts users sent to third-party agents in Copilot (Claude, Codex, …) on {DAY}.",
            f"sum({metric('third_party_agent_interactions')})",
        ),
        stat(
            "Third-party agent sessions",
            f"Sessions of third-party agents in Copilot on {DAY}.",
            f"sum({metric('third_party_agent_sessions')})",
        ),
        timeseries(
            "Agent users over time",
            "Users of the cloud agent within 1, 7 and 28 days of each report day, and of the Copilot app "
            "on the day. One point per report day.",
            [
                Target(
                    f"sum by (window) ({daily(metric('cloud_agent_active_users'))})",
                    "cloud agent ({{window}})",
                ),
                Target(f"sum({daily(metric('copilot_app_active_users'))})", "Copilot app (day)"),
            ],
            "short",
            interval="1d",
        ),
        bars(
            "Third-party agents by prompts",
            f"Prompts per third-party agent on {DAY}: the top agents, the rest as other (usage.top_n).",
            Target(f"sum by (agent) ({metric('third_party_agent_interactions')})", "{{agent}}"),
            "short",
            width=6,
        ),
        bars(
            "Copilot app requests and prompts",
            f"Copilot app requests to models and prompts users sent, on {DAY}.",
            Target(
                f'label_replace(sum({metric("copilot_app_requests")}), "kind", "requests", "", "")'
                f' or label_replace(sum({metric("copilot_app_prompts")}), "kind", "prompts", "", "")',
                "{{kind}}",
            ),
            "short",
            width=6,
        ),
    ]


def adoption_row(usage: str) -> list[Panel]:
    phase_key = "enterprise, org, phase"

    def per_phase(family: str) -> str:
        # One series per target and phase already: max only drops the instance and job labels; an
        # average per engaged user is never summed.
        return readable(f"max by ({phase_key}) (github_copilot_usage_{family}{{{usage}}})", "org")

    return [
        bars(
            "Users per adoption phase",
            f"Users of the users report by GitHub's AI-adoption phase (0 to 3) on {DAY}. Users without a "
            "phase are not counted.",
            Target(f"sum by (phase) (github_copilot_usage_users_by_adoption_phase{{{usage}}})", "{{phase}}"),
            "short",
        ),
        bars(
            "Engaged users per phase",
            f"Users engaged with Copilot per AI-adoption phase, from the aggregate report, on {DAY}.",
            Target(
                f"sum by (phase) (github_copilot_usage_adoption_phase_engaged_users{{{usage}}})", "{{phase}}"
            ),
            "short",
        ),
        bars(
            "Plugin versions in use",
            f"Users per Copilot plugin and version on {DAY}: the top plugins and versions, the rest as "
            "other (usage.top_n). A user counts once per plugin version they reported.",
            Target(
                f"sum by (plugin, version) (github_copilot_usage_users_by_plugin_version{{{usage}}})",
                "{{plugin}} {{version}}",
            ),
            "short",
        ),
        table(
            "Review speed per adoption phase",
            "Per target and AI-adoption phase: engaged users, and per engaged user the average time to "
            "review their pull requests, the average median time to merge them and review cycles. These "
            "are averages of one target's phase: compare them, never add them up.",
            ["enterprise", "org", "phase"],
            [
                Column("Engaged users", per_phase("adoption_phase_engaged_users")),
                Column(
                    "Time to review", per_phase("adoption_phase_average_pull_request_review_seconds"), "s"
                ),
                Column(
                    "Median time to merge",
                    per_phase("adoption_phase_average_pull_request_merge_median_seconds"),
                    "s",
                ),
                Column(
                    "Review cycles", per_phase("adoption_phase_average_pull_request_review_cycles"), "none"
                ),
                Column("Prompts per user", per_phase("adoption_phase_average_interactions"), "none"),
            ],
            height=8,
            sort_by="phase",
        ),
    ]
