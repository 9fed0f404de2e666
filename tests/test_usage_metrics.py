"""The usage metric families: every family always, values from the snapshot, per-user series capped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter.config import Target
from exporter.demo.fake_usage import DEMO_ENTERPRISE, DEMO_ORG, demo_usage, report_files
from exporter.sources.usage.aggregate import UsageAggregator
from exporter.sources.usage.metrics import usage_families
from exporter.sources.usage.snapshot import UsageSnapshot

NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
DAY = date(2026, 7, 13)


def _snapshot(kind: str, name: str) -> UsageSnapshot:
    world = demo_usage(NOW)
    entity = world.entities[(kind, name)]
    aggregator = UsageAggregator(DAY, top_n=5)
    feeds = (
        ("entity", aggregator.feed_entity_line),
        ("users", aggregator.feed_user_line),
        ("user_teams", aggregator.feed_team_line),
    )
    for report, feed in feeds:
        for body in report_files(world, entity, report, DAY):
            for line in body.splitlines():
                feed(line)
    return aggregator.finish(Target(kind, name), final=False)  # type: ignore[arg-type]


SNAPSHOTS = [_snapshot("org", DEMO_ORG), _snapshot("enterprise", DEMO_ENTERPRISE)]


class _Usage(Collector):
    def __init__(self, snapshots: list[UsageSnapshot], **kw: object) -> None:
        self.snapshots, self.kw = snapshots, kw

    def collect(self) -> Iterator[Metric]:
        return usage_families(self.snapshots, **self.kw)  # type: ignore[arg-type]


def _registry(snapshots: list[UsageSnapshot], **kw: object) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Usage(snapshots, **kw))
    return registry


def test_every_family_is_there_without_data() -> None:
    empty = {m.name for m in usage_families([], user_label=None, max_user_series=10)}
    full = {m.name for m in usage_families(SNAPSHOTS, user_label=str, max_user_series=10)}
    assert empty == full
    assert all(name.startswith("github_copilot_") for name in full)
    assert not [name for name in full if name.endswith("_total")]


def test_values_come_from_the_snapshot() -> None:
    registry = _registry(SNAPSHOTS, user_label=str, max_user_series=10_000)
    org = {"enterprise": "", "org": DEMO_ORG}
    entity = SNAPSHOTS[0].entity
    assert entity is not None
    assert (
        registry.get_sample_value("github_copilot_usage_report_day_timestamp_seconds", org)
        == datetime(2026, 7, 13, tzinfo=UTC).timestamp()
    )
    assert registry.get_sample_value("github_copilot_usage_report_day_final", org) == 0
    assert (
        registry.get_sample_value("github_copilot_usage_code_acceptances", org) == entity.counters.acceptances
    )
    assert (
        registry.get_sample_value("github_copilot_usage_active_users", org | {"window": "28d"})
        == entity.active_users["monthly_active_users"]
    )
    by_language = sum(
        s.value
        for m in registry.collect()
        if m.name == "github_copilot_usage_code_generations_by_language_feature"
        for s in m.samples
        if s.labels["org"] == DEMO_ORG
    )
    assert by_language == entity.counters.generations
    minutes = entity.pull_request_medians["median_minutes_to_merge"]
    assert (
        registry.get_sample_value("github_copilot_usage_pull_request_merge_median_seconds", org)
        == minutes * 60
    )
    team = SNAPSHOTS[1].teams[0]
    labels = {"enterprise": DEMO_ENTERPRISE, "org": "", "team": team.team}
    assert registry.get_sample_value("github_copilot_usage_team_active_users", labels) == team.active_users
    user = SNAPSHOTS[0].users[0]
    labels = org | {"user": user.login}
    assert registry.get_sample_value("github_copilot_user_ai_credits_used", labels) == user.ai_credits_used
    text = generate_latest(registry).decode()
    info = [line for line in text.splitlines() if line.startswith("github_copilot_user_usage_info{")]
    assert len(info) == sum(len(snap.users) for snap in SNAPSHOTS)
    assert all('used_chat="' in line and line.endswith("} 1.0") for line in info)


def test_per_user_series_are_capped_across_targets_and_counted() -> None:
    registry = _registry(SNAPSHOTS, user_label=lambda login: "h-" + login, max_user_series=25)
    samples = [
        s for m in registry.collect() if m.name == "github_copilot_user_interactions" for s in m.samples
    ]
    assert len(samples) == 25
    assert all(s.labels["user"].startswith("h-") for s in samples)
    credits = sorted((u.ai_credits_used for snap in SNAPSHOTS for u in snap.users), reverse=True)
    shown = [
        s for m in registry.collect() if m.name == "github_copilot_user_ai_credits_used" for s in m.samples
    ]
    assert sorted((s.value for s in shown), reverse=True) == credits[:25]
    dropped = sum(
        registry.get_sample_value(
            "github_copilot_usage_user_series_dropped",
            {"enterprise": snap.target.enterprise, "org": snap.target.org},
        )
        or 0
        for snap in SNAPSHOTS
    )
    assert dropped == sum(len(snap.users) for snap in SNAPSHOTS) - 25


def test_no_per_user_series_when_switched_off() -> None:
    registry = _registry(SNAPSHOTS, user_label=None, max_user_series=1000)
    names = {"github_copilot_user_interactions", "github_copilot_user_usage_info"}
    assert not [s for m in registry.collect() if m.name in names for s in m.samples]
    org = {"enterprise": "", "org": DEMO_ORG}
    assert registry.get_sample_value("github_copilot_usage_user_series_dropped", org) == 0
