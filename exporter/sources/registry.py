"""The data sources of the exporter, in the order their families are exposed.

Configuration sections and flags, the sources built, readiness, HTTP routes and the landing page
all come from this table (see :class:`~exporter.sources.spec.SourceSpec`). A new source is a
subpackage with a ``SPEC`` and one more entry here.
"""

from __future__ import annotations

from exporter.sources.billing.spec import SPEC as BILLING
from exporter.sources.repositories.spec import SPEC as REPOSITORIES
from exporter.sources.seats.spec import SPEC as SEATS
from exporter.sources.spec import SourceSpec
from exporter.sources.usage.spec import SPEC as USAGE

SOURCES: tuple[SourceSpec, ...] = (SEATS, BILLING, USAGE, REPOSITORIES)


def specs() -> tuple[SourceSpec, ...]:
    """The registered sources; read at call time, so that a test may extend :data:`SOURCES`."""
    return SOURCES


def spec(name: str) -> SourceSpec:
    return next(s for s in SOURCES if s.name == name)
