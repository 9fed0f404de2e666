"""What polling costs against GitHub's rate limits, said in the log at start and after the first poll.

A seat poll asks for the Copilot billing summary of every organization target (one request) and every
page of 100 seats of every target. The other sources add their own requests on their own intervals (an
hour by default): each declares them in its registry entry (``SourceSpec.cost``), and the composition
root hands them here. GitHub's primary limit counts requests per
hour (5,000 for a user's token, up to 15,000 for a GitHub App on Enterprise Cloud), except conditional
requests answered ``304 Not Modified``, which are free; for a large enterprise most seat pages do change
between polls, since every active user moves ``last_activity_at``, so the budget assumes they all do.
The secondary limits (requests in flight, requests per minute per endpoint) are kept by the request
pacer; the pacing sets how long a seat poll takes at least, and a poll interval shorter than that leaves
no pause between polls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from exporter.config import Config, Target, format_duration
from exporter.github.client import PER_PAGE
from exporter.github.pacing import paced_seconds
from exporter.github.stats import ClientStats
from exporter.sources.seats.config import seats_config
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.sources.spec import SourceCost

log = logging.getLogger("exporter.sources.seats.budget")

#: The primary limit of a personal access token; GitHub's answers tell the real one after a request.
DEFAULT_HOURLY_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class Budget:
    seats: SourceCost
    hourly_limit: int
    #: How long a seat poll holds the request pacer: polls started closer together run back to back.
    min_poll_seconds: float
    #: The other enabled sources, by name.
    others: Mapping[str, SourceCost] = field(default_factory=dict)

    @property
    def other_requests_per_hour(self) -> float:
        return sum(c.requests_per_hour for c in self.others.values())

    @property
    def requests_per_hour(self) -> float:
        return self.seats.requests_per_hour + self.other_requests_per_hour

    @property
    def exhausts_limit(self) -> bool:
        return self.requests_per_hour > self.hourly_limit

    @property
    def shortest_interval(self) -> float:
        """The shortest seat poll interval (whole minutes) at which every page may change without
        exhausting the limit, next to what billing and usage take of it."""
        left = max(1.0, self.hourly_limit - self.other_requests_per_hour)
        seconds = self.seats.requests_per_poll * 3600.0 / left
        return max(60.0, math.ceil(seconds / 60.0) * 60.0)


def seat_pages(seat_entries: int) -> int:
    """Pages of a seat list: an empty list is still one request."""
    return max(1, math.ceil(seat_entries / PER_PAGE))


def estimate(
    config: Config,
    pages: Mapping[Target, int],
    hourly_limit: int | None = None,
    others: Mapping[str, SourceCost] | None = None,
) -> Budget:
    """The budget of polling ``config.targets`` when each has ``pages`` pages (1 where not known), beside
    what the ``others`` enabled sources cost; an enterprise's cost centers are not known (none counted)."""
    seat_calls = sum(1 for t in config.targets if t.kind == "org")
    per_poll = seat_calls + sum(pages.get(t, 1) for t in config.targets)
    paced = paced_seconds(per_poll, config.max_concurrency, config.requests_per_minute)
    return Budget(
        seats=SourceCost(per_poll, seats_config(config).poll_interval),
        hourly_limit=hourly_limit or DEFAULT_HOURLY_LIMIT,
        min_poll_seconds=paced,
        others=dict(others or {}),
    )


def _fields(budget: Budget) -> dict[str, object]:
    fields: dict[str, object] = {
        "seat_requests_per_poll": budget.seats.requests_per_poll,
        "poll_interval": format_duration(budget.seats.poll_interval),
    }
    for name, cost in budget.others.items():
        fields[f"{name}_requests_per_poll"] = cost.requests_per_poll
        fields[f"{name}_poll_interval"] = format_duration(cost.poll_interval)
    fields.update(
        {
            "requests_per_hour": round(budget.requests_per_hour),
            "rate_limit_per_hour": budget.hourly_limit,
            "min_poll_duration_seconds": round(budget.min_poll_seconds, 1),
        }
    )
    return fields


def _warn(config: Config, budget: Budget) -> None:
    if budget.exhausts_limit:
        log.warning(
            "the poll intervals can exhaust the GitHub rate limit when most seat pages change between polls "
            "(answers 304 Not Modified are free); polls would then fail until the limit resets",
            extra={
                **_fields(budget),
                "suggested_poll_interval": format_duration(budget.shortest_interval),
            },
        )
    if budget.min_poll_seconds >= seats_config(config).poll_interval:
        log.warning(
            "a poll takes longer than the poll interval at the configured request pacing; "
            "polls will run back to back",
            extra=_fields(budget),
        )


def log_expected(config: Config, others: Mapping[str, SourceCost]) -> Budget:
    """At start: what is known before any answer (seat and cost-center counts are not)."""
    budget = estimate(config, {}, others=others)
    log.info(
        "GitHub API budget before the first poll: at least this many requests per poll, "
        f"plus one per further {PER_PAGE} seats and, for billing, one per cost center of an enterprise",
        extra=_fields(budget),
    )
    _warn(config, budget)
    return budget


def log_measured(
    config: Config,
    snapshots: Sequence[TargetSnapshot],
    stats: ClientStats,
    others: Mapping[str, SourceCost],
) -> Budget:
    """After the first poll: the page counts it found and the limit GitHub announced."""
    pages = {snapshot.target: seat_pages(snapshot.entries) for snapshot in snapshots}
    core = stats.rate_limits().get("core")
    budget = estimate(config, pages, core.limit if core is not None else None, others)
    unknown = [str(t) for t in config.targets if t not in pages]
    extra = _fields(budget)
    if unknown:
        extra["targets_not_polled_yet"] = ",".join(unknown)
    log.info("GitHub API budget measured by the first poll", extra=extra)
    _warn(config, budget)
    return budget
