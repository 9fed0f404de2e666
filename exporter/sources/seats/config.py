"""The seat source's settings: ``poll_interval``, ``activity_windows`` and ``seat_prices_usd``.

They are top-level keys of the file, as users' files have always had them, rather than a section of
their own: the seat source declares them as a top-level :class:`~exporter.config.Section`, and parses
and owns them here. ``seat_metrics`` (how per-user series name a user) is not among them: the usage
source and the commands read it too, so it stays in the shared configuration
(:mod:`exporter.config.seat_metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exporter.config import (
    ActivityWindow,
    Config,
    Given,
    format_duration,
    parse_duration,
    parse_poll_interval,
    section_of,
)
from exporter.config.model import PLANS
from exporter.config.quoting import shown
from exporter.errors import ConfigError

SECTION = "seats"
KEYS = ("poll_interval", "activity_windows", "seat_prices_usd")
DEFAULT_PRICES: Mapping[str, float] = {"business": 19.0, "enterprise": 39.0}
DEFAULT_WINDOWS = ("1d", "7d", "14d", "30d", "90d")
MAX_POLL_INTERVAL = 86400.0
#: GitHub clears ``last_activity_at`` after 90 idle days, so a longer window would undercount.
MAX_ACTIVITY_WINDOW = 90 * 86400.0


def price_for(prices: Mapping[str, float], plan_type: str) -> float:
    """A seat's monthly price: its plan's, or Business's for a plan not priced (always configured)."""
    return prices.get(plan_type, prices["business"])


def _default_windows() -> tuple[ActivityWindow, ...]:
    return tuple(ActivityWindow(w, parse_duration(w, "activity_windows")) for w in DEFAULT_WINDOWS)


@dataclass(frozen=True, slots=True)
class SeatsConfig:
    """The seat source: how often the seat lists are read, the activity windows and the seat prices."""

    poll_interval: float = 600.0
    #: The windows of ``github_copilot_seats_active``, shortest first.
    activity_windows: tuple[ActivityWindow, ...] = field(default_factory=_default_windows)
    #: List price per seat and month by plan, every plan of :data:`~exporter.config.model.PLANS` priced.
    seat_prices_usd: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def price(self, plan_type: str) -> float:
        return price_for(self.seat_prices_usd, plan_type)


def seats_config(config: Config) -> SeatsConfig:
    return section_of(config, SECTION, SeatsConfig)


def parse_seats(data: Mapping[str, Any], given: Given) -> SeatsConfig:
    """The seat source's top-level keys (those of :data:`KEYS` the file has) and ``--poll-interval``."""
    poll_text = str(given.value("poll_interval", data.get("poll_interval"), "10m"))
    poll_interval = parse_poll_interval(poll_text, "poll_interval", quote=True)
    if poll_interval > MAX_POLL_INTERVAL:
        raise ConfigError("poll_interval", f"{shown(poll_text)} is too long; the maximum is 1d")
    windows = data.get("activity_windows")
    prices = data.get("seat_prices_usd")
    return SeatsConfig(
        poll_interval=poll_interval,
        activity_windows=_default_windows() if windows is None else _windows(windows),
        seat_prices_usd=dict(DEFAULT_PRICES) if prices is None else _prices(prices),
    )


def _windows(value: Any) -> tuple[ActivityWindow, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError("activity_windows", "must be a non-empty list of durations, e.g. [1d, 7d, 30d]")
    seconds = sorted({parse_duration(str(item), "activity_windows") for item in value})
    if seconds[0] <= 0:
        raise ConfigError("activity_windows", "durations must be positive")
    if seconds[-1] > MAX_ACTIVITY_WINDOW:
        raise ConfigError(
            "activity_windows",
            f"{format_duration(seconds[-1])} is longer than the 90d of activity GitHub keeps",
        )
    return tuple(ActivityWindow(format_duration(s), s) for s in seconds)


def _prices(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError("seat_prices_usd", "must be a mapping such as {business: 19, enterprise: 39}")
    prices = dict(DEFAULT_PRICES)
    for plan, price in value.items():
        key = f"seat_prices_usd.{plan}"
        if plan not in PLANS:
            raise ConfigError(key, f"unknown plan; expected one of {', '.join(PLANS)}")
        if isinstance(price, bool) or not isinstance(price, int | float) or not 0 <= price < math.inf:
            raise ConfigError(key, f"must be a finite non-negative number, got {shown(price)}")
        prices[plan] = float(price)
    return prices
