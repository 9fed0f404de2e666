"""The ``billing:`` section: whether and how often to read spend, AI credits and budgets, with which token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.config import Config, parse_poll_interval, values
from exporter.config.model import PLANS
from exporter.config.model import Enabled as Enabled
from exporter.config.quoting import shown
from exporter.config.sections import Given, section_of
from exporter.errors import ConfigError

SECTION = "billing"
KEYS = ("enabled", "poll_interval", "token_file", "ai_credits_per_seat")
DEFAULT_CREDITS_PER_SEAT: Mapping[str, float] = {"business": 1900.0, "enterprise": 3900.0}
DEFAULT_BILLING_INTERVAL = 3600.0


@dataclass(frozen=True)
class BillingConfig:
    """The billing source: spend, AI credits and budgets from GitHub's billing APIs."""

    #: auto: poll, and treat a 404 as "this target has no billing of its own"; true: poll, and a 404 is an
    #: error; false: no billing source.
    enabled: Enabled = Enabled.AUTO
    poll_interval: float = DEFAULT_BILLING_INTERVAL
    #: A separate token for the billing APIs (re-read when it changes); None: the main credentials.
    token_file: Path | None = None
    #: Monthly AI credits included with a seat, by plan, for pools GitHub does not size itself.
    ai_credits_per_seat: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CREDITS_PER_SEAT))


def billing_config(config: Config) -> BillingConfig:
    return section_of(config, SECTION, BillingConfig)


def parse_billing(billing: Mapping[str, Any], given: Given) -> BillingConfig:
    enabled = billing.get("enabled", "auto")
    mode = values.enabled(enabled, "billing.enabled")
    interval = parse_poll_interval(str(billing.get("poll_interval", "1h")), "billing.poll_interval")
    token_value = billing.get("token_file")
    token_file = Path(values.string(token_value, "billing.token_file")) if token_value else None
    if token_file is not None and not given.demo:
        try:
            values.read_token_file(token_file)  # fail at start-up, not at the first billing poll
        except ConfigError as exc:
            raise ConfigError("billing.token_file", exc.message) from None
    credits = dict(DEFAULT_CREDITS_PER_SEAT)
    given_credits = billing.get("ai_credits_per_seat")
    if given_credits is not None:
        if not isinstance(given_credits, Mapping):
            raise ConfigError("billing.ai_credits_per_seat", "must map plans to credits per seat")
        for plan, amount in given_credits.items():
            key = f"billing.ai_credits_per_seat.{plan}"
            if plan not in PLANS:
                raise ConfigError(key, f"unknown plan; expected one of {', '.join(PLANS)}")
            if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount < 1e9:
                raise ConfigError(key, f"must be a number of credits >= 0, got {shown(amount)}")
            credits[plan] = float(amount)
    return BillingConfig(
        enabled=mode, poll_interval=interval, token_file=token_file, ai_credits_per_seat=credits
    )
