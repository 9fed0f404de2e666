"""The promtool command that turns a backfill's OpenMetrics file into TSDB blocks, and running it.

promtool reads the whole file once per block window and rounds ``--max-block-duration`` down to one of
its block ranges (2h times a power of 3: 2h, 6h, 18h, 54h, 162h, 486h, ...). Its default of 2h makes a
year 4,380 passes over the file and as many tiny blocks; the duration here is the largest range that
the backfilled days fill (so a short range is not one mostly empty block) and at most 486h, about 20
days: a year is then 19 passes, and Prometheus's retention still deletes the history a few weeks at a
time.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from exporter.backfill.days import DayRange

#: promtool's block ranges in hours (tsdb.ExponentialBlockRanges(2h, 10, 3)), up to the largest used.
BLOCK_HOURS = (2, 6, 18, 54, 162, 486)


class PromtoolError(Exception):
    """promtool is missing, failed, or made no block: one line saying which."""


def block_hours(days: DayRange) -> int:
    """The block duration for ``days``: the largest of :data:`BLOCK_HOURS` the range fills."""
    span = ((days.last - days.first).days + 1) * 24
    return max(hours for hours in BLOCK_HOURS if hours <= span or hours == BLOCK_HOURS[0])


def command(promtool: str, output: Path, blocks: Path, days: DayRange) -> list[str]:
    return [
        promtool, "tsdb", "create-blocks-from", "openmetrics",
        f"--max-block-duration={block_hours(days)}h", str(output), str(blocks),
    ]  # fmt: skip


def shown(argv: list[str]) -> str:
    return shlex.join(argv)


def find_promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise PromtoolError(
            "--blocks needs promtool on PATH (it comes with Prometheus); install it, or leave out "
            "--blocks and run the printed promtool command where it is installed"
        )
    return found


@dataclass(frozen=True)
class Blocks:
    created: int
    samples: int


def _listed(promtool: str, blocks: Path) -> dict[str, int]:
    """Block ULID -> samples, by ``promtool tsdb list``; empty for a directory not there yet."""
    if not blocks.is_dir():
        return {}
    done = subprocess.run(
        [promtool, "tsdb", "list", str(blocks)], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise PromtoolError(f"promtool tsdb list {blocks} failed: {_last_line(done.stderr)}")
    listed = {}
    for line in done.stdout.splitlines()[1:]:  # the first line is the header
        fields = line.split()
        if len(fields) >= 5 and fields[4].isdigit():
            listed[fields[0]] = int(fields[4])
    return listed


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "no message"


def create_blocks(promtool: str, output: Path, blocks: Path, days: DayRange) -> Blocks:
    """Run promtool on ``output`` into ``blocks`` and check it made blocks: its exit status, then the
    blocks that ``promtool tsdb list`` shows beyond those already there."""
    before = _listed(promtool, blocks)
    done = subprocess.run(
        command(promtool, output, blocks, days), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PromtoolError(f"promtool failed with exit status {done.returncode}: {_last_line(done.stderr)}")
    new = {ulid: samples for ulid, samples in _listed(promtool, blocks).items() if ulid not in before}
    if not new:
        raise PromtoolError(f"promtool exited 0 but made no block in {blocks}")
    return Blocks(created=len(new), samples=sum(new.values()))
