"""``backfill`` and promtool: the command it prints imports its output, and ``--blocks DIR`` runs Debian's
promtool itself, checks the blocks, and says in one line when promtool is missing or fails."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exporter.backfill.days import DayRange
from exporter.backfill.promtool import block_hours
from tests.backfill_support import HistoryFakes, history_fakes
from tests.clock import today as real_today
from tests.support import TOKEN, need_binary, run_exporter_cli
from tests.test_backfill_end_to_end import _args, _dump

pytestmark = pytest.mark.e2e
NOW = real_today().timestamp()  # the backfill command runs on the real clock
LAST = datetime.fromtimestamp(NOW, UTC).date() - timedelta(days=4)
FIRST = LAST - timedelta(days=9)


@pytest.fixture(scope="module")
def fakes() -> Iterator[HistoryFakes]:
    yield from history_fakes(NOW, FIRST - timedelta(days=40), FIRST)


def _backfill(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return run_exporter_cli(args, {"GITHUB_TOKEN": TOKEN, **env}, timeout=600)


def _listed(blocks: Path) -> list[list[str]]:
    done = subprocess.run([need_binary("promtool"), "tsdb", "list", str(blocks)], capture_output=True,
                          text=True, check=True, timeout=600)  # fmt: skip
    return [line.split() for line in done.stdout.splitlines()[1:]]


def test_the_printed_command_imports_the_output(fakes: HistoryFakes, tmp_path: Path) -> None:
    output = tmp_path / "history.om"
    done = _backfill(_args(fakes, tmp_path, FIRST, LAST, output))
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "turn it into TSDB blocks with: " in line]
    argv = shlex.split(line.split("turn it into TSDB blocks with: ", 1)[1])
    # Ten days fill promtool's 162-hour range, not its 486-hour one.
    assert argv[:5] == ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=162h"]
    assert argv[5:] == [str(output), "BLOCKS_DIR"]
    argv[0], argv[-1] = need_binary("promtool"), str(tmp_path / "blocks")
    subprocess.run(argv, capture_output=True, check=True, timeout=600)
    assert len(_listed(tmp_path / "blocks")) >= 2  # ten days over 162-hour windows


def test_blocks_runs_promtool_and_checks_what_it_made(fakes: HistoryFakes, tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    output, blocks = tmp_path / "history.om", tmp_path / "blocks"
    done = _backfill([*_args(fakes, tmp_path, FIRST, LAST, output), "--blocks", str(blocks)])
    assert done.returncode == 0, done.stderr
    listed = _listed(blocks)
    samples = sum(int(fields[4]) for fields in listed)
    assert f"promtool made {len(listed)} blocks of {samples:,} samples in {blocks}" in done.stderr
    assert f"running {promtool} tsdb create-blocks-from openmetrics --max-block-duration=162h" in done.stderr
    # The same blocks as promtool run by hand on the same file.
    by_hand = tmp_path / "by-hand"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=162h",
                    str(output), str(by_hand)], capture_output=True, check=True, timeout=600)  # fmt: skip
    assert _dump(blocks) == _dump(by_hand)
    assert samples == sum(1 for line in output.read_text().splitlines() if not line.startswith("#"))


def test_blocks_without_promtool_on_path_is_one_line_before_any_request(
    fakes: HistoryFakes, tmp_path: Path
) -> None:
    output = tmp_path / "history.om"
    args = [*_args(fakes, tmp_path, FIRST, LAST, output), "--blocks", str(tmp_path / "blocks")]
    done = _backfill(args, PATH=str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "github-copilot-exporter: backfill: --blocks needs promtool on PATH (it comes with Prometheus); "
        "install it, or leave out --blocks and run the printed promtool command where it is installed"
    ]
    assert not output.exists()
    assert not (tmp_path / "history.om.partial").exists()


def test_a_failing_promtool_is_one_line_and_exit_status_1_with_the_output_kept(
    fakes: HistoryFakes, tmp_path: Path
) -> None:
    output, blocks = tmp_path / "history.om", tmp_path / "blocks"
    blocks.write_text("a file where the blocks should go\n")
    done = _backfill([*_args(fakes, tmp_path, FIRST, LAST, output), "--blocks", str(blocks)])
    assert done.returncode == 1, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "promtool" in line and "running" not in line]
    assert "promtool failed with exit status 1" in line or "promtool tsdb list" in line, line
    assert f"{output} is complete, run the command again once fixed" in line
    assert output.read_text().endswith("# EOF\n")


@pytest.mark.parametrize(
    ("days", "hours"), [(1, 18), (2, 18), (3, 54), (7, 162), (20, 162), (21, 486), (365, 486)]
)
def test_the_block_duration_is_the_largest_promtool_range_the_days_fill(days: int, hours: int) -> None:
    first = LAST - timedelta(days=days - 1)
    assert block_hours(DayRange(first, LAST, 0)) == hours
