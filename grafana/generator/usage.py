"""The Copilot usage dashboard, from GitHub's daily usage-metrics reports."""

from __future__ import annotations

from .layout import UID_USAGE, dashboard, variable_query
from .panels import UTILIZATION, Column, Json, Panel, Target, bars, pie, stat, table, thresholds, timeseries
from .queries import DAY, SEAT, daily, readable
from .usage_agents import adoption_row, agents_row

# Usage series are per poll target (enterprise or org; team and user where they apply).
USAGE = 'enterprise=~"$enterprise", org=~"$org"'
USAGE_TEAM = 'enterprise=~"$enterprise", org=~"$org", team=~"$team"'
USAGE_VARIABLES = [
    variable_query(
        "enterprise",
        "Enterprise",
        "label_values(github_copilot_usage_report_day_timestamp_seconds, enterprise)",
    ),
    variable_query(
        "org",
        "Organization",
        'label_values(github_copilot_usage_report_day_timestamp_seconds{enterprise=~"$enterprise"}, org)',
    ),
    variable_query(
        "team",
        "Team",
        'label_values(github_copilot_usage_team_users{enterprise=~"$enterprise", org=~"$org"}, team)',
    ),
]
USER_KEY = "instance, job, enterprise, org, user"
TOP_USERS = f"topk(25, github_copilot_user_ai_credits_used{{{USAGE}}})"
TEAM_CREDITS = f"github_copilot_usage_team_ai_credits_used{{{USAGE}}}"
ACCEPTANCE = (
    f"sum(github_copilot_usage_code_acceptances{{{USAGE}}})"
    f" / sum(github_copilot_usage_code_generations{{{USAGE}}})"
)


def usage_daily(family: str, matcher: str = "") -> str:
    extra = f", {matcher}" if matcher else ""
    return f"sum({daily(f'github_copilot_usage_{family}{{{USAGE}{extra}}}')})"


def usage_active(family: str, window: str) -> str:
    return f'sum(github_copilot_usage_{family}{{{USAGE}, window="{window}"}})'


def usage_by(label: str, family: str) -> Target:
    return Target(f"sum by ({label}) (github_copilot_usage_{family}{{{USAGE}}})", f"{{{{{label}}}}}")


def top_user_column(name: str, metric: str, unit: str = "short") -> Column:
    return Column(name, readable(f"{metric}{{{USAGE}}} and on({USER_KEY}) {TOP_USERS}", "org"), unit)


REPO_KEY = "enterprise, org, repository, visibility"


def repository_column(name: str, family: str, matcher: str = "", unit: str = "short") -> Column:
    extra = f", {matcher}" if matcher else ""
    expr = f"sum by ({REPO_KEY}) (github_copilot_repository_{family}{{{USAGE}{extra}}})"
    return Column(name, readable(expr, "org"), unit)


def repositories() -> list[Panel]:
    """The repository report's section: a table of the most active repositories of the report day."""
    return [
        table(
            "Top repositories",
            "Pull requests per repository on GitHub's newest repository-report day (repos-1-day): created, "
            "merged, those Copilot created and those of them merged, and the median time from creation to "
            "merge. The repositories.top_n most active repositories per target (created + reviewed + merged) "
            'have a row of their own; the rest are summed per visibility as repository="other", which has '
            "no median (a median does not sum).",
            ["enterprise", "org", "repository", "visibility"],
            [
                repository_column("PRs created", "pull_requests_created"),
                repository_column("PRs merged", "pull_requests_merged"),
                repository_column("Created by Copilot", "pull_requests_created_by_copilot"),
                repository_column("Merged, created by Copilot", "pull_requests_merged_created_by_copilot"),
                repository_column(
                    "Median time to merge", "pull_request_median_merge_seconds", 'pull_requests="all"', "s"
                ),
            ],
            height=12,
            sort_by="PRs merged",
            no_value="-",
        ),
    ]


