"""The composition root: configuration, the GitHub client and its credentials, and the data sources.

The serving exporter (:mod:`exporter.web.server`) and every command (:mod:`exporter.commands`) build
what they run with here, from the registry of sources (:mod:`exporter.sources.registry`); nothing
below this module knows which sources there are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from exporter.config import Config
from exporter.config import build_config as build_core_config
from exporter.github.auth import AppInstallationTokens, StaticToken, TokenFile, TokenSource
from exporter.github.client import GitHubClient, http_client
from exporter.github.downloads import DownloadLimits
from exporter.github.pacing import RequestPacer
from exporter.github.retrying import RetryPolicy
from exporter.privacy import UserLabels
from exporter.sources import registry
from exporter.sources.base import Source
from exporter.sources.seats.config import seats_config
from exporter.sources.spec import SourceCost, SourceSpec, Wiring
from exporter.sources.usage.config import limits_for


def build_config(
    flags: Mapping[str, Any],
    file_data: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """The validated configuration, with the section of every registered source parsed by its owner."""
    sections = [spec.section for spec in registry.specs() if spec.section is not None]
    return build_core_config(flags, file_data, environ, sections)


def specs() -> tuple[SourceSpec, ...]:
    return registry.specs()


def enabled_specs(config: Config) -> list[SourceSpec]:
    return [spec for spec in registry.specs() if spec.enabled(config)]


def build_sources(
    config: Config,
    client: GitHubClient,
    *,
    users: UserLabels | None = None,
    clock: Callable[[], float] = time.time,
    only: tuple[str, ...] = (),
) -> list[Source[Any]]:
    """The data sources the configuration enables (of ``only``, when given), in the registry's order."""
    # One UserLabels: a user's seat and usage series carry the same user label, so they join.
    wiring = Wiring(
        config, client, users if users is not None else UserLabels(config), clock, source_costs(config)
    )
    return [spec.factory(wiring) for spec in enabled_specs(config) if not only or spec.name in only]


def source_costs(config: Config) -> dict[str, SourceCost]:
    """What each enabled source but the seats costs per poll, for the request budget's log."""
    return {spec.name: spec.cost(config) for spec in enabled_specs(config) if spec.cost is not None}


def readiness_gates() -> frozenset[str]:
    """Sources whose every target must have served data once before the exporter is ready."""
    return frozenset(spec.name for spec in registry.specs() if spec.gates_readiness)


def build_client(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> GitHubClient:
    if config.demo and transport is None:
        # The demo world is imported only when demo data is asked for.
        from exporter.demo.world import DEMO_DOWNLOAD_HOST, demo_app

        demo = http_client(transport=httpx.ASGITransport(demo_app()))
        links = DownloadLimits.for_api("http://github.demo", ("http", DEMO_DOWNLOAD_HOST, 80))
        return GitHubClient("http://github.demo", StaticToken(None), http=demo, downloads=links)
    http = http_client(timeout=config.request_timeout, transport=transport)
    return GitHubClient(
        config.api_url,
        token_source(config, http),
        http=http,
        pacer=RequestPacer(config.max_concurrency, config.requests_per_minute),
        # Waiting out a rate limit longer than the poll interval only delays every target's next poll;
        # failing the poll keeps the schedule and shows the throttling on github_copilot_up.
        retry=RetryPolicy(max_rate_limit_wait=min(900.0, seats_config(config).poll_interval)),
        downloads=limits_for(config),
    )


def token_source(config: Config, http: httpx.AsyncClient | None = None) -> TokenSource:
    if config.app_id is not None and config.app_private_key is not None:
        return AppInstallationTokens(
            config.api_url,
            config.app_id,
            config.app_private_key,
            installation_id=config.app_installation_id,
            http=http,
            timeout=config.request_timeout,
        )
    if config.token_file is not None:
        return TokenFile(config.token_file)
    return StaticToken(config.token)
