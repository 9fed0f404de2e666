"""The ``usage:`` section and ``--usage.enabled``: defaults, validation, and which sources are built."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.errors import ConfigError
from exporter.github.auth import StaticToken
from exporter.github.client import GitHubClient
from exporter.sources.usage.config import UsageConfig, usage_config
from exporter.wiring import build_config, build_sources
from tests.support import TOKEN

ENV = {"GITHUB_TOKEN": TOKEN}


def _config(file_data: dict[str, Any] | None = None, **flags: Any) -> Any:
    return build_config({"org": ["acme"], **flags}, file_data, ENV)


def test_usage_is_on_by_default_hourly_with_the_documented_limits() -> None:
    usage = usage_config(_config())
    assert usage == UsageConfig()
    assert (usage.enabled, usage.poll_interval, usage.top_n, usage.max_days_back) == ("auto", 3600.0, 20, 7)
    assert (usage.max_files_per_report, usage.max_records_per_report) == (100, 1_000_000)
    assert usage.active("https://api.github.com")
    assert usage.active("https://api.acme.ghe.com")


def test_auto_leaves_usage_off_on_github_enterprise_server_which_has_no_reports() -> None:
    assert not usage_config(_config()).active("https://github.acme.internal/api/v3")
    assert usage_config(_config({"usage": {"enabled": True}})).active("https://github.acme.internal/api/v3")


@pytest.mark.parametrize(
    ("section", "flags", "enabled"),
    [
        ({"enabled": False}, {}, "false"),
        ({"enabled": "true"}, {}, "true"),
        ({"enabled": True}, {"usage_enabled": "false"}, "false"),  # the flag wins over the file
    ],
)
def test_enabled_comes_from_the_file_or_the_flag(
    section: dict[str, Any], flags: dict[str, Any], enabled: str
) -> None:
    assert usage_config(_config({"usage": section}, **flags)).enabled == enabled


def test_the_usage_source_is_built_only_when_enabled() -> None:
    client = GitHubClient("https://api.github.com", StaticToken(TOKEN))
    assert [s.name for s in build_sources(_config(), client)] == ["seats", "billing", "usage", "repositories"]
    # The repository report has a switch of its own: turning usage off leaves it on.
    off = _config({"usage": {"enabled": "false"}})
    assert [s.name for s in build_sources(off, client)] == ["seats", "billing", "repositories"]
    usage = build_sources(_config({"usage": {"poll_interval": "2h"}}), client)[2]
    assert usage.interval == 7200.0


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"enabled": "sometimes"}, "usage.enabled"),
        ({"poll_interval": "30s"}, "usage.poll_interval"),
        ({"poll_interval": "soon"}, "usage.poll_interval"),
        ({"top_n": -1}, "usage.top_n"),
        ({"top_n": "20"}, "usage.top_n"),
        ({"max_days_back": 0}, "usage.max_days_back"),
        ({"max_days_back": True}, "usage.max_days_back"),
        ({"max_download_bytes": 10}, "usage.max_download_bytes"),
        ({"max_files_per_report": 0}, "usage.max_files_per_report"),
        ({"max_files_per_report": 10_001}, "usage.max_files_per_report"),
        ({"max_records_per_report": 99}, "usage.max_records_per_report"),
        ({"max_records_per_report": "1e6"}, "usage.max_records_per_report"),
        ({"colour": "blue"}, "usage.colour"),
    ],
)
def test_bad_usage_settings_name_their_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _config({"usage": section})
    assert raised.value.key == key
