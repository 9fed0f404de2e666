"""Progress of a backfill: a bar on a terminal (tqdm), log lines in the exporter's format otherwise,
and the summary at the end."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from tqdm import tqdm

log = logging.getLogger("exporter.backfill")


class _AboveTheBar:
    """A stream for log handlers that prints each line above the bar instead of through it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        tqdm.write(text.rstrip("\n"), file=self._stream)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


class BarProgress:
    """A progress bar on standard error: days done, requests, and tqdm's rate and ETA.

    Log lines (a day without a report, a retry) keep their handler and its redaction; only the stream
    they are written to moves them above the bar.
    """

    def __init__(self, total: int, done: int, stream: TextIO) -> None:
        self._bar = tqdm(total=total, initial=done, unit="day", file=stream, dynamic_ncols=True)
        self._moved: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
                self._moved.append((handler, handler.stream))
                handler.setStream(_AboveTheBar(stream))

    def day_done(self, day: date, requests: int) -> None:
        self._bar.set_postfix_str(f"{day.isoformat()}, {requests:,} requests", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
        for handler, stream in self._moved:
            handler.setStream(stream)


class LogProgress:
    """One log line per day, with the requests so far and an estimate of the time left."""

    def __init__(self, total: int, done: int) -> None:
        self._total = total
        self._done = done
        self._started_with = done
        self._start = time.monotonic()

    def day_done(self, day: date, requests: int) -> None:
        self._done += 1
        this_run = self._done - self._started_with
        elapsed = time.monotonic() - self._start
        left = (self._total - self._done) * elapsed / this_run if this_run else 0.0
        log.info(
            "day written",
            extra={"day": day.isoformat(), "days_done": self._done, "days_total": self._total,
                   "requests": requests, "eta_seconds": round(left)},
        )  # fmt: skip

    def close(self) -> None:
        """Nothing to tidy: every line is complete."""


def progress_for(total: int, done: int, stream: TextIO = sys.stderr) -> BarProgress | LogProgress:
    return BarProgress(total, done, stream) if stream.isatty() else LogProgress(total, done)


@dataclass(frozen=True)
class Summary:
    days: int
    no_report: int
    not_final: int
    failed: int
    series: int
    samples: int
    bytes: int
    requests: int
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"days written: {self.days:,} ({self.no_report:,} target-days without a usage report, "
            f"{self.not_final:,} days not final yet left to the live exporter)",
            f"failed: {self.failed:,}",
            f"series: {self.series:,}, samples: {self.samples:,}, bytes: {self.bytes:,}",
            f"requests: {self.requests:,}, time: {self.seconds:,.1f}s",
        ]


def report(summary: Summary, stream: TextIO = sys.stderr) -> None:
    if stream.isatty():
        print("\n".join(summary.lines()), file=stream)
        return
    log.info(
        "backfill finished",
        extra={"days": summary.days, "days_without_report": summary.no_report,
               "days_not_final": summary.not_final, "failed": summary.failed, "series": summary.series,
               "samples": summary.samples, "bytes": summary.bytes, "requests": summary.requests,
               "seconds": round(summary.seconds, 1)},
    )  # fmt: skip
