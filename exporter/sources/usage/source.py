"""The usage source: GitHub's daily Copilot usage-metrics reports, per organization or enterprise.

It runs on its own interval (an hour by default: GitHub publishes a report a day) and fails on its
own: a target whose reports cannot be read shows ``github_copilot_up{source="usage"} 0`` with a reason
and a hint, while its seat series go on as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import Metric

from exporter.caching import BuiltOnce
from exporter.config import Config, Target
from exporter.privacy import UserLabels
from exporter.sources.base import PolledSource, refusals_hinted
from exporter.sources.usage.config import UsageConfig, usage_config
from exporter.sources.usage.fetch import UsageClient, fetch_usage
from exporter.sources.usage.metrics import usage_families
from exporter.sources.usage.snapshot import UsageSnapshot

ACCESS_HINT = (
    'the "Copilot usage metrics" policy must be enabled for the organization or enterprise, and the '
    'token must read Copilot metrics: organization owners or the fine-grained permission "View '
    'Organization Copilot Metrics" (classic token: read:org); for enterprises, enterprise owners, '
    'billing managers or "View Enterprise Copilot Metrics" (classic token: manage_billing:copilot or '
    "read:enterprise)"
)


class UsageSource(PolledSource[UsageConfig]):
    name = "usage"

    def __init__(
        self,
        config: Config,
        client: UsageClient,
        users: UserLabels,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, usage_config(config), clock)
        self.client = client
        self.users = users
        # Families built once per published set of snapshots: the values do not depend on the time of
        # the scrape, and per-user series of a large enterprise are too many to build on every scrape.
        self._families = BuiltOnce[UsageSnapshot, list[Metric]](self._build)

    async def fetch(self, target: Target, previous: UsageSnapshot | None) -> UsageSnapshot:
        usage = self.settings
        with refusals_hinted(ACCESS_HINT):
            return await fetch_usage(
                self.client,
                target,
                today=self._today(),
                known=previous,
                max_days_back=usage.max_days_back,
                top_n=usage.top_n,
                max_file_bytes=usage.max_download_bytes,
                max_files=usage.max_files_per_report,
                max_records=usage.max_records_per_report,
            )

    def families(self, snapshots: Sequence[UsageSnapshot], now: float) -> Iterable[Metric]:
        return self._families(snapshots)

    def prepare(self, snapshots: Sequence[UsageSnapshot]) -> None:
        self._families(snapshots)

    def _build(self, snapshots: tuple[UsageSnapshot, ...]) -> list[Metric]:
        user_label = self.users if self.users.enabled else None
        return list(
            usage_families(snapshots, user_label=user_label, max_user_series=self.config.max_seat_series)
        )

    def describe_snapshot(self, snapshot: UsageSnapshot) -> str:
        state = "final" if snapshot.final else "not final yet"
        return f"{snapshot.day.isoformat()} ({state}), {len(snapshot.users):,} users"
