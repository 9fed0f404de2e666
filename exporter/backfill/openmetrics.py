"""OpenMetrics text with timestamps, written as it goes, every family's samples kept together.

OpenMetrics requires the samples of a family to be contiguous, but a backfill produces them day after
day. Each family's sample lines are therefore appended to a file of its own in a work directory, and
the output is those files one after another and ``# EOF``: memory holds one day at a time, whatever
the number of days, and disk holds the output twice at most.

Each family file starts with the family's HELP and TYPE lines (prometheus_client's own encoder writes
them), so a resumed run needs nothing but the files. :meth:`SpillWriter.sizes` is a checkpoint: after
a crash, :meth:`SpillWriter.restore` cuts every file back to it, so a half-written day leaves nothing.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from exporter.backfill.files import create, open_existing, replace_create
from exporter.exposition import OPENMETRICS_ACCEPT, FamilyList, escape_label_value, go_float, sample_value

EOF_LINE = b"# EOF\n"
#: Sample lines sorted in memory at once when a family's series are put together (about 40 MB).
SORT_RUN_LINES = 100_000
SUFFIX = ".om"
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def header(family: Metric) -> bytes:
    """HELP and TYPE lines of ``family`` as prometheus_client's OpenMetrics encoder writes them."""
    empty = Metric(family.name, family.documentation, family.type, family.unit)
    encoder: Any = choose_encoder(OPENMETRICS_ACCEPT)[0]
    text: bytes = encoder(FamilyList([empty]))
    return text.removesuffix(EOF_LINE)


def series_key(line: bytes) -> bytes:
    """A sample line without its value and timestamp: the series it belongs to."""
    return line.rsplit(b" ", 2)[0]


def sample_lines(family: Metric, timestamp: float) -> bytes:
    """Every sample of ``family`` as an OpenMetrics line stamped ``timestamp`` (Unix seconds)."""
    tail = f" {go_float(timestamp)}\n"
    # A family's samples share a few label layouts: each layout's line is a %-template built once
    # (names and label names are validated metric and label names, which hold no "%").
    templates: dict[tuple[str, ...], str] = {}
    lines = []
    for sample in family.samples:
        labels = sample.labels
        layout = (sample.name, *labels)
        template = templates.get(layout)
        if template is None:
            braces = "{" + ",".join(f'{key}="%s"' for key in labels) + "}" if labels else ""
            template = templates[layout] = f"{sample.name}{braces} %s{tail}"
        lines.append(template % (*map(escape_label_value, labels.values()), sample_value(sample.value)))
    return "".join(lines).encode()


class SpillWriter:
    """One append-only file per metric family in ``directory``, assembled into the output at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._files: dict[str, BinaryIO] = {}

    def write(self, families: Iterable[Metric], timestamp: float) -> int:
        """Append the samples of ``families`` stamped ``timestamp``; returns how many were written."""
        written = 0
        for family in families:
            if not family.samples:
                continue
            self._file(family).write(sample_lines(family, timestamp))
            written += len(family.samples)
        return written

    def _file(self, family: Metric) -> BinaryIO:
        handle = self._files.get(family.name)
        if handle is None:
            if not _NAME.fullmatch(family.name):
                raise ValueError(f"not a metric name: {family.name!r}")
            path = self.directory / f"{family.name}{SUFFIX}"
            handle = self._files[family.name] = create(path, append=True)
            handle.write(header(family))
        return handle

    def sizes(self) -> dict[str, int]:
        """The length of every family file, all written through to the disk: a checkpoint."""
        for handle in self._files.values():
            handle.flush()
            os.fsync(handle.fileno())
        return {name: handle.tell() for name, handle in sorted(self._files.items())}

    def restore(self, sizes: Mapping[str, int]) -> None:
        """Cut the files back to a checkpoint: what was written after it is gone, files born after it too."""
        self.close()
        for path in self.directory.glob(f"*{SUFFIX}"):
            name = path.name.removesuffix(SUFFIX)
            if name not in sizes:
                path.unlink()
                continue
            with open_existing(path, append=False) as handle:
                handle.truncate(sizes[name])
        for name in sizes:
            self._files[name] = open_existing(self.directory / f"{name}{SUFFIX}", append=True)

    def assemble(self, output: Path) -> tuple[int, int]:
        """Write the families in name order and ``# EOF`` to ``output`` (atomically).

        Returns the output's size and its number of series (each series key kept as a hash, so memory
        grows with the series, not with the days).
        """
        self.sizes()
        partial = output.with_name(output.name + ".tmp")
        series: set[int] = set()
        with replace_create(partial) as out:
            for name in sorted(self._files):
                for line in self._series_ordered(self.directory / f"{name}{SUFFIX}"):
                    if not line.startswith(b"#"):
                        series.add(hash(series_key(line)))
                    out.write(line)
            out.write(EOF_LINE)
            size = out.tell()
        os.replace(partial, output)
        return size, len(series)

    def _series_ordered(self, path: Path) -> Iterator[bytes]:
        """The lines of a family file with each series' samples together, still in time order.

        OpenMetrics forbids interleaving series within a family. The file is in day order; runs of
        :data:`SORT_RUN_LINES` lines are sorted by series (stably, so days stay in order) into files of
        their own and merged, which keeps days in order too (earlier runs hold earlier days, and the
        merge takes equal keys in run order): memory holds one run, whatever the number of days.
        """
        runs: list[Path] = []
        with path.open("rb") as source:
            header = [next(source), next(source)]
            yield from header
            while chunk := list(islice(source, SORT_RUN_LINES)):
                chunk.sort(key=series_key)
                run = path.with_suffix(f".run{len(runs)}")
                with replace_create(run) as out:
                    out.write(b"".join(chunk))
                runs.append(run)
        files = [run.open("rb") for run in runs]
        try:
            yield from heapq.merge(*files, key=series_key)
        finally:
            for handle, run in zip(files, runs, strict=True):
                handle.close()
                run.unlink()

    def close(self) -> None:
        """Close every file. A flush that fails here (a full disk) loses only lines past the last
        checkpoint, which a resumed run cuts anyway; the write that failed first has been reported."""
        for handle in self._files.values():
            with contextlib.suppress(OSError):
                handle.close()
        self._files.clear()
