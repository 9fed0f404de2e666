"""Per-seat series and personal data: ``seat_metrics: login | hashed | off`` and the series cap."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

import pytest

from exporter.errors import ConfigError
from exporter.web.server import Exporter
from tests.inprocess import make_config, metrics, run_scenario, scrape
from tests.support import (
    TOKEN,
    Dataset,
    Labels,
    ServedFake,
    parse_exposition,
    run_exporter_cli,
    start_exporter,
    total,
    value,
)

HASH_KEY = "k8s-secret-hash-key-0123456789"
ENV = {"GITHUB_COPILOT_EXPORTER_HASH_KEY": HASH_KEY}
Parsed = dict[str, dict[Labels, float]]


def logins(dataset: Dataset) -> set[str]:
    return {s.login for s in dataset.org.seats} | {s.login for s in dataset.enterprise.seats}


def expected_label(login: str, key: str = HASH_KEY) -> str:
    return "u" + hmac.new(key.encode(), login.lower().encode(), hashlib.sha256).hexdigest()[:16]


def poll_and_scrape(
    fake: ServedFake, flags: dict[str, Any] | None = None, **config: Any
) -> tuple[Parsed, str]:
    """One poll of acme and acme-corp, then the parsed exposition and its text."""
    out: dict[str, Any] = {}
    cfg = make_config(
        {"org": ["acme"], "enterprise": ["acme-corp"], "api_url": fake.url, **(flags or {})},
        config.get("file_data"),
        config.get("env", ENV),
    )

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        await exporter.poller.poll_once()  # a second poll must not change or repeat anything
        out["text"] = (await scrape(exporter)).text
        out["parsed"] = await metrics(exporter)

    run_scenario(fake.url, cfg, scenario)
    return out["parsed"], out["text"]


def per_seat(parsed: Parsed) -> dict[str, dict[Labels, float]]:
    return {name: series for name, series in parsed.items() if any("user" in dict(k) for k in series)}


def aggregates(parsed: Parsed) -> dict[str, dict[Labels, float]]:
    return {
        name: series
        for name, series in parsed.items()
        if name.startswith("github_copilot_")
        and name not in per_seat(parsed)
        and not name.startswith(("github_copilot_poll_duration", "github_copilot_snapshot_age"))
        and not name.startswith(("github_copilot_last_success", "github_copilot_api_"))
    }


@pytest.fixture
def login_mode(fake: ServedFake) -> Parsed:
    return poll_and_scrape(fake)[0]


def test_login_mode_names_every_seat_once(login_mode: Parsed, dataset: Dataset) -> None:
    users = [dict(k)["user"] for k in login_mode["github_copilot_seat_info"]]
    assert sorted(users) == sorted(logins(dataset))  # one series per seat, users merged across grants
    assert value(login_mode, "github_copilot_seat_series_dropped") == 0


def test_hashed_mode_uses_a_keyed_hash_stable_across_restarts(
    fake: ServedFake, dataset: Dataset, login_mode: Parsed
) -> None:
    parsed, text = poll_and_scrape(fake, {"seat_metrics": "hashed"})
    restarted, _ = poll_and_scrape(fake, {"seat_metrics": "hashed"})
    other_key, _ = poll_and_scrape(
        fake, {"seat_metrics": "hashed"}, env={"GITHUB_COPILOT_EXPORTER_HASH_KEY": "x" * 32}
    )

    for login in logins(dataset):
        assert f'"{login}"' not in text
    labels = {dict(k)["user"] for k in parsed["github_copilot_seat_info"]}
    assert labels == {expected_label(login) for login in logins(dataset)}
    assert len(labels) == len(parsed["github_copilot_seat_info"]) == len(logins(dataset))
    # Not reversible by hashing a list of logins without the key.
    unkeyed = {hashlib.sha256(login.encode()).hexdigest()[:16] for login in logins(dataset)}
    assert not {label[1:] for label in labels} & unkeyed
    # The same series after a restart (idle seconds aside: they move with the time of the scrape).
    assert {n: set(s) for n, s in per_seat(restarted).items()} == {
        n: set(s) for n, s in per_seat(parsed).items()
    }
    for name in ("github_copilot_seat_info", "github_copilot_seat_created_timestamp_seconds"):
        assert restarted[name] == parsed[name]
    assert not labels & {dict(k)["user"] for k in other_key["github_copilot_seat_info"]}
    # Everything but the user label is as in login mode: team, org, plan, editor, values.
    by_user = {
        expected_label(dict(k)["user"]): (k, v) for k, v in login_mode["github_copilot_seat_info"].items()
    }
    for key, series_value in parsed["github_copilot_seat_info"].items():
        labels_login, value_login = by_user[dict(key)["user"]]
        assert {**dict(labels_login), "user": dict(key)["user"]} == dict(key)
        assert series_value == value_login
    assert aggregates(parsed) == aggregates(login_mode)


def test_off_mode_drops_every_per_seat_series_and_keeps_aggregates_exact(
    fake: ServedFake, login_mode: Parsed
) -> None:
    parsed, text = poll_and_scrape(fake, {"seat_metrics": "off"})
    assert per_seat(parsed) == {}
    assert "user0001" not in text
    assert "carol" not in text
    assert aggregates(parsed) == aggregates(login_mode)
    assert total(parsed, "github_copilot_seats", org="acme", team="alpha") == total(
        login_mode, "github_copilot_seats", org="acme", team="alpha"
    )
    assert total(parsed, "github_copilot_seats", enterprise="acme-corp") == 4


def test_the_series_cap_cuts_per_seat_series_counts_them_and_says_so_once(
    fake: ServedFake, dataset: Dataset, login_mode: Parsed, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        parsed, _ = poll_and_scrape(fake, file_data={"seat_metrics": {"mode": "login", "max_series": 100}})
    seats = len(logins(dataset))
    assert len(parsed["github_copilot_seat_info"]) == 100
    for name, series in per_seat(parsed).items():
        assert len(series) <= 100, name
    assert value(parsed, "github_copilot_seat_series_dropped") == seats - 100
    assert aggregates(parsed) == {
        **aggregates(login_mode),
        "github_copilot_seat_series_dropped": parsed["github_copilot_seat_series_dropped"],
    }
    cut = [r for r in caplog.records if "too many seats" in r.getMessage()]
    assert len(cut) == 1  # two polls, one line: it is said when the cut changes
    assert cut[0].dropped == seats - 100  # type: ignore[attr-defined]


def test_seat_metrics_configuration(tmp_path: Path) -> None:
    key_file = tmp_path / "hash.key"
    key_file.write_text(HASH_KEY + "\n")
    file_data = {
        "organizations": ["acme"],
        "seat_metrics": {"mode": "hashed", "hash_key_file": str(key_file)},
    }
    config = make_config({}, file_data, env={})
    assert config.seat_metrics == "hashed"
    assert config.seat_metrics_hash_key is not None
    assert config.seat_metrics_hash_key.reveal() == HASH_KEY
    assert HASH_KEY not in repr(config)
    assert make_config({"org": ["acme"]}, {"seat_metrics": "off"}).seat_metrics == "off"  # the short form
    assert (
        make_config({"org": ["acme"], "seat_metrics": "login"}, file_data).seat_metrics == "login"
    )  # flag wins
    assert make_config({"org": ["acme"], "seat_metrics": "hashed"}, env=ENV).seat_metrics_hash_key is not None

    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        ({"seat_metrics": "pseudonymous"}, {}, "seat_metrics.mode"),
        ({"seat_metrics": "hashed"}, {}, "seat_metrics.hash_key_file"),  # no key at all
        (
            {},
            {"seat_metrics": {"mode": "hashed", "hash_key_file": str(tmp_path / "none")}},
            "seat_metrics.hash_key_file",
        ),
        ({}, {"seat_metrics": {"max_series": -1}}, "seat_metrics.max_series"),
        ({}, {"seat_metrics": {"mode": "off", "salt": "x"}}, "seat_metrics.salt"),
    ]
    for flags, data, key in cases:
        with pytest.raises(ConfigError) as raised:
            make_config({"org": ["acme"], **flags}, data, env={})
        assert raised.value.key == key, (flags, data)
    short = tmp_path / "short.key"
    short.write_text("too-short")
    with pytest.raises(ConfigError) as raised:
        make_config(
            {"org": ["acme"]}, {"seat_metrics": {"mode": "hashed", "hash_key_file": str(short)}}, env={}
        )
    assert "too-short" not in str(raised.value)

    result = run_exporter_cli(["--demo", "--seat-metrics", "hashed"])
    assert result.returncode == 2
    assert "seat_metrics.hash_key_file" in result.stderr


def test_hashed_process_exposes_no_login_and_logs_no_key(fake: ServedFake, dataset: Dataset) -> None:
    args = [
        "--org",
        "acme",
        "--enterprise",
        "acme-corp",
        "--github.api-url",
        fake.url,
        "--seat-metrics=hashed",
    ]
    with start_exporter(args, {"GITHUB_TOKEN": TOKEN, **ENV}) as running:
        text = running.metrics()
        landing = running.get("/").text
    parsed = parse_exposition(text)
    assert {dict(k)["user"] for k in parsed["github_copilot_seat_info"]} == {
        expected_label(login) for login in logins(dataset)
    }
    for login in logins(dataset):
        assert f'"{login}"' not in text
        assert login not in landing
    assert HASH_KEY not in running.log() + text + landing
