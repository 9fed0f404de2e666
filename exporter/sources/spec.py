"""What a data source declares to be part of the exporter: one :class:`SourceSpec` per source.

The way node_exporter registers its collectors: a source's subpackage holds its fetch, snapshot,
families and configuration section, and a ``SPEC`` that names them. The registry
(:mod:`exporter.sources.registry`) lists the specs; configuration, flags, wiring, readiness,
HTTP routes and the landing page are driven from it, so a new source is its subpackage and one line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exporter.config import Config, Section
from exporter.github.client import GitHubClient
from exporter.privacy import UserLabels
from exporter.sources.base import Source
from exporter.state import ExporterState


@dataclass(frozen=True)
class Flag:
    """A command-line flag of the source's, in the style of Go exporters (``--usage.enabled``)."""

    option: str
    #: The key the flag's value is given to the section's parser under (``Given.flags``).
    dest: str
    metavar: str
    help: str


@dataclass(frozen=True, slots=True)
class SourceCost:
    """One source's API requests per poll and how often it polls, for the request budget's log."""

    requests_per_poll: int
    poll_interval: float

    @property
    def requests_per_hour(self) -> float:
        return self.requests_per_poll * 3600.0 / self.poll_interval


@dataclass(frozen=True)
class Wiring:
    """What a source's factory is built with, by :mod:`exporter.wiring`."""

    config: Config
    client: GitHubClient
    #: Shared by every source, so that a user's series of two sources carry the same user label.
    users: UserLabels
    clock: Callable[[], float] = time.time
    #: What the other enabled sources cost per poll, by name (the seat source logs the budget).
    costs: Mapping[str, SourceCost] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Served:
    """What a source's HTTP routes answer from: the snapshots being served, never GitHub."""

    config: Config
    state: ExporterState


#: An HTTP route's handler: the query string to a whole response.
Handler = Callable[[str], Awaitable[Response]]


@dataclass(frozen=True)
class SourceSpec:
    #: The ``source`` label of the health series, and the landing page's name of the source.
    name: str
    #: Builds the source; only called when :attr:`enabled` says so.
    factory: Callable[[Wiring], Source[Any]]
    #: Whether the configuration asks for the source (``auto`` decided here, e.g. by the API URL).
    enabled: Callable[[Config], bool] = lambda config: True
    #: The source's own section of the configuration file, if it has one.
    section: Section | None = None
    flags: tuple[Flag, ...] = ()
    #: True: every target must have served data once before the exporter is ready; False: the first
    #: poll of every target must have finished, successfully or not.
    gates_readiness: bool = False
    #: HTTP routes (path -> handler) answered from the snapshots served, sent after pending scrapes.
    routes: Callable[[Served], Mapping[str, Handler]] | None = None
    #: HTML of the landing page's links line (after Metrics, Health, Readiness), or "".
    links: Callable[[Config], str] = lambda config: ""
    #: The API requests of one poll of every target and the poll interval, for the request budget;
    #: None for the seat source, whose pages are counted by the budget itself.
    cost: Callable[[Config], SourceCost] | None = None
