"""Python's garbage collector, tuned for a process that builds large short-lived object graphs.

A usage report of 100,000 users is parsed into millions of small dicts, lists and tuples, most of
them alive until the day (or the poll) is aggregated. With the default thresholds (a young
collection every 700 net allocations, a full one every 100 young ones) the collector walks those
objects again and again while they are being built, and each full collection walks everything
imported at start-up too: a trace of the serving exporter at 100,000 users found the collector taking
more time than the usage poll's own work.

Nearly all of those objects are freed by reference counting, not by the collector, so collecting less
often costs little memory. :func:`tune` moves what start-up created (modules, classes, the
configuration) out of the collector's sight with :func:`gc.freeze`, and raises the young threshold.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("exporter.gc_tuning")

#: Net allocations of container objects between two young collections (the default is 700).
YOUNG_THRESHOLD = 50_000


def tune() -> None:
    """Freeze what exists now and collect less often; called once, after start-up."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    log.debug(
        "garbage collector tuned", extra={"young_threshold": YOUNG_THRESHOLD, "frozen": gc.get_freeze_count()}
    )
