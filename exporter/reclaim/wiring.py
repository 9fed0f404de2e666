"""What ``reclaim`` reads and writes with: one poll of seats (and usage), and the write credential.

The sources come from the composition root (:mod:`exporter.wiring`), as the ``report`` command's do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from exporter.config import Config, Secret
from exporter.config.values import read_private_key, read_token_file
from exporter.errors import ConfigError, ExporterError
from exporter.github.auth import AppInstallationTokens, TokenFile, TokenSource
from exporter.poller import Poller
from exporter.reclaim.policy import usage_activity
from exporter.sources.base import Source
from exporter.sources.billing.config import billing_config
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.sources.usage.snapshot import UsageSnapshot
from exporter.state import ExporterState

NO_WRITE_CREDENTIAL = (
    "reclaim apply needs a write credential of its own: reclaim.token_file (a token of an organization "
    "owner with manage_billing:copilot or admin:org, or a fine-grained token with the organization "
    'permission "GitHub Copilot Business": write), or reclaim.app_id and reclaim.app_private_key_file '
    "(a GitHub App installed with that permission). The read token is never used to write."
)


class PollFailedError(ExporterError):
    """A target could not be read; the message is one line, as the exporter would log it."""


@dataclass(frozen=True)
class World:
    seats: tuple[TargetSnapshot, ...]
    #: Login (lower case) -> end of the newest day a usage report shows the user active.
    usage: dict[str, float]


async def read_world(sources: Sequence[Source[Any]]) -> World:
    """One poll of every target of ``sources`` (the seats, and the usage reports where they are
    enabled, built by :mod:`exporter.wiring`); all or nothing."""
    state = ExporterState((source.name, target) for source in sources for target in source.targets)
    await Poller(sources, state).poll_once()
    statuses = [status for source in sources for status in state.of_source(source.name)]
    failed = [status for status in statuses if not status.up]
    if failed:
        reasons = (
            f"{s.source} of {s.target}: {s.error_reason}: {' '.join(s.error_message.split())}" for s in failed
        )
        raise PollFailedError("; ".join(reasons))
    seats = tuple(s.snapshot for s in state.of_source("seats") if isinstance(s.snapshot, TargetSnapshot))
    usage = [s.snapshot for s in state.of_source("usage") if isinstance(s.snapshot, UsageSnapshot)]
    return World(seats, usage_activity(usage))


def read_credentials(config: Config) -> list[Secret]:
    """The read tokens in the configuration, which the write credential must not be."""
    secrets = [s for s in (config.token,) if s is not None]
    for path in (config.token_file, billing_config(config).token_file):
        if path is not None:
            # The read path itself reports a file it cannot read.
            with contextlib.suppress(ConfigError):
                secrets.append(read_token_file(path))
    return secrets


def write_token(config: Config, http: httpx.AsyncClient | None = None) -> TokenSource:
    """The write credential of ``reclaim.*``, refused when absent or when it is a read credential."""
    reclaim = config.reclaim
    if reclaim.token_file is not None:
        try:
            token = read_token_file(reclaim.token_file)
        except ConfigError as exc:
            raise ConfigError("reclaim.token_file", exc.message) from None
        if token in read_credentials(config):
            raise ConfigError(
                "reclaim.token_file",
                "holds the read token; give reclaim a token of its own, with write permission",
            )
        return TokenFile(reclaim.token_file)
    if reclaim.app_id is not None and reclaim.app_private_key_file is not None:
        if reclaim.app_id == config.app_id:
            raise ConfigError(
                "reclaim.app_id",
                "is the app that reads; give reclaim an app of its own, with write permission",
            )
        try:
            key = read_private_key(reclaim.app_private_key_file)
        except ConfigError as exc:
            raise ConfigError("reclaim.app_private_key_file", exc.message) from None
        return AppInstallationTokens(
            config.api_url,
            reclaim.app_id,
            key,
            installation_id=reclaim.app_installation_id,
            http=http,
            timeout=config.request_timeout,
        )
    raise ConfigError("reclaim.token_file", NO_WRITE_CREDENTIAL)
