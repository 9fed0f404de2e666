"""``/seats.csv`` and ``/seats.json``: the seat-activity report from the snapshots being served.

No request reaches GitHub: the rows come from the last complete poll of every seat target, the same
data the metrics show. Basic auth and TLS apply as to ``/metrics`` (the web layer wraps every path).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from exporter.config import Config
from exporter.privacy import UserLabels
from exporter.sources.seats.report import MEDIA_TYPES, build_report, render
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.state import ExporterState

#: Path -> format.
SEAT_REPORT_PATHS = {"/seats.csv": "csv", "/seats.json": "json"}
SEAT_SOURCE = "seats"
_TEXT = {"content-type": "text/plain; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def _text(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode(), dict(_TEXT))


def parse_idle_days(query: str) -> int | None:
    """``?idle_days=N``: a whole number of days >= 0; ValueError for anything else."""
    values = parse_qs(query, keep_blank_values=True).get("idle_days")
    if not values:
        return None
    text = values[-1].strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise ValueError(f"idle_days must be a whole number of days, got {text[:20]!r}")
    return int(text)


def seat_report_response(config: Config, state: ExporterState, fmt: str, query: str) -> Response:
    """The report in ``fmt``; blocking (builds every row), so the app runs it in a worker thread."""
    users = UserLabels(config)
    if not users.enabled:
        return _text(403, "the seat report is disabled: seat_metrics is off, so no user is named")
    try:
        idle_days = parse_idle_days(query)
    except ValueError as exc:
        return _text(400, f"bad request: {exc}")
    statuses = state.of_source(SEAT_SOURCE)
    waiting = [str(status.target) for status in statuses if status.snapshot is None]
    if waiting:
        return _text(503, "no seat data yet: waiting for the first poll of " + ", ".join(waiting))
    snapshots = [s.snapshot for s in statuses if isinstance(s.snapshot, TargetSnapshot)]
    report = build_report(snapshots, users, idle_days=idle_days)
    headers = {
        "content-type": MEDIA_TYPES[fmt],
        "content-disposition": f'attachment; filename="copilot-seats.{fmt}"',
        "cache-control": "no-store",
    }
    return Response(200, render(report, fmt), headers)
