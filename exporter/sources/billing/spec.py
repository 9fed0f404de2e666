"""The billing source's entry in the registry: the ``billing:`` section and billing's own token."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from prometheus_client.metrics_core import Metric

from exporter.config import Config, Section, Target
from exporter.errors import GitHubError, NotFoundError
from exporter.github.auth import TokenFile
from exporter.github.client import GitHubClient
from exporter.sources.billing import fetch
from exporter.sources.billing.config import KEYS, SECTION, Enabled, billing_config, parse_billing
from exporter.sources.billing.metrics import billing_families
from exporter.sources.billing.snapshot import BillingSnapshot
from exporter.sources.billing.source import BillingSource
from exporter.sources.spec import BackfillPart, BackfillWiring, DayReader, SourceCost, SourceSpec, Wiring

#: Billing usage is kept for 24 months.
RETENTION_YEARS = 2


def billing_client(config: Config, client: GitHubClient) -> GitHubClient:
    """The main client, or one sharing its connections and pacing but sending billing's own token."""
    token_file = billing_config(config).token_file
    if token_file is None or config.demo:
        return client
    return client.with_token(TokenFile(token_file))


def _source(wiring: Wiring) -> BillingSource:
    return BillingSource(wiring.config, billing_client(wiring.config, wiring.client), clock=wiring.clock)


def _enabled(config: Config) -> bool:
    # auto polls too: a 404 then means "no billing of the target's own" (BillingNotApplicableError).
    return billing_config(config).enabled is not Enabled.FALSE


def _cost(config: Config) -> SourceCost:
    # An enterprise's cost centers are not known before a poll: none counted.
    calls = sum(fetch.requests_per_poll(target) for target in config.targets)
    return SourceCost(calls, billing_config(config).poll_interval)


def _day_reader(wiring: BackfillWiring) -> DayReader:
    client = billing_client(wiring.config, wiring.client)

    async def read_day(target: Target, day: date) -> BillingSnapshot:
        return await fetch.fetch_billing_day(client, target, day, taken_at=wiring.taken_at(day))

    return read_day


def _day_families(wiring: BackfillWiring, snapshots: Sequence[BillingSnapshot]) -> Iterable[Metric]:
    return billing_families(snapshots)


def _oldest_day(today: date) -> date:
    try:
        return today.replace(year=today.year - RETENTION_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - RETENTION_YEARS, day=28)


def _too_old(first: date, oldest: date) -> str:
    return f"--from {first} is beyond GitHub's 24 months of billing usage: the oldest day is {oldest}"


def _not_its_own(config: Config, exc: GitHubError) -> str:
    # billing.enabled auto: a 404 means the target has no billing of its own (not a failure).
    if billing_config(config).enabled is Enabled.AUTO and type(exc) is NotFoundError:
        return "no billing of its own (billed through its enterprise); billing left out"
    return ""


BACKFILL = BackfillPart(
    reader=_day_reader,
    families=_day_families,
    oldest_day=_oldest_day,
    too_old=_too_old,
    # A 404 holds for every day: the target has no billing of its own.
    lasting=(NotFoundError,),
    not_its_own=_not_its_own,
    report="billing",
)

SPEC = SourceSpec(
    name="billing",
    factory=_source,
    enabled=_enabled,
    section=Section(SECTION, KEYS, parse_billing),
    cost=_cost,
    backfill=BACKFILL,
)
