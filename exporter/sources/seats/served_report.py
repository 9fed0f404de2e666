"""``/seats.csv`` and ``/seats.json``: the seat-activity report from the snapshots being served.

No request reaches GitHub: the rows come from the last complete poll of every seat target, the same
data the metrics show. Basic auth and TLS apply as to ``/metrics`` (the web layer wraps every path).

A report of 50,000 seats takes about a second of CPU to build, so clients looping on it must not
starve ``/metrics``: each report is built once per set of snapshots (the same snapshots always give
the same report), one build at a time, in a thread of its own rather than the pool ``/metrics``
renders in; every other request for it is answered from the cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from exporter.config import Config
from exporter.privacy import UserLabels
from exporter.sources.seats.report import MEDIA_TYPES, build_report, render
from exporter.sources.seats.snapshot import TargetSnapshot
from exporter.sources.spec import Response
from exporter.state import ExporterState

log = logging.getLogger("exporter.sources.seats.served_report")
#: Path -> format.
SEAT_REPORT_PATHS = {"/seats.csv": "csv", "/seats.json": "json"}
SEAT_SOURCE = "seats"
_TEXT = {"content-type": "text/plain; charset=utf-8"}


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


_Snapshots = tuple[TargetSnapshot, ...]


def _check(config: Config, state: ExporterState, query: str) -> Response | tuple[int | None, _Snapshots]:
    """An error answer, or the report's ``idle_days`` and the snapshots it is built from."""
    if not UserLabels(config).enabled:
        return _text(403, "the seat report is disabled: seat_metrics is off, so no user is named")
    try:
        idle_days = parse_idle_days(query)
    except ValueError as exc:
        return _text(400, f"bad request: {exc}")
    statuses = state.of_source(SEAT_SOURCE)
    waiting = [str(status.target) for status in statuses if status.snapshot is None]
    if waiting:
        return _text(503, "no seat data yet: waiting for the first poll of " + ", ".join(waiting))
    return idle_days, tuple(s.snapshot for s in statuses if isinstance(s.snapshot, TargetSnapshot))


def _build(users: UserLabels, snapshots: _Snapshots, fmt: str, idle_days: int | None) -> Response:
    started = time.perf_counter()
    report = build_report(list(snapshots), users, idle_days=idle_days)
    headers = {
        "content-type": MEDIA_TYPES[fmt],
        "content-disposition": f'attachment; filename="copilot-seats.{fmt}"',
        "cache-control": "no-store",
    }
    response = Response(200, render(report, fmt), headers)
    log.debug(
        "seat report built",
        extra={
            "format": fmt,
            "bytes": len(response.body),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return response


class SeatReports:
    """The seat reports served: built once per set of snapshots, one at a time, in a thread of their own."""

    #: Reports kept (formats times ``idle_days`` values asked for), all of the snapshots being served.
    CACHE_SIZE = 4

    def __init__(self, config: Config, state: ExporterState) -> None:
        self.config = config
        self.state = state
        self._users = UserLabels(config)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seat-report")
        self._build_lock = asyncio.Lock()
        #: (format, idle_days, snapshot ids) -> the snapshots (holding their ids) and the answer.
        self._cache: OrderedDict[tuple[str, int | None, tuple[int, ...]], tuple[_Snapshots, Response]] = (
            OrderedDict()
        )

    async def response(self, fmt: str, query: str) -> Response:
        checked = _check(self.config, self.state, query)
        if isinstance(checked, Response):
            return checked
        idle_days, snapshots = checked
        ids = tuple(id(s) for s in snapshots)
        key = (fmt, idle_days, ids)
        if (hit := self._cached(key)) is not None:
            return hit
        async with self._build_lock:  # requests arriving during a build wait for it, not build again
            if (hit := self._cached(key)) is not None:
                return hit
            for old in [k for k in self._cache if k[2] != ids]:  # older snapshots: never asked for again
                del self._cache[old]
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(
                self._executor, _build, self._users, snapshots, fmt, idle_days
            )
            self._cache[key] = (snapshots, response)
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return response

    def _cached(self, key: tuple[str, int | None, tuple[int, ...]]) -> Response | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        self._cache.move_to_end(key)
        return entry[1]
