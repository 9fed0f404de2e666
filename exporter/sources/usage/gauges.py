"""What every usage family shares: its target labels, the note on the report day, the constructor."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import GaugeMetricFamily

TARGET_LABELS = ["enterprise", "org"]
DAY = "Figure of the newest day with a usage report (see github_copilot_usage_report_day_timestamp_seconds)"


def gauge(name: str, text: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"github_copilot_{name}", text, labels=[*TARGET_LABELS, *labels])
