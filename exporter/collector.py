"""Every ``github_copilot_*`` metric is computed here, at scrape time, from the published snapshots.

``collect()`` reads the state once (an atomic reference), does no I/O and only derives what depends on
the time of the scrape: active-within-window counts, idle seconds and the cost of idle seats. The
per-seat series are laid out once per change of the seat lists (:class:`~exporter.exposition.SeatTable`)
and reach ``/metrics`` through the fast path of :func:`exporter.exposition.render`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import platform
import threading
import time
import weakref
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.config import Config, format_duration
from exporter.exposition import (
    CREATED,
    IDLE,
    INFO,
    LAST_ACTIVITY,
    LAST_AUTHENTICATED,
    PENDING_CANCELLATION,
    SeatFamily,
    SeatRow,
    SeatTable,
    render,
)
from exporter.github import ClientStats
from exporter.seats import BILLING_STATES, POLICY_FIELDS
from exporter.state import ExporterState, TargetStatus

GROUP_LABELS = ["enterprise", "org", "team", "plan_type"]
SEAT_LABELS = ["enterprise", "org", "user"]
TARGET_LABELS = ["enterprise", "org"]
#: The per-seat families by kind: name and help.
SEAT_FAMILIES: dict[str, tuple[str, str]] = {
    IDLE: (
        "github_copilot_seat_idle_seconds",
        "Seconds since the seat's last activity, or since it was assigned when GitHub reports none.",
    ),
    LAST_ACTIVITY: (
        "github_copilot_seat_last_activity_timestamp_seconds",
        "Unix time of the seat's last Copilot activity; absent when GitHub reports none.",
    ),
    LAST_AUTHENTICATED: (
        "github_copilot_seat_last_authenticated_timestamp_seconds",
        "Unix time the seat's user last authenticated with Copilot; absent when GitHub reports none.",
    ),
    CREATED: (
        "github_copilot_seat_created_timestamp_seconds",
        "Unix time the seat was (last) assigned to the user.",
    ),
    PENDING_CANCELLATION: (
        "github_copilot_seat_pending_cancellation_timestamp_seconds",
        "Unix time at which a seat pending cancellation stops being billed; absent for other seats.",
    ),
    INFO: (
        "github_copilot_seat_info",
        "Metadata of a seat (always 1): assigning team, plan, editor family of the last activity.",
    ),
}
SEAT_NAMES = {kind: name for kind, (name, _) in SEAT_FAMILIES.items()}
#: How often the warmer looks for new snapshots whose per-seat series it lays out before a scrape asks.
WARM_INTERVAL = 1.0


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
        self._table: SeatTable | None = None
        self._table_lock = threading.Lock()
        if config.seat_metrics != "off":
            threading.Thread(
                target=_warm, args=(weakref.ref(self),), name="exposition-warmer", daemon=True
            ).start()

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
        windows = [(w.label, now - w.seconds) for w in self.config.activity_windows]
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
        yield from (seats, active, without, pending, cost, idle_cost, editors, billing, org_info)

        table = self._seat_table(statuses)
        for kind, (name, text) in SEAT_FAMILIES.items():
            if table is None:
                yield GaugeMetricFamily(name, h(text), labels=SEAT_LABELS)
            else:
                yield SeatFamily(name, h(text), table, kind, now)
        dropped = table.dropped if table is not None else 0
        cut = GaugeMetricFamily(
            "github_copilot_seat_series_dropped",
            "Seats left without per-seat series because seat_metrics.max_series was reached.",
        )
        cut.add_metric([], dropped)
        yield cut

    def _seat_table(self, statuses: list[TargetStatus]) -> SeatTable | None:
        """The per-seat series of the current snapshots, laid out again only when a seat list changed."""
        if self.config.seat_metrics == "off":
            return None
        key = tuple(s.snapshot.seats if s.snapshot is not None else None for s in statuses)
        # Scrapes arriving while the table is built wait for it rather than each building their own.
        with self._table_lock:
            table = self._table
            if table is None or not _same(table.key, key):
                self._table = table = None  # let the old layout go before the new one is built
                table = SeatTable(key, SEAT_NAMES, functools.partial(self._seat_rows, statuses))
                self._table = table
            return table

    def prepare(self) -> None:
        """Lay out the per-seat series of new snapshots now, so that no scrape waits for it.

        For 100,000 seats that takes a second or two, which would otherwise fall on the first scrape
        after every poll that changed a seat. Renders once into the void per exposition format
        Prometheus and people negotiate; a no-op while the snapshots are unchanged.
        """
        if self.config.seat_metrics == "off":
            return
        statuses = list(self.state.statuses.values())
        table = self._table
        key = tuple(s.snapshot.seats if s.snapshot is not None else None for s in statuses)
        if table is not None and _same(table.key, key):
            return
        if all(seats is None for seats in key):
            return
        only_this = _Only(self)
        for accept in ("", OPENMETRICS_ACCEPT):
            render(only_this, accept, "gzip")

    def _seat_rows(self, statuses: list[TargetStatus]) -> tuple[list[SeatRow], int]:
        budget = self.config.max_seat_series
        rows: list[SeatRow] = []
        dropped = 0
        for status in statuses:
            if status.snapshot is None:
                continue
            enterprise = status.snapshot.target.enterprise
            for seat in status.snapshot.seats:
                if not seat.login:
                    continue  # no user to name: counted in the aggregates only
                if len(rows) >= budget:
                    dropped += 1
                    continue
                rows.append((enterprise, seat, self.user_label(seat.login)))
        return rows, dropped

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


OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0"


def _same(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


class _Only:
    """One collector as the registry-like object the renderer reads."""

    def __init__(self, collector: CopilotCollector) -> None:
        self._collector = collector

    def collect(self) -> Iterator[Metric]:
        return self._collector.collect()


def _warm(ref: weakref.ref[CopilotCollector]) -> None:
    """Runs beside the collector and ends with it (it holds no strong reference to it)."""
    log = logging.getLogger("exporter.collector")
    while True:
        time.sleep(WARM_INTERVAL)
        collector = ref()
        if collector is None:
            return
        try:
            collector.prepare()
        except Exception:  # the scrape path builds what the warmer could not, and logs nothing twice
            log.exception("preparing the per-seat series failed")
        del collector
