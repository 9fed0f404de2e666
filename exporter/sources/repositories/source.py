"""The repository source: GitHub's daily Copilot repository report (``repos-1-day``), per target.

It runs on its own interval and fails on its own: a target whose report cannot be read shows
``github_copilot_up{source="repositories"} 0`` with a reason and a hint, the other sources go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from prometheus_client.core import Metric

from exporter.caching import same_objects
from exporter.config import Config, Target
from exporter.errors import AccessError, CopilotUnavailableError, PermissionDeniedError
from exporter.github.reports import ReportClient
from exporter.sources.repositories.config import repositories_config
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


class RepositoriesSource:
    name = "repositories"

    def __init__(
        self, config: Config, client: ReportClient, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.settings = repositories_config(config)
        self.client = client
        self._clock = clock
        self._cached: tuple[tuple[RepositoriesSnapshot, ...], list[Metric]] | None = None
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    @property
    def targets(self) -> tuple[Target, ...]:
        return self.config.targets

    async def fetch(self, target: Target, previous: RepositoriesSnapshot | None) -> RepositoriesSnapshot:
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        try:
            return await fetch_repositories(self.client, target, self.settings, today=today, known=previous)
        except (PermissionDeniedError, CopilotUnavailableError) as exc:
            raise AccessError(exc, ACCESS_HINT) from None

    def families(self, snapshots: Sequence[RepositoriesSnapshot], now: float) -> Iterable[Metric]:
        return self._families(tuple(snapshots))

    def prepare(self, snapshots: Sequence[RepositoriesSnapshot]) -> None:
        self._families(tuple(snapshots))

    def _families(self, snapshots: tuple[RepositoriesSnapshot, ...]) -> list[Metric]:
        with self._lock:
            cached = self._cached
            if cached is not None and same_objects(cached[0], snapshots):
                return cached[1]
            families = list(repository_families(snapshots))
            self._cached = (snapshots, families)
            return families

    def describe_snapshot(self, snapshot: RepositoriesSnapshot) -> str:
        kept = sum(1 for r in snapshot.repositories if r.repository != OTHER)
        return f"{snapshot.day.isoformat()}, {snapshot.reported:,} repositories ({kept} shown)"
