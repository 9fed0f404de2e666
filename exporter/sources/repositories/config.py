"""The ``repositories:`` section: the repository report (``repos-1-day``) source's settings.

A section of its own rather than keys of ``usage:``: each section belongs to one source, and this
report is read by its own source on its own schedule, and is turned on and off by its own
``enabled`` (``--repositories.enabled``); ``top_n: 0`` turns it off too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from exporter.config import Config, parse_poll_interval, values
from exporter.config.model import Enabled as Enabled
from exporter.config.model import has_usage_reports
from exporter.config.quoting import shown
from exporter.config.sections import Given, section_of
from exporter.errors import ConfigError

SECTION = "repositories"


@dataclass(frozen=True, slots=True)
class RepositoriesConfig:
    """The repository report source (``repositories:``): pull-request activity per repository."""

    enabled: Enabled = Enabled.AUTO
    #: Repositories beyond the N most active are summed as "other"; 0 turns the source off.
    top_n: int = 20
    poll_interval: float = 3600.0
    #: How many days back from today to look for the newest report.
    max_days_back: int = 7
    #: Largest report file accepted, counted after decoding.
    max_download_bytes: int = 1 << 30
    #: Most distinct files one report may list, and most records (repositories) one report may hold.
    max_files_per_report: int = 100
    max_records_per_report: int = 1_000_000

    def active(self, api_url: str) -> bool:
        """auto: on, except against GitHub Enterprise Server, which has no usage-metrics reports."""
        if self.top_n == 0:
            return False
        return self.enabled is Enabled.TRUE or (self.enabled is Enabled.AUTO and has_usage_reports(api_url))


KEYS = tuple(f.name for f in fields(RepositoriesConfig))


def repositories_config(config: Config) -> RepositoriesConfig:
    return section_of(config, SECTION, RepositoriesConfig)


def parse_repositories(section: Mapping[str, Any], given: Given) -> RepositoriesConfig:
    default = RepositoriesConfig()
    enabled = given.value("repositories_enabled", section.get("enabled"), default.enabled.value)
    mode = values.enabled(enabled, f"{SECTION}.enabled")
    poll_interval = parse_poll_interval(str(section.get("poll_interval", "1h")), f"{SECTION}.poll_interval")
    return RepositoriesConfig(
        enabled=mode,
        top_n=_whole(section, "top_n", default.top_n, 0, 1000),
        poll_interval=poll_interval,
        max_days_back=_whole(section, "max_days_back", default.max_days_back, 1, 60),
        max_download_bytes=_whole(
            section, "max_download_bytes", default.max_download_bytes, 1 << 20, 16 << 30
        ),
        max_files_per_report=_whole(section, "max_files_per_report", default.max_files_per_report, 1, 10_000),
        max_records_per_report=_whole(
            section, "max_records_per_report", default.max_records_per_report, 100, 100_000_000
        ),
    )


def _whole(section: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"{SECTION}.{key}", f"must be a whole number from {low} to {high}, got {shown(value)}"
        )
    return value
