"""The seat metrics: every ``github_copilot_seat*`` family, computed at scrape time from the snapshots.

Nothing here does I/O. Only what depends on the time of the scrape is derived per scrape: active-within-
window counts, idle seconds and the cost of idle seats. The per-seat series are laid out once per change
of the seat lists (:class:`~exporter.sources.seats.table.SeatTable`) and reach ``/metrics`` through the
fast path of :func:`exporter.exposition.render`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.caching import same_objects
from exporter.config import Config, format_duration
from exporter.exposition import LaidOutFamily, lay_out
from exporter.privacy import UserLabels, unique_labels
from exporter.sources.seats.config import seats_config
from exporter.sources.seats.model import BILLING_STATES, POLICY_FIELDS
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.sources.seats.table import (
    CREATED,
    IDLE,
    INFO,
    LAST_ACTIVITY,
    LAST_AUTHENTICATED,
    PENDING_CANCELLATION,
    SeatRow,
    SeatTable,
)

log = logging.getLogger("exporter.sources.seats")

GROUP_LABELS = ["enterprise", "org", "team", "plan_type"]
SEAT_LABELS = ["enterprise", "org", "user"]
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


class SeatMetrics:
    """The seat families of one exporter, with the per-seat layout cached between scrapes."""

    def __init__(self, config: Config, users: UserLabels) -> None:
        self.config = config
        self.users = users
        self._refresh = (
            f"Refreshed from the GitHub API every {format_duration(seats_config(config).poll_interval)}."
        )
        self._table: SeatTable | None = None
        # Scrapes arriving while the table is built wait for it rather than each building their own.
        self._table_lock = threading.Lock()
        self._dropped = 0

    def _help(self, text: str) -> str:
        return f"{text} {self._refresh}"

    def families(self, snapshots: Sequence[TargetSnapshot], now: float) -> Iterator[Metric]:
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
        windows = [(w.label, now - w.seconds) for w in seats_config(self.config).activity_windows]
        for snap in snapshots:
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

        table = self._seat_table(snapshots)
        for kind, (name, text) in SEAT_FAMILIES.items():
            if table is None:
                yield GaugeMetricFamily(name, h(text), labels=SEAT_LABELS)
            else:
                yield LaidOutFamily(name, h(text), table, kind, now)
        dropped = table.dropped if table is not None else 0
        cut = GaugeMetricFamily(
            "github_copilot_seat_series_dropped",
            "Seats left without per-seat series because seat_metrics.max_series was reached.",
        )
        cut.add_metric([], dropped)
        yield cut

    def _seat_table(self, snapshots: Sequence[TargetSnapshot]) -> SeatTable | None:
        """The per-seat series of the current snapshots, laid out again only when a seat list changed."""
        if not self.users.enabled:
            return None
        key = tuple(s.seats for s in snapshots)
        # Scrapes arriving while the table is built wait for it rather than each building their own.
        with self._table_lock:
            table = self._table
            if table is None or not same_objects(table.key, key):
                self._table = table = None  # let the old layout go before the new one is built
                table = SeatTable(key, SEAT_NAMES, functools.partial(self._seat_rows, snapshots))
                self._table = table
            return table

    def prepare(self, snapshots: Sequence[TargetSnapshot]) -> None:
        """Lay out the per-seat series of new snapshots now, so that no scrape waits for it.

        For 100,000 seats that takes a second or two, which would otherwise fall on the first scrape
        after every poll that changed a seat. Lays out the cached text of each exposition format
        Prometheus and people negotiate; a no-op while the snapshots are unchanged.
        """
        if not self.users.enabled or not snapshots:
            return
        table = self._table
        if table is not None and same_objects(table.key, tuple(s.seats for s in snapshots)):
            return
        lay_out(list(self.families(snapshots, time.time())))
        self._log_series_cap(self._table.dropped if self._table is not None else 0)

    def _log_series_cap(self, dropped: int) -> None:
        if dropped != self._dropped:
            self._dropped = dropped
            if dropped:
                log.warning(
                    "too many seats for per-seat series; the rest are only in the aggregates",
                    extra={"max_series": self.config.max_seat_series, "dropped": dropped},
                )

    def _seat_rows(self, snapshots: Sequence[TargetSnapshot]) -> tuple[list[SeatRow], int]:
        budget = self.config.max_seat_series
        # Seats without a login have no user to name: they are counted in the aggregates only.
        named = [(s.target.enterprise, seat) for s in snapshots for seat in s.seats if seat.login]
        labels = unique_labels([((e, seat.org), seat.login, seat.user_id) for e, seat in named], self.users)
        rows: list[SeatRow] = [
            (e, seat, label) for (e, seat), label in zip(named[:budget], labels, strict=False)
        ]
        return rows, len(named) - len(rows)
