"""Configuration: precedence, validation, and how a bad configuration is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter import __version__
from exporter.config import ActivityWindow, SeatMetricsMode, Target, format_duration, parse_duration
from exporter.errors import ConfigError
from exporter.sources.billing.config import billing_config
from exporter.sources.seats.config import seats_config
from exporter.wiring import build_config
from tests.support import TOKEN, run_exporter_cli

ENV = {"GITHUB_TOKEN": TOKEN}


def test_defaults() -> None:
    config = build_config({"org": ["acme"]}, {}, ENV)
    assert config.targets == (Target("org", "acme"),)
    assert config.listen_address == "0.0.0.0:9185"
    assert config.telemetry_path == "/metrics"
    assert seats_config(config).poll_interval == 600
    assert config.api_url == "https://api.github.com"
    assert [w.label for w in seats_config(config).activity_windows] == ["1d", "7d", "14d", "30d", "90d"]
    assert seats_config(config).seat_prices_usd == {"business": 19.0, "enterprise": 39.0}
    assert config.log_level == "info"
    assert config.log_format == "logfmt"
    assert config.token is not None
    assert config.token.reveal() == TOKEN


def test_flags_override_file_which_overrides_environment(tmp_path: Path) -> None:
    file_data = {
        "organizations": ["from-file"],
        "enterprises": ["ent"],
        "poll_interval": "5m",
        "github": {"api_url": "https://api.file.example"},
        "web": {"listen_address": "127.0.0.1:9999", "telemetry_path": "/m"},
        "log": {"level": "debug", "format": "json"},
        "activity_windows": ["30d", "1d", "2h"],
        "seat_prices_usd": {"business": 15},
    }
    env = {**ENV, "GITHUB_API_URL": "https://api.env.example"}
    config = build_config({}, file_data, env)
    assert config.targets == (Target("org", "from-file"), Target("enterprise", "ent"))
    assert config.api_url == "https://api.file.example"
    assert seats_config(config).poll_interval == 300
    assert (config.listen_host, config.listen_port, config.telemetry_path) == ("127.0.0.1", 9999, "/m")
    assert seats_config(config).activity_windows == (
        ActivityWindow("2h", 7200),
        ActivityWindow("1d", 86400),
        ActivityWindow("30d", 30 * 86400),
    )
    assert seats_config(config).seat_prices_usd == {"business": 15.0, "enterprise": 39.0}

    flags = {"org": ["from-flag"], "poll_interval": "1m", "api_url": "https://api.flag.example/"}
    config = build_config(flags, file_data, env)
    assert config.targets == (Target("org", "from-flag"), Target("enterprise", "ent"))
    assert seats_config(config).poll_interval == 60
    assert config.api_url == "https://api.flag.example"
    assert build_config({"org": ["a"]}, {}, env).api_url == "https://api.env.example"


def test_token_file_wins_over_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file-token\n")
    config = build_config({"org": ["acme"], "token_file": str(token_file)}, {}, ENV)
    assert config.token is not None
    assert config.token.reveal() == "from-file-token"


def test_secrets_never_show_in_repr() -> None:
    config = build_config({"org": ["acme"]}, {}, ENV)
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config.token)


@pytest.mark.parametrize(
    ("file_data", "flags", "key", "fragment"),
    [
        ({"organisations": ["acme"]}, {}, "organisations", "unknown key"),
        ({"github": {"api_ulr": "x"}}, {"org": ["a"]}, "github.api_ulr", "unknown key"),
        ({"poll_interval": "30s"}, {"org": ["a"]}, "poll_interval", "minimum is 1m"),
        ({"poll_interval": "ten minutes"}, {"org": ["a"]}, "poll_interval", "invalid duration"),
        ({"poll_interval": 5}, {"org": ["a"]}, "poll_interval", "invalid duration"),
        ({"activity_windows": "7d"}, {"org": ["a"]}, "activity_windows", "non-empty list"),
        ({"activity_windows": ["30d", "180d"]}, {"org": ["a"]}, "activity_windows", "90d of activity"),
        ({"seat_prices_usd": {"pro": 10}}, {"org": ["a"]}, "seat_prices_usd.pro", "unknown plan"),
        ({"seat_prices_usd": {"business": "19"}}, {"org": ["a"]}, "seat_prices_usd.business", "number"),
        ({"log": {"level": "loud"}}, {"org": ["a"]}, "log.level", "not one of"),
        ({"web": {"listen_address": "9185"}}, {"org": ["a"]}, "web.listen_address", "HOST:PORT"),
        ({"organizations": [""]}, {}, "organizations", "non-empty string"),
        ({"organizations": ["bad name"]}, {}, "organizations", "not a valid"),
        ({"demo": "yes"}, {}, "demo", "true or false"),
        ({}, {}, "organizations", "no target"),
    ],
)
def test_invalid_settings_name_the_key(
    file_data: dict[str, object], flags: dict[str, object], key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        build_config(flags, file_data, ENV)
    assert raised.value.key == key
    assert fragment in raised.value.message


def test_missing_token_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        build_config({"org": ["acme"]}, {}, {})
    assert raised.value.key == "GITHUB_TOKEN"
    assert "--demo" in raised.value.message
    assert build_config({"demo": True}, {}, {}).demo


def test_durations() -> None:
    assert parse_duration("1h30m", "k") == 5400
    assert parse_duration("90s", "k") == 90
    assert parse_duration("2w", "k") == 14 * 86400
    assert format_duration(7 * 86400) == "7d"
    assert format_duration(36 * 3600) == "36h"
    assert format_duration(600) == "10m"


# -- the console script ----------------------------------------------------------------------------


def test_version() -> None:
    result = run_exporter_cli(["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"github-copilot-exporter {__version__}"


def test_bad_config_file_exits_2_with_one_message(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("organizations: [acme]\npoll_intervall: 10m\n")
    result = run_exporter_cli(["--config", str(config)], ENV)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "poll_intervall: unknown key" in lines[0]
    assert TOKEN not in result.stdout + result.stderr


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("organizations: [acme\n")
    result = run_exporter_cli(["--config", str(broken)], ENV)
    assert result.returncode == 2
    assert "not valid YAML at line" in result.stderr
    result = run_exporter_cli(["--config", str(tmp_path / "absent.yml")], ENV)
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_no_token_without_demo_exits_2() -> None:
    result = run_exporter_cli(["--org", "acme"])
    assert result.returncode == 2
    assert "GITHUB_TOKEN" in result.stderr
    assert "--demo" in result.stderr


def test_no_target_exits_2() -> None:
    result = run_exporter_cli([], ENV)
    assert result.returncode == 2
    assert "no target" in result.stderr
    assert TOKEN not in result.stderr


def test_unknown_flag_exits_2() -> None:
    result = run_exporter_cli(["--web.listen-adress", ":1"], ENV)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_billing_defaults_to_auto_hourly_with_the_main_credentials() -> None:
    billing = billing_config(build_config({"org": ["acme"]}, {}, ENV))
    assert billing.enabled == "auto"
    assert billing.poll_interval == 3600
    assert billing.token_file is None
    assert billing.ai_credits_per_seat == {"business": 1900, "enterprise": 3900}


def test_billing_section_is_read_and_an_unquoted_boolean_is_a_mode(tmp_path: Path) -> None:
    token = tmp_path / "billing-token"
    token.write_text("ghp_billing\n")
    section = {"enabled": False, "poll_interval": "2h", "token_file": str(token)}
    billing = billing_config(
        build_config(
            {"org": ["acme"]}, {"billing": {**section, "ai_credits_per_seat": {"business": 2500}}}, ENV
        )
    )
    assert (billing.enabled, billing.poll_interval, billing.token_file) == ("false", 7200, token)
    assert billing.ai_credits_per_seat == {"business": 2500, "enterprise": 3900}


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"enabled": "sometimes"}, "billing.enabled"),
        ({"poll_interval": "10s"}, "billing.poll_interval"),
        ({"token_file": "/nonexistent/billing-token"}, "billing.token_file"),
        ({"ai_credits_per_seat": {"pro": 300}}, "billing.ai_credits_per_seat.pro"),
        ({"ai_credits_per_seat": {"business": -1}}, "billing.ai_credits_per_seat.business"),
        ({"ai_credits_per_seat": [1900]}, "billing.ai_credits_per_seat"),
        ({"token": "ghp_inline"}, "billing.token"),
    ],
)
def test_invalid_billing_settings_name_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"org": ["acme"]}, {"billing": section}, ENV)
    assert caught.value.key == key


def test_the_seat_settings_stay_top_level_keys_owned_by_the_seat_source() -> None:
    file_data = {"poll_interval": "15m", "seat_metrics": "off", "seat_prices_usd": {"enterprise": 40}}
    config = build_config({"org": ["a"]}, file_data, ENV)
    seats = seats_config(config)
    assert config.sources["seats"] is seats
    assert (seats.poll_interval, seats.price("enterprise"), seats.price("unknown-plan")) == (900, 40.0, 19.0)
    assert config.seat_metrics is SeatMetricsMode.OFF
    # The section's name is no key of the file: the seat settings were never under `seats:`.
    with pytest.raises(ConfigError) as raised:
        build_config({"org": ["a"]}, {"seats": {"poll_interval": "15m"}}, ENV)
    assert (raised.value.key, raised.value.message.split(";")[0]) == ("seats", "unknown key")
