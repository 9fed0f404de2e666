"""The backfill's OpenMetrics writer, its resume state and its dates, without any server."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as strict_families
from prometheus_client.parser import text_string_to_metric_families

from exporter.backfill import openmetrics
from exporter.backfill.days import DateRangeError, check_range, sample_time
from exporter.backfill.openmetrics import SpillWriter
from exporter.backfill.progress import BarProgress, progress_for
from exporter.backfill.state import ResumeError, RunState, open_state
from tests.backfill_support import parts

TODAY = date(2026, 12, 3)


def _family(name: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, f"Help of {name}.", labels=["org"])
    for org, value in values.items():
        family.add_metric([org], value)
    return family


def openmetrics_families(text: str) -> Iterator[Metric]:
    families: Iterator[Metric] = strict_families(text)  # type: ignore[no-untyped-call]
    return families


def _parsed(text: str) -> list[tuple[str, dict[str, str], float, float]]:
    """Read back with prometheus_client's strict OpenMetrics parser."""
    return [
        (s.name, s.labels, s.value, float(s.timestamp))  # type: ignore[arg-type]
        for family in openmetrics_families(text)
        for s in family.samples
    ]


@pytest.mark.parametrize("run_lines", [2, 100_000])
def test_each_family_and_each_series_is_contiguous_and_in_time_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_lines: int
) -> None:
    # Two lines a run: the merge of many sorted runs; the default: one run sorted in memory.
    monkeypatch.setattr(openmetrics, "SORT_RUN_LINES", run_lines)
    writer = SpillWriter(tmp_path / "work")
    for day, value in ((100.0, 1.0), (200.0, 2.0)):
        writer.write([_family("b_gauge", {"x": value}), _family("a_gauge", {"x": value, 'q"\\\n': 9})], day)
    writer.write([_family("a_gauge", {"x": 3.0})], 300.0)
    size, series = writer.assemble(tmp_path / "out.om")
    text = (tmp_path / "out.om").read_text()
    assert size == len(text.encode())
    assert series == 3
    assert text.endswith("# EOF\n")
    # prometheus_client's strict OpenMetrics parser rejects interleaved families and series.
    assert _parsed(text) == [
        ("a_gauge", {"org": 'q"\\\n'}, 9.0, 100.0),
        ("a_gauge", {"org": 'q"\\\n'}, 9.0, 200.0),
        ("a_gauge", {"org": "x"}, 1.0, 100.0),
        ("a_gauge", {"org": "x"}, 2.0, 200.0),
        ("a_gauge", {"org": "x"}, 3.0, 300.0),
        ("b_gauge", {"org": "x"}, 1.0, 100.0),
        ("b_gauge", {"org": "x"}, 2.0, 200.0),
    ]
    assert text.count("# TYPE a_gauge gauge") == 1


def test_families_without_samples_are_left_out(tmp_path: Path) -> None:
    writer = SpillWriter(tmp_path / "work")
    assert writer.write([_family("empty", {}), _family("full", {"x": 1})], 1.0) == 1
    writer.assemble(tmp_path / "out.om")
    assert "empty" not in (tmp_path / "out.om").read_text()


def test_restoring_a_checkpoint_drops_what_was_written_after_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    writer = SpillWriter(work)
    writer.write([_family("kept", {"x": 1})], 100.0)
    checkpoint = writer.sizes()
    writer.write([_family("kept", {"x": 2}), _family("born_later", {"x": 2})], 200.0)
    writer.sizes()
    writer.close()  # a crash: the files hold a day the state never recorded

    resumed = SpillWriter(work)
    resumed.restore(checkpoint)
    resumed.write([_family("kept", {"x": 3})], 300.0)
    resumed.assemble(tmp_path / "out.om")
    assert [(n, v, t) for n, _, v, t in _parsed((tmp_path / "out.om").read_text())] == [
        ("kept", 1.0, 100.0),
        ("kept", 3.0, 300.0),
    ]


def test_the_output_is_also_valid_prometheus_text_for_prometheus_clients_parser(tmp_path: Path) -> None:
    writer = SpillWriter(tmp_path / "work")
    writer.write([_family("g", {"x": 1.5})], 1_700_000_000.0)
    writer.assemble(tmp_path / "out.om")
    (family,) = text_string_to_metric_families((tmp_path / "out.om").read_text().replace("# EOF\n", ""))
    assert family.samples[0].value == 1.5


def test_a_day_is_stamped_at_the_last_second_of_the_day_after_it() -> None:
    stamp = datetime.fromtimestamp(sample_time(date(2026, 3, 1)), UTC)
    assert stamp == datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)


