"""Top-N cuts of the 2026 breakdowns: third-party agents, AI-adoption phases, and the users per IDE and
plugin version.

Names are open-ended (an agent name, a version string), so each is cut to the ``n`` largest and the
rest folded into ``other`` such that every sum over a family stays what it was before the cut. The
phases carry averages per engaged user: folding phases averages them weighted by engaged users, which
is the average over the folded users, where a sum would mean nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from exporter.sources.usage.agents import AgentItem, PhaseItem

OTHER = "other"


def top_names(volumes: Iterable[tuple[str, float]], n: int) -> set[str]:
    """The ``n`` names with the largest total volume; ties break by name, so that the cut does not
    depend on the order of the lines."""
    volume: dict[str, float] = {}
    for name, amount in volumes:
        volume[name] = volume.get(name, 0) + amount
    return set(sorted(volume, key=lambda name: (-volume[name], name))[:n])


def cut_agents(items: Iterable[AgentItem], n: int) -> tuple[AgentItem, ...]:
    items = list(items)
    kept = top_names(((item.name, item.volume) for item in items), n)
    sums: dict[str, tuple[int, int]] = {}
    for item in items:
        name = item.name if item.name in kept else OTHER
        old = sums.get(name, (0, 0))
        sums[name] = (old[0] + item.interactions, old[1] + item.sessions)
    return tuple(AgentItem(name, *figures) for name, figures in sorted(sums.items()))


def cut_phases(items: Iterable[PhaseItem], n: int) -> tuple[PhaseItem, ...]:
    """Phases beyond the ``n`` with the most engaged users folded into ``other``; repeated phases merged."""
    items = list(items)
    kept = top_names(((item.phase, item.engaged_users) for item in items), n)
    groups: dict[str, list[PhaseItem]] = {}
    for item in items:
        groups.setdefault(item.phase if item.phase in kept else OTHER, []).append(item)
    return tuple(_merged(name, group) for name, group in sorted(groups.items()))


def _merged(name: str, group: list[PhaseItem]) -> PhaseItem:
    if len(group) == 1:
        return PhaseItem(name, group[0].engaged_users, group[0].pull_requests_merged, group[0].averages)
    merged = [item.pull_requests_merged for item in group if item.pull_requests_merged is not None]
    averages: dict[str, float] = {}
    for key in {key for item in group for key in item.averages}:
        having = [item for item in group if key in item.averages]
        weight = sum(item.engaged_users for item in having)
        if weight:
            averages[key] = sum(item.averages[key] * item.engaged_users for item in having) / weight
        else:
            averages[key] = sum(item.averages[key] for item in having) / len(having)
    return PhaseItem(
        name, sum(item.engaged_users for item in group), sum(merged) if merged else None, averages
    )


def cut_pairs(users: Mapping[tuple[str, str], int], n: int) -> tuple[tuple[tuple[str, str], int], ...]:
    """Users per (IDE or plugin, version): the ``n`` names with the most users, and within each of them
    the ``n`` versions with the most, the rest counted under ``other`` (a version means something only
    with its name, so the names beyond the top N keep no version). A user counts once per pair."""
    names = top_names(((name, count) for (name, _), count in users.items()), n)
    versions = {
        name: top_names(((version, count) for (k, version), count in users.items() if k == name), n)
        for name in names
    }
    sums: Counter[tuple[str, str]] = Counter()
    for (name, version), count in users.items():
        if name not in names:
            sums[(OTHER, OTHER)] += count
        else:
            sums[(name, version if version in versions[name] else OTHER)] += count
    return tuple(sorted(sums.items()))
