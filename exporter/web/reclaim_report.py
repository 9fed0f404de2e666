"""``/reclaim.csv`` and ``/reclaim.json``: the plan ``reclaim plan`` would make of the snapshots served.

No request reaches GitHub: the plan is the cached selection behind the reclaimable-seat metrics, cut
to ``reclaim.max_removals`` as a run is. The JSON is a plan file that ``reclaim apply`` accepts, under
the same configuration. Basic auth and TLS apply as to ``/metrics`` (the web layer wraps every path).
"""

from __future__ import annotations

from exporter.reclaim.plan import render_plan
from exporter.reclaim.served import ServedReclaim
from exporter.sources.seats.report import MEDIA_TYPES
from exporter.sources.spec import Response

#: Path -> format.
RECLAIM_REPORT_PATHS = {"/reclaim.csv": "csv", "/reclaim.json": "json"}
_TEXT = {"content-type": "text/plain; charset=utf-8"}


def _text(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode(), dict(_TEXT))


def reclaim_report_response(served: ServedReclaim, fmt: str) -> Response:
    """The current plan in ``fmt``; blocking (may make the selection), so run in a worker thread."""
    if not served.users.enabled:
        return _text(403, "the reclaim plan is disabled: seat_metrics is off, so no user is named")
    current = served.current()
    if current is None:
        waiting = ", ".join(served.waiting()) or "the first poll"
        return _text(503, f"no reclaim plan yet: waiting for the first poll of {waiting}")
    plan = current.plan
    headers = {
        "content-type": MEDIA_TYPES[fmt],
        "content-disposition": f'attachment; filename="reclaim-plan-{plan.plan_id}.{fmt}"',
        "cache-control": "no-store",
    }
    return Response(200, render_plan(plan, fmt), headers)
