"""Worker processes for CPU-bound parsing: ``backfill`` parses report lines there while it downloads.

One Python process parses a 100,000-user day in seconds while its downloads take a fraction of that,
so the day's CPU, not GitHub's pacing, set the time of a backfill. Workers are started by a fork
server (the backfill process has threads, which a plain fork would copy in whatever state their locks
are in), ignore Ctrl-C (the backfill process handles it and shuts them down), and tune their garbage
collector as the exporter does. Only report lines and parsed figures cross to them; like any child
process they inherit the environment (where a token may be), and they neither log nor send anything.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from exporter import gc_tuning
from exporter.errors import ExporterError

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("exporter.workers")
#: Modules the fork server imports once, so that each worker starts without importing them again.
PRELOAD = ["exporter.sources.usage.parts"]


class WorkerError(ExporterError):
    """A worker process died (killed for memory, say): the work it had cannot be finished."""


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc_tuning.tune()
    parent = multiprocessing.parent_process()
    if parent is not None:
        # A worker waits for work on a pipe it holds both ends of, so it would outlive a backfill
        # killed outright (SIGKILL, the OOM killer) and keep the fork server alive too.
        threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


class WorkerPool:
    """``size`` worker processes, started as work first arrives; :meth:`close` stops them."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = size
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self._executor = ProcessPoolExecutor(size, mp_context=context, initializer=_start_worker)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` in a worker; its exception, if it raises one, is raised here."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))
        except BrokenProcessPool:
            raise WorkerError(
                "a parse worker process died (killed for lack of memory?): run again with --resume, "
                "with fewer --parse-workers, or with --parse-workers 0 to parse in the backfill process"
            ) from None

    def close(self) -> None:
        """Stop the workers; work not started yet is dropped."""
        self._executor.shutdown(wait=True, cancel_futures=True)
