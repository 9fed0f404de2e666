"""The seat source's entry in the registry: always on, gates readiness, serves the seat report."""

from __future__ import annotations

from collections.abc import Mapping

from exporter.config import Config, SeatMetricsMode, Section
from exporter.sources.seats.config import KEYS, SECTION, parse_seats
from exporter.sources.seats.served_report import SEAT_REPORT_PATHS, SeatReports
from exporter.sources.seats.source import SeatSource
from exporter.sources.spec import Handler, Served, SourceSpec, Wiring

REPORT_LINKS = (
    ' &middot; Seat report: <a href="/seats.csv">CSV</a>, <a href="/seats.json">JSON</a>'
    ' &middot; Reclaim plan: <a href="/reclaim.csv">CSV</a>, <a href="/reclaim.json">JSON</a>'
)


def _source(wiring: Wiring) -> SeatSource:
    return SeatSource(wiring.config, wiring.client, wiring.users, clock=wiring.clock, costs=wiring.costs)


def _routes(served: Served) -> Mapping[str, Handler]:
    # Built once per poll in a thread of its own: the report of 100,000 seats takes a second.
    reports = SeatReports(served.config, served.state)

    def seat_report(fmt: str) -> Handler:
        return lambda query: reports.response(fmt, query)

    return {path: seat_report(fmt) for path, fmt in SEAT_REPORT_PATHS.items()}


def _links(config: Config) -> str:
    return REPORT_LINKS if config.seat_metrics is not SeatMetricsMode.OFF else ""


SPEC = SourceSpec(
    name="seats",
    factory=_source,
    # Top-level keys, where users' files have always had them.
    section=Section(SECTION, KEYS, parse_seats, top_level=True),
    gates_readiness=True,
    routes=_routes,
    links=_links,
)
