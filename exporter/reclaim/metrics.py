"""``github_copilot_reclaimable_seats`` and its monthly cost: what the ``reclaim:`` policy would propose.

Per seat group (enterprise, org, team, plan_type, as ``github_copilot_seats`` counts the seat) and
``grant``: ``direct`` seats are what ``reclaim apply`` removes; ``team`` and ``enterprise`` seats are
listed in the plan with the team or enterprise grant to act on. ``max_removals`` bounds a run, not
these figures: they are the whole saving at stake. Derived from the cached selection of the
snapshots being served (:mod:`exporter.reclaim.served`), so a scrape does no I/O and little work.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.reclaim.served import ServedReclaim

LABELS = ["enterprise", "org", "team", "plan_type", "grant"]


class ReclaimCollector(Collector):
    def __init__(self, served: ServedReclaim) -> None:
        self.served = served

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        seats = GaugeMetricFamily(
            "github_copilot_reclaimable_seats",
            "Seats the reclaim: policy proposes to take back, idle days counted to the poll "
            "(grant: direct, removed by reclaim apply; team or enterprise, to act on the grant).",
            labels=LABELS,
        )
        cost = GaugeMetricFamily(
            "github_copilot_reclaimable_seats_monthly_cost_usd",
            "Monthly cost of the seats the reclaim: policy proposes to take back, in USD.",
            labels=LABELS,
        )
        current = self.served.current()
        if current is not None:
            selection = current.selection
            counts: Counter[tuple[str, ...]] = Counter()
            costs: defaultdict[tuple[str, ...], float] = defaultdict(float)
            for candidate in (*selection.removals, *selection.team_grants, *selection.enterprise_grants):
                labels = (*candidate.group, candidate.grant)
                counts[labels] += 1
                costs[labels] += candidate.monthly_saving_usd
            for group in sorted(counts):
                seats.add_metric(list(group), counts[group])
                cost.add_metric(list(group), costs[group])
        yield seats
        yield cost
