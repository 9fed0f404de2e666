"""A fourth data source is its own subpackage and one line in the registry (tests/fourth_source/)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from exporter import cli
from exporter.errors import ConfigError
from exporter.sources import registry
from tests.fourth_source.source import FourthConfig, fourth_config
from tests.fourth_source.spec import SPEC
from tests.inprocess import ManualClock, make_config, make_exporter, metrics, scrape
from tests.support import NOW, ServedFake, serve_fake, standard_dataset, value


@pytest.fixture(autouse=True)
def fourth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, SPEC))  # the one line


DATASET = standard_dataset()
SEATS = len(DATASET.org.seats)


@pytest.fixture
def fake() -> Iterator[ServedFake]:
    with serve_fake(DATASET.app()) as served:
        yield served


def test_its_section_is_accepted_with_defaults_and_validated_by_key() -> None:
    assert fourth_config(make_config({"org": ["acme"]})) == FourthConfig()
    config = make_config({"org": ["acme"]}, {"fourth": {"scale": 3, "poll_interval": "2m"}})
    assert fourth_config(config) == FourthConfig(poll_interval=120.0, scale=3)
    with pytest.raises(ConfigError, match=r"^fourth\.scale: must be a whole number from 1 to 100$"):
        make_config({"org": ["acme"]}, {"fourth": {"scale": 1000}})
    with pytest.raises(ConfigError, match=r"^fourth\.colour: unknown key"):
        make_config({"org": ["acme"]}, {"fourth": {"colour": "blue"}})


def test_its_flag_is_parsed_and_overrides_the_file() -> None:
    args = cli.parse_args(["--org", "acme", "--fourth.enabled", "false"])
    assert args["fourth_enabled"] == "false"
    config = make_config({"org": ["acme"], "fourth_enabled": "false"}, {"fourth": {"enabled": True}})
    assert fourth_config(config).enabled == "false"
    assert "--fourth.enabled" in cli.build_parser().format_help()


def test_unregistered_its_section_is_an_unknown_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SOURCES", tuple(s for s in registry.SOURCES if s is not SPEC))
    with pytest.raises(ConfigError, match=r"^fourth: unknown key"):
        make_config({"org": ["acme"]}, {"fourth": {}})


def test_the_exporter_serves_its_families_health_series_and_landing_row(fake: ServedFake) -> None:
    config = make_config({"org": ["acme"], "api_url": fake.url}, {"fourth": {"scale": 2}})

    async def scenario() -> None:
        exporter = make_exporter(fake.url, config, clock=ManualClock(NOW.timestamp()))
        try:
            assert [s.name for s in exporter.sources] == ["seats", "billing", "fourth"]
            assert not exporter.state.ready
            await exporter.poller.poll_once()
            parsed = await metrics(exporter)
            page = (await scrape(exporter, "/")).text
            ready = await scrape(exporter, "/readyz")
        finally:
            await exporter.client.aclose()
        assert value(parsed, "github_copilot_fourth_seats", org="acme") == 2 * SEATS
        assert value(parsed, "github_copilot_up", source="fourth", org="acme") == 1
        assert value(parsed, "github_copilot_poll_duration_seconds", source="fourth", org="acme") is not None
        assert f"<td>fourth</td><td>org</td><td>acme</td><td>{SEATS} seats counted by the fourth" in page
        assert "fourth every 5m" in page
        assert '<a href="/fourth">Fourth</a>' in page
        assert ready.status_code == 200

    asyncio.run(scenario())


def test_switched_off_it_is_not_built(fake: ServedFake) -> None:
    config = make_config({"org": ["acme"], "api_url": fake.url, "fourth_enabled": "false"})
    exporter = make_exporter(fake.url, config)
    assert [s.name for s in exporter.sources] == ["seats", "billing"]
    asyncio.run(exporter.client.aclose())
