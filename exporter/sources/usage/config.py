"""The ``usage:`` section and ``--usage.enabled``: the usage-metrics reports source's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from exporter.config import Config, parse_poll_interval, values
from exporter.config.downloads import download_settings
from exporter.config.model import Enabled as Enabled
from exporter.config.model import has_usage_reports
from exporter.config.sections import Given, section_of
from exporter.github.downloads import DownloadLimits

SECTION = "usage"
#: Largest accepted usage.max_download_bytes: a users report of 100,000 users is well under 2 GiB.
MAX_USAGE_DOWNLOAD_BYTES = 16 << 30


@dataclass(frozen=True, slots=True)
class UsageConfig:
    """The usage-metrics source (``usage:``): GitHub's daily Copilot usage reports."""

    enabled: Enabled = Enabled.AUTO
    poll_interval: float = 3600.0
    #: IDEs, features, languages, models and comment types beyond the top N by volume: summed as "other".
    top_n: int = 20
    #: How many days back from today to look for the newest report.
    max_days_back: int = 7
    #: Largest report file accepted, counted after decoding.
    max_download_bytes: int = 2 << 30
    #: Longest a report file may take to download, and the least it must send per second.
    download_timeout: float = 1800.0
    download_min_rate: int = 16 * 1024
    #: Origins (scheme, host, port) report links may point at beyond GitHub's own report hosts.
    allowed_download_hosts: tuple[tuple[str, str, int], ...] = ()
    #: Most distinct files one report may list, and most records (lines) one report may hold.
    max_files_per_report: int = 100
    max_records_per_report: int = 1_000_000

    def active(self, api_url: str) -> bool:
        """auto: on, except against GitHub Enterprise Server, which has no usage-metrics reports."""
        return self.enabled is Enabled.TRUE or (self.enabled is Enabled.AUTO and has_usage_reports(api_url))


KEYS = tuple(f.name for f in fields(UsageConfig))


def usage_config(config: Config) -> UsageConfig:
    return section_of(config, SECTION, UsageConfig)


def limits_for(config: Config) -> DownloadLimits:
    """Where and how fast the client downloads report files, by ``usage.*`` and ``github.*``."""
    usage = usage_config(config)
    return DownloadLimits.for_api(
        config.api_url,
        *usage.allowed_download_hosts,
        deadline=usage.download_timeout,
        min_rate=usage.download_min_rate,
        window=config.request_timeout,
    )


def parse_usage(usage: Mapping[str, Any], given: Given) -> UsageConfig:
    """``usage``: the usage-metrics reports source, with its own poll interval."""
    default = UsageConfig()
    enabled = given.value("usage_enabled", usage.get("enabled"), default.enabled.value)
    mode = values.enabled(enabled, "usage.enabled")
    poll_interval = parse_poll_interval(str(usage.get("poll_interval", "1h")), "usage.poll_interval")
    return UsageConfig(
        enabled=mode,
        poll_interval=poll_interval,
        top_n=_whole(usage, "top_n", default.top_n, 0, 1000),
        max_days_back=_whole(usage, "max_days_back", default.max_days_back, 1, 60),
        max_download_bytes=_whole(
            usage, "max_download_bytes", default.max_download_bytes, 1 << 20, MAX_USAGE_DOWNLOAD_BYTES
        ),
        **download_settings(usage),
        max_files_per_report=_whole(usage, "max_files_per_report", default.max_files_per_report, 1, 10_000),
        max_records_per_report=_whole(
            usage, "max_records_per_report", default.max_records_per_report, 100, 100_000_000
        ),
    )


def _whole(section: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    return values.whole(section.get(key, default), f"usage.{key}", low, high)