def usage() -> Json:
    day = "GitHub's newest usage report day"
    stats = [
        stat(
            "Days since the report day",
            f"Age of {day} (00:00 UTC). GitHub publishes a day some hours after it ends; a day can change "
            "until three full days have passed.",
            f"(time() - max(github_copilot_usage_report_day_timestamp_seconds{{{USAGE}}})) / {DAY}",
            "d",
            steps=thresholds(("green", None), ("orange", 3), ("red", 4)),
            extra={"decimals": 1},
        ),
        stat(
            "Daily active users",
            f"Users who sent Copilot a prompt on {day}.",
            usage_active("active_users", "1d"),
        ),
        stat(
            "Monthly active users",
            f"Users who sent Copilot a prompt in the 28 days to {day}.",
            usage_active("active_users", "28d"),
        ),
        stat(
            "Adoption (28 days)",
            "Monthly active users divided by assigned seats. Red below 50 % (CopilotAdoptionLow), orange "
            "below 80 %.",
            f"{usage_active('active_users', '28d')} / sum(github_copilot_seats{{{SEAT}}})",
            "percentunit",
            steps=UTILIZATION,
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Acceptance rate",
            f"Code acceptances divided by code generations on {day}.",
            ACCEPTANCE,
            "percentunit",
            extra={"decimals": 0},
        ),
        stat(
            "Users in the report",
            f"Users with any Copilot activity on {day} (a row in GitHub's users report).",
            f"sum(github_copilot_usage_users_reported{{{USAGE}}})",
        ),
    ]
    history = [
        timeseries(
            "Active users against assigned seats",
            "Users active within 1, 7 and 28 days of each report day, and the seats assigned. One point "
            "per day, backfilled days and live ones alike (docs/history.md).",
            [
                Target(
                    f"sum by (window) ({daily(f'github_copilot_usage_active_users{{{USAGE}}}')})",
                    "active within {{window}}",
                ),
                Target(f"sum({daily(f'github_copilot_seats{{{SEAT}}}')})", "assigned seats"),
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "Feature adoption",
            "Users of chat, agent mode and Copilot code review within 28 days, and of the CLI on the day.",
            [
                Target(usage_daily("chat_active_users", 'window="28d"'), "chat (28 days)"),
                Target(usage_daily("agent_active_users", 'window="28d"'), "agent (28 days)"),
                Target(usage_daily("code_review_active_users", 'window="28d"'), "code review (28 days)"),
                Target(usage_daily("cli_active_users", 'window="1d"'), "CLI (day)"),
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "Acceptance rate",
            "Code acceptances divided by code generations, per report day.",
            [
                Target(
                    f"{usage_daily('code_acceptances')} / {usage_daily('code_generations')}",
                    "acceptance rate",
                )
            ],
            "percentunit",
            interval="1d",
        ),
        timeseries(
            "Lines of code",
            "Lines Copilot suggested adding, and lines it added and deleted, per report day.",
            [
                Target(usage_daily("lines_suggested_added"), "suggested"),
                Target(usage_daily("lines_added"), "added"),
                Target(usage_daily("lines_deleted"), "deleted"),
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "Prompts per day",
            "Prompts users sent to Copilot on each report day.",
            [
                Target(
                    f"sum by (enterprise, org) ({daily(f'github_copilot_usage_interactions{{{USAGE}}}')})",
                    "{{enterprise}}{{org}}",
                )
            ],
            "short",
            interval="1d",
        ),
        timeseries(
            "AI credits used per day",
            "AI credits the users' Copilot activity used on each report day (a usage signal; the spend "
            "dashboard has the billed amount).",
            [
                Target(
                    f"sum by (enterprise, org) ({daily(TEAM_CREDITS)})",
                    "{{enterprise}}{{org}} (teams)",
                )
            ],
            "short",
            interval="1d",
        ),
    ]
    activity = [
        bars("Prompts by IDE", f"Prompts per IDE on {day}.", usage_by("ide", "interactions_by_ide"), "short"),
        pie(
            "Prompts by feature",
            f"Prompts per Copilot feature (chat modes, agent, …) on {day}.",
            usage_by("feature", "interactions_by_feature"),
            "short",
        ),
        bars(
            "Code generations by language",
            f"Code generations per language on {day}: the top languages by volume, the rest as other "
            "(usage.top_n).",
            usage_by("language", "code_generations_by_language_feature"),
            "short",
        ),
        bars(
            "Prompts by model",
            f"Prompts per model on {day}: the top models by volume, the rest as other (usage.top_n).",
            usage_by("model", "interactions_by_model_feature"),
            "short",
            width=12,
        ),
        bars(
            "Acceptances by feature",
            f"Code acceptances per feature on {day}.",
            usage_by("feature", "code_acceptances_by_feature"),
            "short",
            width=12,
        ),
    ]
    cli_and_prs = [
        stat(
            "CLI sessions",
            f"Copilot CLI sessions on {day}.",
            f"sum(github_copilot_usage_cli_sessions{{{USAGE}}})",
        ),
        stat(
            "CLI requests",
            f"Copilot CLI requests to models on {day}.",
            f"sum(github_copilot_usage_cli_requests{{{USAGE}}})",
        ),
        stat(
            "Pull requests merged",
            f"Pull requests merged on {day}.",
            f"sum(github_copilot_usage_pull_requests_merged{{{USAGE}}})",
        ),
        stat(
            "Created by Copilot",
            f"Pull requests the Copilot coding agent created on {day}.",
            f"sum(github_copilot_usage_pull_requests_created_by_copilot{{{USAGE}}})",
        ),
        stat(
            "Reviewed by Copilot",
            f"Pull requests Copilot code review reviewed on {day}.",
            f"sum(github_copilot_usage_pull_requests_reviewed_by_copilot{{{USAGE}}})",
        ),
        stat(
            "Median time to merge",
            f"The longest of the targets' median times from opening to merge, on {day}.",
            f"max(github_copilot_usage_pull_request_merge_median_seconds{{{USAGE}}})",
            "s",
        ),
    ]
    team_key = "enterprise, org, team"
    teams = [
        table(
            "Adoption per team",
            "Per team, from GitHub's user-teams report joined with the users report: members with a row "
            "that day, those who sent prompts, their prompts, acceptances and AI credits. GitHub leaves "
            "out teams under five seated users, and a user in two teams counts in both: team sums need "
            "not add up to the totals.",
            ["enterprise", "org", "team"],
            [
                Column(
                    "Users reported",
                    readable(f"sum by ({team_key}) (github_copilot_usage_team_users{{{USAGE_TEAM}}})", "org"),
                ),
                Column(
                    "Active users",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_active_users{{{USAGE_TEAM}}})", "org"
                    ),
                ),
                Column(
                    "Prompts",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_interactions{{{USAGE_TEAM}}})", "org"
                    ),
                ),
                Column(
                    "Acceptances",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_code_acceptances{{{USAGE_TEAM}}})",
                        "org",
                    ),
                ),
                Column(
                    "AI credits",
                    readable(
                        f"sum by ({team_key}) (github_copilot_usage_team_ai_credits_used{{{USAGE_TEAM}}})",
                        "org",
                    ),
                ),
            ],
            height=10,
            sort_by="AI credits",
        ),
    ]
    users = [
        table(
            "Top users by AI credits",
            f"The 25 users whose Copilot activity used the most AI credits on {day}, with their prompts "
            "and acceptances. Needs per-user series (seat_metrics login or hashed; hashed shows the keyed "
            "hash). CopilotUserAICreditsHigh fires above 200 credits a day.",
            ["enterprise", "org", "user"],
            [
                top_user_column("AI credits", "github_copilot_user_ai_credits_used"),
                top_user_column("Prompts", "github_copilot_user_interactions"),
                top_user_column("Acceptances", "github_copilot_user_code_acceptances"),
            ],
            height=12,
            sort_by="AI credits",
        ),
    ]
    return dashboard(
        UID_USAGE,
        "How Copilot is used, from GitHub's daily usage-metrics reports: active users against seats, "
        "acceptance, activity by IDE, feature, language and model, CLI and pull requests, agents, "
        "AI-adoption phases, teams, users and repositories.",
        USAGE_VARIABLES,
        [
            ("Adoption", stats),
            ("Over time", history),
            ("Activity on the report day", activity),
            ("CLI and pull requests", cli_and_prs),
            ("Agents", agents_row(USAGE)),
            ("Adoption phases", adoption_row(USAGE)),
            ("Teams", teams),
            ("Users", users),
            ("Repositories", repositories()),
        ],
        "now-30d",
        ["usage"],
        # GitHub's report days are UTC days: a 1d step aligned to UTC midnight sees each one once.
        timezone="utc",
    )
