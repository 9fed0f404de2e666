"""The repository source: GitHub's daily Copilot repository report (``repos-1-day``), per target.

It runs on its own interval and fails on its own: a target whose report cannot be read shows
``github_copilot_up{source="repositories"} 0`` with a reason and a hint, the other sources go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import Metric

from exporter.caching import BuiltOnce
from exporter.config import Config, Target
from exporter.github.reports import ReportClient
from exporter.sources.base import PolledSource, refusals_hinted
from exporter.sources.repositories.config import RepositoriesConfig, repositories_config
from exporter.sources.repositories.fetch import fetch_repositories
from exporter.sources.repositories.metrics import repository_families
from exporter.sources.repositories.snapshot import OTHER, RepositoriesSnapshot

#: The repository report is one of the usage-metrics reports, read with the same permissions.
ACCESS_HINT = (
    'the repository report needs the "Copilot usage metrics" policy enabled and a token that reads '
    'Copilot metrics: for an organization, an owner or "View Organization Copilot Metrics" (classic '
    'token: read:org); for an enterprise, an owner, a billing manager or "View Enterprise Copilot '
    'Metrics" (classic token: manage_billing:copilot or read:enterprise); or repositories.enabled: false'
)


class RepositoriesSource(PolledSource[RepositoriesConfig]):
    name = "repositories"

    def __init__(
        self, config: Config, client: ReportClient, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config, repositories_config(config), clock)
        self.client = client
        self._families = BuiltOnce[RepositoriesSnapshot, list[Metric]](
            lambda snapshots: list(repository_families(snapshots))
        )

    async def fetch(self, target: Target, previous: RepositoriesSnapshot | None) -> RepositoriesSnapshot:
        with refusals_hinted(ACCESS_HINT):
            return await fetch_repositories(
                self.client, target, self.settings, today=self._today(), known=previous
            )

    def families(self, snapshots: Sequence[RepositoriesSnapshot], now: float) -> Iterable[Metric]:
        return self._families(snapshots)

    def prepare(self, snapshots: Sequence[RepositoriesSnapshot]) -> None:
        self._families(snapshots)

    def describe_snapshot(self, snapshot: RepositoriesSnapshot) -> str:
        kept = sum(1 for r in snapshot.repositories if r.repository != OTHER)
        return f"{snapshot.day.isoformat()}, {snapshot.reported:,} repositories ({kept} shown)"
