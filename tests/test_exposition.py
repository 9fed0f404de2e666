"""The fast /metrics renderer writes what prometheus_client's own encoders write, sample for sample."""

from __future__ import annotations

import asyncio
import subprocess
import zlib
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, cast

import httpx
import pytest
from prometheus_client import CollectorRegistry, Metric, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics_exposition
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.registry import Collector

from exporter.collector import SourcesCollector
from exporter.config import Config, SeatMetricsMode, Secret, Target
from exporter.exposition import render
from exporter.github.auth import StaticToken
from exporter.github.client import GitHubClient, http_client
from exporter.github.pacing import RequestPacer
from exporter.health import HealthCollector
from exporter.poller import Poller
from exporter.sources.repositories import config as repositories
from exporter.sources.usage.config import Enabled, UsageConfig
from exporter.state import ExporterState
from exporter.wiring import build_sources
from tests.fakegithub.fake_github import FakeGitHub, FakeSeat
from tests.support import NOW, TOKEN, Labels, ago, need_binary, parse_exposition, standard_dataset

openmetrics_latest = cast(Callable[[Collector], bytes], openmetrics_exposition.generate_latest)
parse_openmetrics = cast(Callable[[str], Iterator[Metric]], openmetrics_parser.text_string_to_metric_families)
SCRAPE_AT = NOW.timestamp() + 0.75  # not a whole second: idle seconds are whole seconds
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TARGETS = (Target("org", "acme"), Target("enterprise", "acme-corp"))


class Scraped:
    """The exporter's parts in-process, against the fake through httpx's ASGI transport."""

    def __init__(self, fake: FakeGitHub, config: Config) -> None:
        self.fake = fake
        self.config = config
        self.client = GitHubClient(
            "http://github.test",
            StaticToken(TOKEN),
            http=http_client(transport=httpx.ASGITransport(fake)),
            pacer=RequestPacer(4, 100_000),
        )
        self.sources = build_sources(config, self.client)
        self.state = ExporterState((s.name, t) for s in self.sources for t in s.targets)
        self.poller = Poller(self.sources, self.state)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SourcesCollector(self.sources, self.state, clock=lambda: SCRAPE_AT))
        self.registry.register(HealthCollector(self.state, self.client.stats, clock=lambda: SCRAPE_AT))

    @property
    def table(self) -> object:
        return self.sources[0].metrics._table  # type: ignore[attr-defined]

    def prepare(self) -> None:
        self.sources[0].prepare([s.snapshot for s in self.state.statuses.values() if s.snapshot is not None])

    def poll(self) -> None:
        asyncio.run(self.poller.poll_once())
        assert self.state.ready

    def fast(self, accept: str = "", encoding: str = "") -> bytes:
        return render(self.registry, accept, encoding)[0]


def _scraped(fake: FakeGitHub | None = None, config: dict[str, Any] | None = None) -> Scraped:
    # The seats' layout is under test: the fake has no usage reports to poll.
    sources = {
        "usage": UsageConfig(enabled=Enabled.FALSE),
        "repositories": repositories.RepositoriesConfig(enabled=repositories.Enabled.FALSE),
    }
    settings = {"sources": sources, **(config or {})}
    scraped = Scraped(fake or standard_dataset().app(), Config(targets=TARGETS, **settings))
    scraped.poll()
    return scraped


def _samples(text: str, parse: Callable[[str], object] = parse_exposition) -> dict[str, dict[Labels, float]]:
    if parse is parse_exposition:
        return parse_exposition(text)
    out: dict[str, dict[Labels, float]] = {}
    for family in parse_openmetrics(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return out


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"seat_metrics": SeatMetricsMode.HASHED, "seat_metrics_hash_key": Secret("0123456789abcdef0123")},
        {"seat_metrics": SeatMetricsMode.OFF},
        {"max_seat_series": 100},
    ],
    ids=["login", "hashed", "off", "capped"],
)
def test_text_format_has_the_samples_of_the_generic_encoder(config: dict[str, Any]) -> None:
    scraped = _scraped(config=config)
    fast = scraped.fast().decode()
    generic = generate_latest(scraped.registry).decode()
    assert _samples(fast) == _samples(generic)
    # The same families, each once, each with its HELP and TYPE.
    assert sorted(line for line in fast.splitlines() if line.startswith("#")) == sorted(
        line for line in generic.splitlines() if line.startswith("#")
    )
    parsed = _samples(fast)
    if config.get("seat_metrics") == "off":
        assert "github_copilot_seat_info" not in parsed
    else:
        named = 100 if "max_seat_series" in config else 250 + 4
        assert len(parsed["github_copilot_seat_info"]) == named
        assert len(parsed["github_copilot_seat_idle_seconds"]) == named
        assert parsed["github_copilot_seat_series_dropped"][frozenset()] == 250 + 4 - named


