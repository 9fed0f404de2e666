"""The billing source's entry in the registry: the ``billing:`` section and billing's own token."""

from __future__ import annotations

from exporter.config import Config, Section
from exporter.github.auth import TokenFile
from exporter.github.client import GitHubClient
from exporter.sources.billing import fetch
from exporter.sources.billing.config import KEYS, SECTION, Enabled, billing_config, parse_billing
from exporter.sources.billing.source import BillingSource
from exporter.sources.spec import SourceCost, SourceSpec, Wiring


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


SPEC = SourceSpec(
    name="billing",
    factory=_source,
    enabled=_enabled,
    section=Section(SECTION, KEYS, parse_billing),
    cost=_cost,
)
