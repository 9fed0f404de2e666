"""What a data source declares to be part of the exporter: one :class:`SourceSpec` per source.

The way node_exporter registers its collectors: a source's subpackage holds its fetch, snapshot,
families and configuration section, and a ``SPEC`` that names them. The registry
(:mod:`exporter.sources.registry`) lists the specs; configuration, flags, wiring, readiness,
HTTP routes and the landing page are driven from it, so a new source is its subpackage and one line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from prometheus_client.metrics_core import Metric

from exporter.config import Config, Section, Target
from exporter.errors import GitHubError
from exporter.github.client import GitHubClient
from exporter.privacy import UserLabels
from exporter.sources.base import Source
from exporter.state import ExporterState
from exporter.workers import WorkerPool


@dataclass(frozen=True)
class Flag:
    """A command-line flag of the source's, in the style of Go exporters (``--usage.enabled``)."""

    option: str
    #: The key the flag's value is given to the section's parser under (``Given.flags``).
    dest: str
    metavar: str
    help: str


def report_switch(section: str, what: str) -> Flag:
    """``--SECTION.enabled`` of a source of usage-metrics reports, which GitHub Enterprise Server lacks."""
    return Flag(
        f"--{section}.enabled",
        f"{section}_enabled",
        "MODE",
        f"{what}: auto (default: on, except on GitHub Enterprise Server), true or false",
    )


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
class BackfillWiring:
    """What a source's backfill part is built with, by the ``backfill`` command."""

    config: Config
    client: GitHubClient
    #: The newest day's date (UTC) of the run, for the snapshots' finality.
    today: date
    #: The user label of per-user series, or None when they are left out (mode off, ``--no-per-user``).
    user_label: Callable[[str], str] | None
    #: When the samples of a day are stamped (Unix time), as the backfill writes them.
    taken_at: Callable[[date], float]
    #: Processes to parse report lines in while the next ones download; None: parse in this one.
    workers: WorkerPool | None = None


def days_back(days: int) -> Callable[[date], date]:
    """A :attr:`BackfillPart.oldest_day` for history kept ``days`` days."""
    return lambda today: today - timedelta(days=days)


#: One target's day, read whole: its snapshot, or None when GitHub has no report of that day.
DayReader = Callable[[Target, date], Awaitable[Any | None]]


@dataclass(frozen=True)
class BackfillPart:
    """What a source contributes to ``backfill``: past days read with its live code, and its families."""

    #: Builds the source's day reader: ``read_day(target, day)``.
    reader: Callable[[BackfillWiring], DayReader]
    #: The families of one day's snapshots of every target (only called with at least one snapshot).
    families: Callable[[BackfillWiring, Sequence[Any]], Iterable[Metric]]
    #: The oldest day GitHub still keeps of the source, given today (UTC).
    oldest_day: Callable[[date], date]
    #: Why a ``--from`` before :attr:`oldest_day` is refused: (the day given, the oldest day) -> message.
    too_old: Callable[[date, date], str]
    #: Refusals that hold for every day besides no access (which holds for every source): the
    #: source stops for the target instead of failing every day anew.
    lasting: tuple[type[GitHubError], ...] = ()
    #: For a lasting refusal that only means the target has nothing of its own (billing through the
    #: enterprise): the line logged instead of a failure; "" when it is a failure.
    not_its_own: Callable[[Config, GitHubError], str] = lambda config, exc: ""
    #: What the log calls the report of a day GitHub has none of ("usage report").
    report: str = "report"
    #: Whether a target's day without a report counts in the summary ("without a usage report").
    counts_missing: bool = False
    #: The settings that shape the output, by name: a resumed run must have the same.
    options: Callable[[Config], Mapping[str, Any]] = lambda config: {}


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
    #: What the source contributes to ``backfill``; None when GitHub keeps no history of it.
    backfill: BackfillPart | None = None
