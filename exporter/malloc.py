"""glibc's allocator, tuned for a long-running process that frees large blocks after every poll.

With its defaults, glibc gives every thread that allocates (the scrape worker threads, the exposition
warmer) a malloc arena of its own, and it raises its mmap threshold each time a large block is freed,
so that later large blocks come from the heap, where a freed block in the middle is never handed back
to the system. For an exporter that lays out tens of megabytes of exposition after each poll that
changed seats, the resident size then creeps up poll after poll (docs/performance.md measures it).

Two arenas and a fixed 128 KiB mmap threshold make every large block its own mapping, returned to the
system when freed. These are the settings the environment variables ``MALLOC_ARENA_MAX`` and
``MALLOC_MMAP_THRESHOLD_`` give; when an operator sets either, their choice stands and nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger("exporter.malloc")

# From glibc's malloc.h.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENA_MAX = 2
MMAP_THRESHOLD = 128 * 1024
ENVIRONMENT = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")


def tune() -> bool:
    """Apply the settings above on glibc; True when they were applied."""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        # Only glibc has this soname; musl (Alpine) and others keep their own allocator's behaviour.
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_ARENA_MAX, ARENA_MAX) == 1 and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1)
    log.debug("malloc tuned" if applied else "mallopt refused", extra={"arena_max": ARENA_MAX})
    return applied
