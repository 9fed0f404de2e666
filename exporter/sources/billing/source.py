"""The billing source: month-to-date and yesterday's Copilot spend, AI-credit pools and budgets, per target.

Billing has its own permissions, so its failures are its own: a token that may read seats but not
billing fails this source alone (``github_copilot_up{source="billing"}`` 0, reason ``forbidden`` with the
access to grant), and the seat metrics go on. With ``billing.enabled: auto`` a 404 means the target has
no billing of its own (an organization billed through its enterprise): reason ``not_applicable``,
logged once at info and not alerted on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import Metric

from exporter.config import Config, Target
from exporter.errors import NotFoundError, PermissionDeniedError
from exporter.github.client import GitHubClient
from exporter.sources.base import PolledSource
from exporter.sources.billing.config import BillingConfig, Enabled, billing_config
from exporter.sources.billing.errors import (
    BillingNotApplicableError,
    BillingNotFoundError,
    BillingPermissionError,
)
from exporter.sources.billing.fetch import fetch_billing
from exporter.sources.billing.metrics import billing_families
from exporter.sources.billing.snapshot import BillingSnapshot


class BillingSource(PolledSource[BillingConfig]):
    name = "billing"

    def __init__(
        self, config: Config, client: GitHubClient, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config, billing_config(config), clock)
        self.client = client

    async def fetch(self, target: Target, previous: BillingSnapshot | None) -> BillingSnapshot:
        try:
            return await fetch_billing(
                self.client,
                target,
                now=self._clock(),
                clock=self._clock,
                credits_per_seat=self.settings.ai_credits_per_seat,
            )
        # Only GitHub's own answers are translated: an app's missing installation keeps its own hint.
        except PermissionDeniedError as exc:
            if type(exc) is not PermissionDeniedError:
                raise
            raise BillingPermissionError(str(exc), status=exc.status, url=exc.url) from None
        except NotFoundError as exc:
            if type(exc) is not NotFoundError:
                raise
            if self.settings.enabled is Enabled.AUTO:
                raise BillingNotApplicableError(str(exc), status=exc.status, url=exc.url) from None
            raise BillingNotFoundError(str(exc), status=exc.status, url=exc.url) from None

    def families(self, snapshots: Sequence[BillingSnapshot], now: float) -> Iterable[Metric]:
        return billing_families(snapshots)

    def prepare(self, snapshots: Sequence[BillingSnapshot]) -> None:
        """Nothing to precompute: a few hundred samples per target are laid out at scrape time."""

    def describe_snapshot(self, snapshot: BillingSnapshot) -> str:
        month = sum(item.net_amount_usd for item in snapshot.items if item.period == "month")
        return f"US${month:,.2f} net this month, {len(snapshot.budgets)} budgets"
