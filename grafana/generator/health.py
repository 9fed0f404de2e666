"""The Copilot exporter health dashboard."""

from __future__ import annotations

from .layout import UID_HEALTH, dashboard, variable_query
from .panels import UP_MAPPINGS, Column, Json, Target, stat, table, thresholds, timeseries
from .queries import JOB, TARGET

HEALTH_VARIABLES = [
    # All must stay the exporter's jobs: up{job=~".*"} would show every target Prometheus scrapes.
    variable_query("job", "Job", "label_values(github_copilot_exporter_build_info, job)", all_value=None),
    variable_query("enterprise", "Enterprise", 'label_values(github_copilot_up{job=~"$job"}, enterprise)'),
    variable_query(
        "org", "Organization", 'label_values(github_copilot_up{job=~"$job", enterprise=~"$enterprise"}, org)'
    ),
]
TARGET_LEGEND = "{{enterprise}}{{org}}"
SUCCESS_AGE = f"time() - github_copilot_last_success_timestamp_seconds{{{TARGET}}}"
RESET_IN = f"clamp_min(github_copilot_api_rate_limit_reset_timestamp_seconds{{{JOB}}} - time(), 0)"
POLL_AGE_STEPS = thresholds(("green", None), ("orange", 1800), ("red", 3600))


