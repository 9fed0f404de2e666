"""The exporter's own health metrics: per source and target, the GitHub API, the build.

``collect()`` reads the published state once (an atomic reference) and the client's counters; no I/O.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.github.stats import ClientStats
from exporter.state import ExporterState

HEALTH_LABELS = ["source", "enterprise", "org"]


class HealthCollector(Collector):
    def __init__(
        self, state: ExporterState, stats: ClientStats, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.stats = stats
        self._clock = clock

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        statuses = list(self.state.statuses.values())
        up = GaugeMetricFamily(
            "github_copilot_up",
            "1 when the source's latest poll of the target succeeded, 0 when it failed or none has ended.",
            labels=HEALTH_LABELS,
        )
        last_success = GaugeMetricFamily(
            "github_copilot_last_success_timestamp_seconds",
            "Unix time of the target's last successful poll, whose data is being served.",
            labels=HEALTH_LABELS,
        )
        age = GaugeMetricFamily(
            "github_copilot_snapshot_age_seconds",
            "Seconds since the data being served for the target was polled.",
            labels=HEALTH_LABELS,
        )
        duration = GaugeMetricFamily(
            "github_copilot_poll_duration_seconds",
            "Wall time of the target's most recent poll.",
            labels=HEALTH_LABELS,
        )
        polls = CounterMetricFamily(
            "github_copilot_polls",
            "Polls of the target since start, successful or not.",
            labels=HEALTH_LABELS,
        )
        failures = CounterMetricFamily(
            "github_copilot_poll_failures",
            "Failed polls of the target since start, by reason (see the README for what to do about each).",
            labels=[*HEALTH_LABELS, "reason"],
        )
        error = GaugeMetricFamily(
            "github_copilot_poll_error_info",
            "Why the target's latest poll failed (always 1; absent after a success): the reason of "
            'github_copilot_poll_failures_total; reason="not_applicable" means the source has nothing to '
            "read for the target (an organization billed through its enterprise) and is not a fault.",
            labels=[*HEALTH_LABELS, "reason"],
        )
        overruns = CounterMetricFamily(
            "github_copilot_poll_overruns",
            "Polls of the target that took longer than the source's poll interval.",
            labels=HEALTH_LABELS,
        )
        for status in statuses:
            labels = [status.source, *status.target.labels]
            up.add_metric(labels, 1 if status.up else 0)
            polls.add_metric(labels, status.polls)
            if status.last_success_at is not None:
                last_success.add_metric(labels, status.last_success_at)
                age.add_metric(labels, max(0.0, now - status.last_success_at))
            if status.last_duration is not None:
                duration.add_metric(labels, status.last_duration)
            for reason, count in sorted(status.failures.items()):
                failures.add_metric([*labels, reason], count)
            if status.polls and not status.up:
                error.add_metric([*labels, status.error_reason], 1)
            overruns.add_metric(labels, status.overruns)
        yield from (up, last_success, age, duration, polls, failures, error, overruns)

        requests = CounterMetricFamily(
            "github_copilot_api_requests",
            "Requests sent to the GitHub API by endpoint and HTTP status (error: no answer).",
            labels=["endpoint", "code"],
        )
        for (endpoint, code), count in sorted(self.stats.requests().items()):
            requests.add_metric([endpoint, code], count)
        yield requests

        limit = GaugeMetricFamily(
            "github_copilot_api_rate_limit_limit",
            "Requests per hour GitHub allows, by rate-limit resource, as of the last answer.",
            labels=["resource"],
        )
        remaining = GaugeMetricFamily(
            "github_copilot_api_rate_limit_remaining",
            "Requests left in the current rate-limit window, as of the last answer.",
            labels=["resource"],
        )
        reset = GaugeMetricFamily(
            "github_copilot_api_rate_limit_reset_timestamp_seconds",
            "Unix time at which the current rate-limit window resets.",
            labels=["resource"],
        )
        for resource, rl in sorted(self.stats.rate_limits().items()):
            limit.add_metric([resource], rl.limit)
            remaining.add_metric([resource], rl.remaining)
            reset.add_metric([resource], rl.reset)
        yield from (limit, remaining, reset)

        build = GaugeMetricFamily(
            "github_copilot_exporter_build_info",
            "Version of the exporter and of the Python running it (always 1).",
            labels=["version", "python_version"],
        )
        build.add_metric([__version__, platform.python_version()], 1)
        yield build
