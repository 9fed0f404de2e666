"""Every ``github_copilot_*`` metric is computed here, at scrape time, from the published snapshots.

``collect()`` reads the state once (an atomic reference), does no I/O and only derives what depends on
the time of the scrape: active-within-window counts, idle seconds and the cost of idle seats.
"""

from __future__ import annotations

import hashlib
import hmac
import platform
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.config import Config, format_duration
from exporter.github import ClientStats
from exporter.seats import BILLING_STATES, POLICY_FIELDS
from exporter.state import ExporterState, TargetStatus

GROUP_LABELS = ["enterprise", "org", "team", "plan_type"]
SEAT_LABELS = ["enterprise", "org", "user"]
TARGET_LABELS = ["enterprise", "org"]


class CopilotCollector(Collector):
    def __init__(
        self,
        config: Config,
        state: ExporterState,
        stats: ClientStats,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.state = state
        self.stats = stats
        self._clock = clock
        self._refresh = f"Refreshed from the GitHub API every {format_duration(config.poll_interval)}."
        key = config.seat_metrics_hash_key
        self._hash_key = key.reveal().encode() if key is not None else b""

    def user_label(self, login: str) -> str:
        """The ``user`` label: the login, or with ``seat_metrics: hashed`` a keyed hash of it.

        HMAC with a secret key is stable across restarts but, unlike a plain hash, cannot be reversed
        by hashing a list of known logins.
        """
        if self.config.seat_metrics != "hashed":
            return login
        digest = hmac.new(self._hash_key, login.lower().encode(), hashlib.sha256).hexdigest()
        return f"u{digest[:16]}"

    def _help(self, text: str) -> str:
        return f"{text} {self._refresh}"

    def describe(self) -> Iterator[Metric]:
        # Describing by collecting would be cheap enough, but an empty describe keeps registration free
        # of any dependence on the state at start-up.
        return iter(())

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        statuses = list(self.state.statuses.values())
        yield from self._seat_metrics(statuses, now)
        yield from self._exporter_metrics(statuses, now)

    # -- seats ----------------------------------------------------------------------------------

    def _seat_metrics(self, statuses: list[TargetStatus], now: float) -> Iterator[Metric]:
        h = self._help
        seats = GaugeMetricFamily(
            "github_copilot_seats", h("Copilot seats assigned (billed), one per user."), labels=GROUP_LABELS
        )
        active = GaugeMetricFamily(
            "github_copilot_seats_active",
            h("Seats whose last Copilot activity lies within the window, at scrape time."),
            labels=[*GROUP_LABELS, "window"],
        )
        without = GaugeMetricFamily(
            "github_copilot_seats_without_activity",
            h("Seats for which GitHub reports no activity: never used, or idle for more than 90 days."),
            labels=GROUP_LABELS,
        )
        pending = GaugeMetricFamily(
            "github_copilot_seats_pending_cancellation",
            h("Seats removed this billing cycle, still billed until its end."),
            labels=GROUP_LABELS,
        )
        cost = GaugeMetricFamily(
            "github_copilot_estimated_monthly_cost_usd",
            h("Estimated monthly cost of the assigned seats at the configured price of each plan, in USD."),
            labels=GROUP_LABELS,
        )
        idle_cost = GaugeMetricFamily(
            "github_copilot_idle_seats_monthly_cost_usd",
            h("Monthly cost of the seats not active within the window, in USD."),
            labels=[*GROUP_LABELS, "window"],
        )
        editors = GaugeMetricFamily(
            "github_copilot_seats_by_editor",
            h("Seats by the editor family of their last activity (none: no activity)."),
            labels=["enterprise", "org", "editor"],
        )
        billing = GaugeMetricFamily(
            "github_copilot_billing_seats",
            h("GitHub's own seat breakdown of the organization for the current billing cycle."),
            labels=["org", "state"],
        )
        org_info = GaugeMetricFamily(
            "github_copilot_organization_info",
            h("Copilot plan and policies of the organization (always 1)."),
            labels=["org", "plan_type", *POLICY_FIELDS],
        )
        idle = GaugeMetricFamily(
            "github_copilot_seat_idle_seconds",
            h("Seconds since the seat's last activity, or since it was assigned when GitHub reports none."),
            labels=SEAT_LABELS,
        )
        last_activity = GaugeMetricFamily(
            "github_copilot_seat_last_activity_timestamp_seconds",
            h("Unix time of the seat's last Copilot activity; absent when GitHub reports none."),
            labels=SEAT_LABELS,
        )
        last_auth = GaugeMetricFamily(
            "github_copilot_seat_last_authenticated_timestamp_seconds",
            h("Unix time the seat's user last authenticated with Copilot; absent when GitHub reports none."),
            labels=SEAT_LABELS,
        )
        created = GaugeMetricFamily(
            "github_copilot_seat_created_timestamp_seconds",
            h("Unix time the seat was (last) assigned to the user."),
            labels=SEAT_LABELS,
        )
        cancel = GaugeMetricFamily(
            "github_copilot_seat_pending_cancellation_timestamp_seconds",
            h("Unix time at which a seat pending cancellation stops being billed; absent for other seats."),
            labels=SEAT_LABELS,
        )
        info = GaugeMetricFamily(
            "github_copilot_seat_info",
            h("Metadata of a seat (always 1): assigning team, plan, editor family of the last activity."),
            labels=[*SEAT_LABELS, "team", "plan_type", "editor", "pending_cancellation"],
        )

        windows = [(w.label, now - w.seconds) for w in self.config.activity_windows]
        per_seat = self.config.seat_metrics != "off"
        budget = self.config.max_seat_series
        dropped = 0
        for status in statuses:
            snap = status.snapshot
            if snap is None:
                continue
            for group in snap.groups:
                labels = list(group.key)
                seats.add_metric(labels, group.seats)
                without.add_metric(labels, group.without_activity)
                pending.add_metric(labels, group.pending_cancellation)
                cost.add_metric(labels, group.monthly_cost_usd)
                for label, cutoff in windows:
                    n = group.active_since(cutoff)
                    active.add_metric([*labels, label], n)
                    idle_cost.add_metric([*labels, label], (group.seats - n) * group.price_usd)
            for (enterprise, org, editor), count in sorted(snap.editors.items()):
                editors.add_metric([enterprise, org, editor], count)
            if snap.billing is not None:
                org = snap.target.name
                for state in BILLING_STATES:
                    if state in snap.billing.seat_breakdown:
                        billing.add_metric([org, state], snap.billing.seat_breakdown[state])
                policies = [snap.billing.policies.get(name, "") for name in POLICY_FIELDS]
                org_info.add_metric([org, snap.billing.plan_type, *policies], 1)

            if not per_seat:
                continue
            enterprise = snap.target.enterprise
            for seat in snap.seats:
                if not seat.login:
                    continue  # no user to name: counted in the aggregates only
                if budget <= 0:
                    dropped += 1
                    continue
                budget -= 1
                labels = [enterprise, seat.org, self.user_label(seat.login)]
                reference = seat.last_activity_at if seat.last_activity_at is not None else seat.created_at
                idle.add_metric(labels, max(0.0, now - reference))
                created.add_metric(labels, seat.created_at)
                if seat.last_activity_at is not None:
                    last_activity.add_metric(labels, seat.last_activity_at)
                if seat.last_authenticated_at is not None:
                    last_auth.add_metric(labels, seat.last_authenticated_at)
                if seat.pending_cancellation_date is not None:
                    cancel.add_metric(labels, seat.pending_cancellation_date)
                info.add_metric(
                    [
                        *labels,
                        seat.team,
                        seat.plan_type,
                        seat.editor,
                        "true" if seat.pending_cancellation_date is not None else "false",
                    ],
                    1,
                )
        yield from (seats, active, without, pending, cost, idle_cost, editors, billing, org_info)
        yield from (idle, last_activity, last_auth, created, cancel, info)
        cut = GaugeMetricFamily(
            "github_copilot_seat_series_dropped",
            "Seats left without per-seat series because seat_metrics.max_series was reached.",
        )
        cut.add_metric([], dropped)
        yield cut

    # -- the exporter itself --------------------------------------------------------------------

    def _exporter_metrics(self, statuses: list[TargetStatus], now: float) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "github_copilot_up",
            "1 when the most recent poll of the target succeeded, 0 when it failed or none has finished.",
            labels=TARGET_LABELS,
        )
        last_success = GaugeMetricFamily(
            "github_copilot_last_success_timestamp_seconds",
            "Unix time of the target's last successful poll, whose data is being served.",
            labels=TARGET_LABELS,
        )
        age = GaugeMetricFamily(
            "github_copilot_snapshot_age_seconds",
            "Seconds since the data being served for the target was polled.",
            labels=TARGET_LABELS,
        )
        duration = GaugeMetricFamily(
            "github_copilot_poll_duration_seconds",
            "Wall time of the target's most recent poll.",
            labels=TARGET_LABELS,
        )
        polls = CounterMetricFamily(
            "github_copilot_polls",
            "Polls of the target since start, successful or not.",
            labels=TARGET_LABELS,
        )
        failures = CounterMetricFamily(
            "github_copilot_poll_failures",
            "Failed polls of the target since start, by reason (see the README for what to do about each).",
            labels=[*TARGET_LABELS, "reason"],
        )
        for status in statuses:
            labels = [status.target.enterprise, status.target.org]
            up.add_metric(labels, 1 if status.up else 0)
            polls.add_metric(labels, status.polls)
            if status.last_success_at is not None:
                last_success.add_metric(labels, status.last_success_at)
                age.add_metric(labels, max(0.0, now - status.last_success_at))
            if status.last_duration is not None:
                duration.add_metric(labels, status.last_duration)
            for reason, count in sorted(status.failures.items()):
                failures.add_metric([*labels, reason], count)
        yield from (up, last_success, age, duration, polls, failures)

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