def health() -> Json:
    stats = [
        stat(
            "Exporter scrape",
            "Whether Prometheus can scrape the exporter (up), per instance.",
            f"up{{{JOB}}}",
            "none",
            width=5,
            legend="{{instance}}",
            extra={"mappings": UP_MAPPINGS},
            text_mode="value_and_name",
        ),
        stat(
            "GitHub targets",
            "Whether the last poll of each organization or enterprise succeeded (github_copilot_up).",
            f"github_copilot_up{{{TARGET}}}",
            "none",
            width=5,
            legend=TARGET_LEGEND,
            extra={"mappings": UP_MAPPINGS},
            text_mode="value_and_name",
        ),
        stat(
            "Last successful poll",
            "Age of the data being served, per target: time since its last successful poll. Orange "
            "after 30 minutes, red after an hour (the default poll interval is 10 minutes).",
            f"max({SUCCESS_AGE})",
            "s",
            steps=POLL_AGE_STEPS,
        ),
        stat(
            "Poll duration",
            "Wall time of the slowest target's most recent poll.",
            f"max(github_copilot_poll_duration_seconds{{{TARGET}}})",
            "s",
            width=2,
            extra={"decimals": 2},
        ),
        stat(
            "Failed polls",
            "Polls that failed over the dashboard's time range, all targets and reasons.",
            f"sum(increase(github_copilot_poll_failures_total{{{TARGET}}}[$__range])) or on() vector(0)",
            width=3,
            steps=thresholds(("green", None), ("red", 1)),
        ),
        stat(
            "Rate limit remaining",
            "GitHub API requests left in the current rate-limit window (core resource and others), as of the "
            "last answer.",
            f"min(github_copilot_api_rate_limit_remaining{{{JOB}}}"
            f" / github_copilot_api_rate_limit_limit{{{JOB}}})",
            "percentunit",
            width=3,
            steps=thresholds(("red", None), ("orange", 0.1), ("green", 0.25)),
            extra={"min": 0, "max": 1, "decimals": 0},
        ),
        stat(
            "Rate limit resets in",
            "Time until GitHub resets the rate-limit window of the most constrained resource.",
            f"max({RESET_IN})",
            "s",
        ),
    ]
    polls = [
        timeseries(
            "Age of the served data",
            "Seconds since each target's last successful poll. It grows by the poll interval and drops back "
            "after each poll; steady growth means polls are failing.",
            [Target(SUCCESS_AGE, TARGET_LEGEND)],
            "s",
            extra={"thresholds": POLL_AGE_STEPS, "custom": {"thresholdsStyle": {"mode": "dashed"}}},
        ),
        timeseries(
            "Poll duration",
            "Wall time of each target's most recent poll: all pages of the seat list plus the billing call.",
            [Target(f"github_copilot_poll_duration_seconds{{{TARGET}}}", TARGET_LEGEND)],
            "s",
        ),
        timeseries(
            "Polls and failures",
            "Polls started and polls failed per hour, by target and failure reason (see the README for what "
            "to do about each reason).",
            [
                Target(
                    "sum by (enterprise, org)"
                    f" (rate(github_copilot_polls_total{{{TARGET}}}[$__rate_interval])) * 3600",
                    "polls " + TARGET_LEGEND,
                ),
                Target(
                    "sum by (enterprise, org, reason) (rate(github_copilot_poll_failures_total"
                    f"{{{TARGET}}}[$__rate_interval])) * 3600 or on() vector(0)",
                    "failed " + TARGET_LEGEND + " {{reason}}",
                ),
            ],
            "short",
        ),
        timeseries(
            "GitHub API requests",
            "Requests the exporter sent to the GitHub API per second, by endpoint and HTTP status (error: no "
            "answer).",
            [
                Target(
                    "sum by (endpoint, code)"
                    f" (rate(github_copilot_api_requests_total{{{JOB}}}[$__rate_interval]))",
                    "{{code}} {{endpoint}}",
                )
            ],
            "reqps",
        ),
    ]
    api = [
        table(
            "GitHub API requests over the time range",
            "Requests per endpoint and status code over the dashboard's time range.",
            ["endpoint", "code"],
            [
                Column(
                    "Requests",
                    "sum by (endpoint, code)"
                    f" (round(increase(github_copilot_api_requests_total{{{JOB}}}[$__range])))",
                )
            ],
            width=12,
            sort_by="Requests",
        ),
        timeseries(
            "Rate limit remaining",
            "Requests left in the current rate-limit window, against the hourly limit, by resource.",
            [
                Target(f"github_copilot_api_rate_limit_remaining{{{JOB}}}", "remaining {{resource}}"),
                Target(f"github_copilot_api_rate_limit_limit{{{JOB}}}", "limit {{resource}}"),
            ],
            "short",
            width=6,
        ),
        timeseries(
            "Rate limit resets in",
            "Time until each rate-limit resource's window resets.",
            [Target(RESET_IN, "{{resource}}")],
            "s",
            width=6,
        ),
    ]
    process = [
        timeseries(
            "Scrape duration",
            "Time Prometheus takes to scrape the exporter. The exporter serves its last snapshot, so this "
            "stays small however slow GitHub is.",
            [Target(f"scrape_duration_seconds{{{JOB}}}", "{{instance}}")],
            "s",
            width=8,
        ),
        timeseries(
            "Memory and CPU",
            "Resident memory and CPU use of the exporter process.",
            [
                Target(f"process_resident_memory_bytes{{{JOB}}}", "memory {{instance}}"),
                Target(f"rate(process_cpu_seconds_total{{{JOB}}}[$__rate_interval])", "CPU {{instance}}"),
            ],
            "bytes",
            width=8,
        ),
        table(
            "Exporter version",
            "Version of the exporter and of Python, per instance.",
            ["instance", "version", "python_version"],
            [Column("Info", f"github_copilot_exporter_build_info{{{JOB}}}")],
            width=8,
            hide_value=True,
        ),
    ]
    # CPU shares the memory panel: give it its own unit and axis.
    process[1].overrides = [
        {
            "matcher": {"id": "byFrameRefID", "options": "B"},
            "properties": [
                {"id": "unit", "value": "percentunit"},
                {"id": "custom.axisPlacement", "value": "right"},
            ],
        }
    ]
    return dashboard(
        UID_HEALTH,
        "Is the GitHub Copilot exporter healthy: scrapes, polls of GitHub, API requests and rate limits.",
        HEALTH_VARIABLES,
        [("Status", stats), ("Polls", polls), ("GitHub API", api), ("Process", process)],
        "now-6h",
        ["exporter"],
    )
