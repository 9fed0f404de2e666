"""The fourth source's configuration section, fetch, snapshot and families."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.config import Config, Given, Target, parse_duration, section_of
from exporter.errors import ConfigError, MalformedResponseError
from exporter.github.client import GitHubClient

SECTION = "fourth"
KEYS = ("enabled", "poll_interval", "scale")
Mode = Literal["true", "false"]


@dataclass(frozen=True)
class FourthConfig:
    enabled: Mode = "true"
    poll_interval: float = 300.0
    #: Multiplies the seat total: a setting that reaches the families.
    scale: int = 1


def fourth_config(config: Config) -> FourthConfig:
    return section_of(config, SECTION, FourthConfig)


def parse_fourth(section: Mapping[str, Any], given: Given) -> FourthConfig:
    enabled = given.value("fourth_enabled", section.get("enabled"), "true")
    if isinstance(enabled, bool):
        enabled = "true" if enabled else "false"
    if enabled not in ("true", "false"):
        raise ConfigError("fourth.enabled", "must be true or false")
    scale = section.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 100:
        raise ConfigError("fourth.scale", "must be a whole number from 1 to 100")
    interval = parse_duration(str(section.get("poll_interval", "5m")), "fourth.poll_interval")
    return FourthConfig(enabled=enabled, poll_interval=interval, scale=scale)


@dataclass(frozen=True)
class FourthSnapshot:
    target: Target
    seats: int


def _total(body: Any) -> int:
    seats = body.get("seat_breakdown", {}).get("total") if isinstance(body, dict) else None
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise MalformedResponseError("seat_breakdown.total is not a whole number")
    return seats


class FourthSource:
    name = "fourth"

    def __init__(self, config: Config, client: GitHubClient) -> None:
        self.settings = fourth_config(config)
        self.client = client
        self.targets = tuple(t for t in config.targets if t.kind == "org")

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    async def fetch(self, target: Target, previous: FourthSnapshot | None) -> FourthSnapshot:
        url = f"{self.client.api_url}/orgs/{target.name}/copilot/billing"
        seats, _ = await self.client.get(url, "fourth_billing", _total)
        return FourthSnapshot(target, seats)

    def families(self, snapshots: Sequence[FourthSnapshot], now: float) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "github_copilot_fourth_seats", "Seats, as the fourth source counts them.", labels=["org"]
        )
        for snapshot in snapshots:
            family.add_metric([snapshot.target.name], snapshot.seats * self.settings.scale)
        return [family]

    def prepare(self, snapshots: Sequence[FourthSnapshot]) -> None:
        """Nothing to precompute."""

    def describe_snapshot(self, snapshot: FourthSnapshot) -> str:
        return f"{snapshot.seats} seats counted by the fourth source"