def test_the_range_defaults_to_the_newest_final_day_and_counts_the_days_left_to_the_live_exporter() -> None:
    days = check_range(date(2026, 11, 1), None, TODAY, parts(usage=True, billing=True))
    assert days.last == date(2026, 11, 29)  # three full UTC days before today have passed since it ended
    assert days.not_final == 0
    asked = check_range(date(2026, 11, 1), date(2026, 12, 2), TODAY, parts(usage=True, billing=True))
    assert (asked.last, asked.not_final) == (date(2026, 11, 29), 3)
    assert len(asked.days) == 29


@pytest.mark.parametrize(
    ("first", "last", "usage", "message"),
    [
        (date(2026, 11, 10), date(2026, 11, 9), True, "after --to"),
        (date(2026, 12, 4), None, True, "in the future"),
        (date(2026, 11, 1), date(2026, 12, 4), True, "in the future"),
        (date(2025, 12, 2), None, True, "retention of usage reports"),
        (date(2024, 12, 2), None, False, "24 months of billing"),
        (date(2026, 12, 1), None, True, "left to the live exporter"),
    ],
)
def test_dates_outside_what_github_keeps_or_has_finalized_are_refused(
    first: date, last: date | None, usage: bool, message: str
) -> None:
    with pytest.raises(DateRangeError, match=message):
        check_range(first, last, TODAY, parts(usage=usage, billing=True))


def test_billing_alone_may_go_back_further_than_the_usage_reports() -> None:
    days = check_range(date(2025, 1, 1), date(2025, 1, 31), TODAY, parts(usage=False, billing=True))
    assert len(days.days) == 31


def test_a_run_resumes_only_with_the_options_it_was_started_with(tmp_path: Path) -> None:
    options = {"from": "2026-11-01", "targets": ["org=a"]}
    state = open_state(tmp_path / "w", options, "2026-11-01", resume=False)
    assert (tmp_path / "w").stat().st_mode & 0o777 == 0o700  # made by open_state, for its owner only
    state.next_day = "2026-11-05"
    state.save(tmp_path / "w")

    assert open_state(tmp_path / "w", options, "2026-11-01", resume=True).next_day == "2026-11-05"
    with pytest.raises(ResumeError, match="--resume"):
        open_state(tmp_path / "w", options, "2026-11-01", resume=False)
    with pytest.raises(ResumeError, match="targets"):
        open_state(tmp_path / "w", {**options, "targets": ["org=b"]}, "2026-11-01", resume=True)
    with pytest.raises(ResumeError, match="nothing to resume"):
        open_state(tmp_path / "none", options, "2026-11-01", resume=True)


def test_a_damaged_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(ResumeError, match="cannot resume"):
        RunState.load(tmp_path)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_log_lines_print_above_the_progress_bar_and_keep_their_handler() -> None:
    terminal = _Terminal()
    handler = logging.StreamHandler(terminal)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        progress = progress_for(3, 1, terminal)
        assert isinstance(progress, BarProgress)
        progress.day_done(date(2026, 11, 1), 12)
        logging.getLogger("exporter.backfill").warning("a line for the operator")
        progress.close()
    finally:
        root.removeHandler(handler)
    assert handler.stream is terminal
    text = terminal.getvalue()
    assert "a line for the operator\n" in text
    assert "2/3" in text


def test_off_a_terminal_each_day_is_a_log_line_with_the_time_left(caplog: pytest.LogCaptureFixture) -> None:
    progress = progress_for(3, 0, io.StringIO())
    with caplog.at_level(logging.INFO, logger="exporter.backfill"):
        progress.day_done(date(2026, 11, 1), 7)
    (record,) = caplog.records
    assert record.getMessage() == "day written"
    assert (record.days_done, record.days_total, record.requests) == (1, 3, 7)  # type: ignore[attr-defined]
    assert record.eta_seconds >= 0  # type: ignore[attr-defined]


def test_the_backfill_window_at_any_date(moment: datetime) -> None:
    """The newest final day, the oldest billing day and the days between, computed here from the rules
    (a day is final once three full UTC days have passed since it ended; billing keeps 24 months, a
    29 February reaching back to the 28th), at month and year edges and on a leap day."""
    today = moment.date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)

    def final(day: date) -> bool:
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=4) <= midnight

    first = today - timedelta(days=40)
    days = check_range(first, None, today, parts(usage=True, billing=True))
    assert final(days.last)
    assert not final(days.last + timedelta(days=1))
    assert days.days == [first + timedelta(days=i) for i in range((days.last - first).days + 1)]
    two_years = date(today.year - 2, today.month, 28 if (today.month, today.day) == (2, 29) else today.day)
    assert len(check_range(two_years, two_years, today, parts(usage=False, billing=True)).days) == 1
    with pytest.raises(DateRangeError, match="24 months of billing"):
        check_range(two_years - timedelta(days=1), two_years, today, parts(usage=False, billing=True))