def test_openmetrics_has_the_samples_of_the_generic_encoder() -> None:
    scraped = _scraped()
    fast = scraped.fast(OPENMETRICS).decode()
    generic = openmetrics_latest(scraped.registry).decode()
    assert _samples(fast, parse_openmetrics) == _samples(generic, parse_openmetrics)
    assert fast.endswith("# EOF\n")
    assert fast.count("# EOF") == 1
    # Counters keep their OpenMetrics form: TYPE without _total, samples with it.
    assert "# TYPE github_copilot_polls counter\n" in fast
    assert 'github_copilot_polls_total{enterprise="",org="acme",source="seats"} 1.0\n' in fast


def test_idle_seconds_are_whole_seconds_since_the_last_activity() -> None:
    scraped = _scraped()
    parsed = _samples(scraped.fast().decode())
    idle = parsed["github_copilot_seat_idle_seconds"]
    # user0001 was last active 45 days before NOW; the scrape is 0.75 s after NOW.
    labels = frozenset({"enterprise": "", "org": "acme", "user": "user0001"}.items())
    assert idle[labels] == 45 * 86400
    # Read through the generic interface, the families give the same values.
    assert scraped.registry.get_sample_value(
        "github_copilot_seat_idle_seconds", {"enterprise": "", "org": "acme", "user": "user0001"}
    ) == (45 * 86400)


def test_gzip_is_one_member_holding_the_plain_text() -> None:
    scraped = _scraped()
    for accept in ("", OPENMETRICS):
        body, headers = render(scraped.registry, accept, "gzip, deflate")
        assert headers["content-encoding"] == "gzip"
        # One member: a decoder that stops at the end of the first (as httpx's does) sees everything.
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        text = decoder.decompress(body) + decoder.flush()
        assert decoder.eof
        assert decoder.unused_data == b""
        assert text == scraped.fast(accept)
        # The second scrape continues the cached prefix: still the same bytes.
        assert render(scraped.registry, accept, "gzip")[0] == body


def test_label_values_are_escaped_as_the_generic_encoder_does() -> None:
    dataset = standard_dataset()
    odd = FakeSeat('q"uo\\te\nnl', 99_999, ago(days=3), org="acme", team='t"eam', plan_type="business")
    dataset.org.seats.append(odd)
    scraped = _scraped(dataset.app())
    fast = scraped.fast().decode()
    assert _samples(fast) == _samples(generate_latest(scraped.registry).decode())
    assert 'user="q\\"uo\\\\te\\nnl"' in fast


def test_a_name_escaping_negotiation_falls_back_to_the_generic_encoder() -> None:
    scraped = _scraped()
    accept = "text/plain; version=1.0.0; escaping=dots"
    body, headers = render(scraped.registry, accept, "")
    assert "escaping=dots" in headers["content-type"]
    assert body == generate_latest(scraped.registry, escaping="dots")


def test_the_layout_is_kept_while_no_seat_changes() -> None:
    dataset = standard_dataset()
    scraped = _scraped(dataset.app())
    first = scraped.fast()
    table = scraped.table
    assert table is not None

    scraped.poll()  # every page answered 304: the same snapshot contents, the same layout
    assert scraped.fake.requests[-1].status == 304
    assert _seat_series(scraped.fast()) == _seat_series(first)
    assert scraped.table is table

    dataset.org.seats[5].pending_cancellation_date = date(2031, 1, 1)
    scraped.poll()
    changed = _samples(scraped.fast().decode())
    assert scraped.table is not table
    labels = frozenset({"enterprise": "", "org": "acme", "user": "user0005"}.items())
    assert changed["github_copilot_seat_pending_cancellation_timestamp_seconds"][labels] > 0


def _seat_series(body: bytes) -> dict[str, dict[Labels, float]]:
    return {k: v for k, v in _samples(body.decode()).items() if k.startswith("github_copilot_seat_")}


def test_prepare_lays_out_new_snapshots_before_a_scrape() -> None:
    scraped = _scraped()  # polled: the poller lays out the new snapshots once they are published
    table = scraped.table
    assert table is not None
    scraped.prepare()  # nothing changed: nothing rebuilt
    assert scraped.table is table
    scraped.fast("", "gzip")
    assert scraped.table is table


def test_promtool_accepts_the_fast_exposition() -> None:
    promtool = need_binary("promtool")
    scraped = _scraped()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=scraped.fast(), capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == b""
    assert result.stderr.strip() == b""
