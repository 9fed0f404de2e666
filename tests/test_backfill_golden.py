"""The bytes ``backfill`` writes for a fixed input: the fake GitHub at a fixed moment, ten days of two
targets' usage reports (per-user series on) and billing, the repository report off.

The digest was taken from a run of the walk as it was before the sources' backfill parts replaced
its usage and billing code (commit 0d65dce). A change that moves one byte of the output (a family's
order, a label, a value's format, a day's stamp) fails here; one that means to must say why and take
the new digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exporter.sources.usage import runs
from tests.backfill_support import HistoryFakes, history_fakes, run_backfill

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()
TODAY = datetime.fromtimestamp(NOW, UTC).date()
LAST = TODAY - timedelta(days=4)
FIRST = LAST - timedelta(days=9)
GOLDEN_SHA256 = "256698f177521c55923db6495fba42ba20b3453ce6cb91ed8abcfb0020d845ed"
GOLDEN_BYTES = 5_816_793


@pytest.fixture(scope="module")
def fakes() -> Iterator[HistoryFakes]:
    # The organization's reports start two days into the range: a day without a report is in it too.
    yield from history_fakes(NOW, FIRST - timedelta(days=40), FIRST + timedelta(days=2))


# Parsed in this process, and in workers in runs of a few lines (so every report is several runs).
@pytest.mark.parametrize(("workers", "run_lines"), [("0", runs.RUN_LINES), ("2", 7)])
def test_the_output_is_byte_for_byte_what_it_was(
    fakes: HistoryFakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str, run_lines: int
) -> None:
    monkeypatch.setattr(runs, "RUN_LINES", run_lines)
    extra = ("--repositories.enabled=false", "--parse-workers", workers)
    output = run_backfill(fakes, tmp_path, monkeypatch, FIRST, LAST, TODAY, *extra)
    data = output.read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (GOLDEN_SHA256, GOLDEN_BYTES)
