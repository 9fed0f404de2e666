"""The seat-activity report: one row per seat, as GitHub's "Get report" CSV and more, in three formats.

GitHub's documented columns come first, in GitHub's order, so that a script written for GitHub's own
file reads this one; the exporter's additions follow. Rows are built from the seat snapshots alone
(one seat per user, enterprise grants merged), so the running exporter serves the very rows the
``report`` command prints for the same snapshot, without a request to GitHub.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from exporter.config import Target
from exporter.sources.seats.config import price_for
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.sources.seats.table import idle_reference

FORMATS = ("csv", "json", "table")
#: GitHub's report: ``organization`` only where the report covers more than one organization.
GITHUB_COLUMNS = ("report_time", "login", "last_authenticated_at", "last_activity_at", "last_surface_used")
ORGANIZATION = "organization"
EXTRA_COLUMNS = (
    "enterprise",
    "team",
    "plan_type",
    "created_at",
    "pending_cancellation_date",
    "idle_days",
    "monthly_cost_usd",
)
DAY = 86400.0
#: The first characters that make a spreadsheet read a cell as a formula (OWASP's CSV-injection rule).
FORMULA_STARTS = frozenset("=+-@\t\r")

Cell = str | int | float | None
Row = dict[str, Cell]


@dataclass(frozen=True, slots=True)
class SeatReport:
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def columns_for(targets: Sequence[Target]) -> tuple[str, ...]:
    """GitHub's organization report has no ``organization`` column; an enterprise's, or several, need one."""
    many_orgs = len(targets) > 1 or any(target.kind == "enterprise" for target in targets)
    return (*GITHUB_COLUMNS, *((ORGANIZATION,) if many_orgs else ()), *EXTRA_COLUMNS)


def iso_time(value: float | None) -> str | None:
    # time.gmtime, not datetime: a third of the cost, and defined for every time GitHub's answers parse to.
    if value is None:
        return None
    t = time.gmtime(value)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z"


def iso_date(value: float | None) -> str | None:
    """GitHub gives ``pending_cancellation_date`` as a date: it stays one."""
    if value is None:
        return None
    t = time.gmtime(value)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"


def _idle_seconds(reference: int, now: float) -> float:
    return float(max(0, math.floor(now) - reference))


def build_report(
    snapshots: Sequence[TargetSnapshot],
    login_label: Callable[[str], str],
    *,
    idle_days: float | None = None,
) -> SeatReport:
    """The rows of ``snapshots`` (in target order, then by organization and login).

    Idle time counts to each snapshot's own poll (``report_time``), not to the moment of the request
    as the idle metric does at scrape time, so the same snapshot always gives the same report. With
    ``idle_days``, only seats idle longer than that many days are kept, longest idle first.
    """
    columns = columns_for([snapshot.target for snapshot in snapshots])
    keyed: list[tuple[float, Row]] = []
    for snapshot in snapshots:
        now = snapshot.taken_at
        report_time = iso_time(now)
        prices = dict(snapshot.prices)
        for seat in snapshot.seats:
            idle = _idle_seconds(idle_reference(seat), now)
            if idle_days is not None and idle <= idle_days * DAY:
                continue
            row: Row = {
                "report_time": report_time,
                "login": login_label(seat.login) if seat.login else None,
                "last_authenticated_at": iso_time(seat.last_authenticated_at),
                "last_activity_at": iso_time(seat.last_activity_at),
                "last_surface_used": seat.last_activity_editor or None,
                ORGANIZATION: seat.org or None,
                "enterprise": snapshot.target.enterprise or None,
                "team": seat.team or None,
                "plan_type": seat.plan_type,
                "created_at": iso_time(seat.created_at),
                "pending_cancellation_date": iso_date(seat.pending_cancellation_date),
                "idle_days": int(idle // DAY),
                "monthly_cost_usd": price_for(prices, seat.plan_type),
            }
            keyed.append((idle, row))
    if idle_days is not None:
        keyed.sort(key=lambda item: -item[0])  # stable: ties keep target, organization and login order
    return SeatReport(columns, tuple(row for _, row in keyed))


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character is escaped with a quote."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def to_csv(report: SeatReport) -> str:
    """RFC 4180 (CRLF line ends, fields quoted where needed), every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(report.columns)
    columns = report.columns
    writer.writerows([spreadsheet_safe(_text(row[column])) for column in columns] for row in report.rows)
    return out.getvalue()


def to_json(report: SeatReport) -> str:
    """An array of objects with every column, ``null`` where GitHub has nothing."""
    rows = [{column: row[column] for column in report.columns} for row in report.rows]
    return json.dumps(rows, ensure_ascii=False) + "\n"


def _printable(text: str) -> str:
    # A newline or tab in a team name would break the alignment of every row after it.
    return "".join(c if c.isprintable() else " " for c in text) or "-"


def to_table(report: SeatReport) -> str:
    """Columns aligned for a terminal; ``-`` for an empty cell."""
    cells = [list(report.columns)]
    cells += [[_printable(_text(row[column])) for column in report.columns] for row in report.rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(report.columns))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in cells
    )


RENDERERS: Mapping[str, Callable[[SeatReport], str]] = {"csv": to_csv, "json": to_json, "table": to_table}
MEDIA_TYPES: Mapping[str, str] = {
    "csv": "text/csv; charset=utf-8; header=present",
    "json": "application/json",
    "table": "text/plain; charset=utf-8",
}


def render(report: SeatReport, fmt: str) -> bytes:
    return RENDERERS[fmt](report).encode("utf-8")
