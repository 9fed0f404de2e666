"""The per-seat series of one set of snapshots, laid out once and reused by every scrape until they change.

prometheus_client's encoders format every sample afresh on every scrape: about three microseconds per
sample, seconds for the half a million per-seat samples of a large enterprise, and as long again to
gzip them. Yet only one per-seat metric (``github_copilot_seat_idle_seconds``) changes between polls.

So the sample lines of every per-seat family but the idle one are kept as ready bytes, and their gzip
stream up to a flush point; a scrape only fills the idle seconds (whole seconds, one integer per seat)
into a prepared template. :class:`SeatTable` is the :class:`~exporter.exposition.Layout` that
:func:`exporter.exposition.render` knows how to use.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.samples import Sample

from exporter.exposition import GzipPrefix, escape_label_value, format_value
from exporter.sources.seats.model import Seat

# The per-seat families, by what they show of a seat.
IDLE = "idle"
LAST_ACTIVITY = "last_activity"
LAST_AUTHENTICATED = "last_authenticated"
CREATED = "created"
PENDING_CANCELLATION = "pending_cancellation"
INFO = "info"
STATIC_KINDS = (LAST_ACTIVITY, LAST_AUTHENTICATED, CREATED, PENDING_CANCELLATION, INFO)

#: Seats laid out per step: bounds the short-lived strings, which would otherwise fragment the heap.
_CHUNK = 2048
#: One seat with per-seat series: its target's enterprise label, the seat, and its ``user`` label.
SeatRow = tuple[str, Seat, str]


def idle_reference(seat: Seat) -> int:
    """The whole second idle time counts from: the last activity, or the assignment without one."""
    return math.floor(seat.last_activity_at if seat.last_activity_at is not None else seat.created_at)


def idle_seconds(seat: Seat, now: float) -> float:
    """Whole seconds: GitHub's timestamps have no finer resolution, and integers format fastest."""
    return float(max(0, math.floor(now) - idle_reference(seat)))


def format_timestamp(value: float) -> str:
    """A Unix time: whole seconds (as GitHub gives them) as an integer, which reads back as the same float."""
    whole = int(value)
    return str(whole) if whole == value else format_value(value)


def _static_value(kind: str, seat: Seat) -> float | None:
    if kind == LAST_ACTIVITY:
        return seat.last_activity_at
    if kind == LAST_AUTHENTICATED:
        return seat.last_authenticated_at
    if kind == CREATED:
        return seat.created_at
    if kind == PENDING_CANCELLATION:
        return seat.pending_cancellation_date
    return 1.0  # INFO


def _info_labels(row: SeatRow) -> dict[str, str]:
    enterprise, seat, user = row
    return {
        "enterprise": enterprise,
        "org": seat.org,
        "user": user,
        "team": seat.team,
        "plan_type": seat.plan_type,
        "editor": seat.editor,
        "pending_cancellation": "true" if seat.pending_cancellation_date is not None else "false",
    }


class SeatTable:
    """The per-seat series of one set of snapshots, laid out once for every scrape until the next change.

    ``key`` holds the seat tuples it was built from; the collector compares them by identity. The
    rows (which seat gets which labels) come from ``rows``, called once here and again only if some
    consumer reads the families' samples: holding 100,000 row tuples would cost memory for nothing.
    Lines are built a chunk of seats at a time, so the transient strings stay few.
    """

    def __init__(
        self, key: tuple[object, ...], names: dict[str, str], rows: Callable[[], tuple[list[SeatRow], int]]
    ) -> None:
        self.key = key
        self.names = names
        self._rows = rows
        seats, self.dropped = rows()
        static: dict[str, list[bytes]] = {kind: [] for kind in STATIC_KINDS}
        info_prefixes: dict[tuple[str, str, str, str, str, str], str] = {}
        idle_template: list[str] = []
        self._idle_references = array("q")
        for start in range(0, len(seats), _CHUNK):
            chunk = seats[start : start + _CHUNK]
            labels = [
                f'enterprise="{escape_label_value(enterprise)}",org="{escape_label_value(seat.org)}",'
                f'user="{escape_label_value(user)}"'
                for enterprise, seat, user in chunk
            ]
            for kind in STATIC_KINDS:
                if kind == INFO:
                    static[kind].append(self._info_lines(chunk, info_prefixes))
                else:
                    static[kind].append(self._timestamp_lines(kind, chunk, labels))
            # One %-template for all idle lines: a scrape fills in the numbers in a single C call.
            idle = names[IDLE]
            idle_template += [f"{idle}{{{label.replace('%', '%%')}}} %d\n" for label in labels]
            self._idle_references.extend(idle_reference(seat) for _, seat, _ in chunk)
        # Kept as the chunks they were built in: joining them would hold every line twice for a moment,
        # some 50 MB at 100,000 seats, and the server sends pieces anyway.
        self.static = {kind: tuple(parts) for kind, parts in static.items()}
        self._idle_template = "".join(idle_template)
        self._gzip: dict[tuple[bytes, ...], GzipPrefix] = {}
        self._lock = threading.Lock()

    def _timestamp_lines(self, kind: str, chunk: Sequence[SeatRow], labels: list[str]) -> bytes:
        name = self.names[kind]
        values = [_static_value(kind, seat) for _, seat, _ in chunk]
        return "".join(
            [
                f"{name}{{{label}}} {format_timestamp(value)}\n"
                for label, value in zip(labels, values, strict=True)
                if value is not None
            ]
        ).encode()

    def _info_lines(
        self, chunk: Sequence[SeatRow], prefixes: dict[tuple[str, str, str, str, str, str], str]
    ) -> bytes:
        # Seats share a few hundred combinations of every label but the user: each is written once.
        name = self.names[INFO]
        out = []
        for enterprise, seat, user in chunk:
            pending = "true" if seat.pending_cancellation_date is not None else "false"
            key = (seat.editor, enterprise, seat.org, pending, seat.plan_type, seat.team)
            prefix = prefixes.get(key)
            if prefix is None:
                # Labels in sorted order, as prometheus_client writes them.
                editor, enterprise_, org, _, plan, team = (escape_label_value(v) for v in key)
                prefix = (
                    f'{name}{{editor="{editor}",enterprise="{enterprise_}",org="{org}",'
                    f'pending_cancellation="{pending}",plan_type="{plan}",team="{team}",user="'
                )
                prefixes[key] = prefix
            out.append(f'{prefix}{escape_label_value(user)}"}} 1.0\n')
        return "".join(out).encode()

    static_kinds = STATIC_KINDS
    dynamic_kind = IDLE

    def dynamic_lines(self, now: float) -> bytes:
        whole = math.floor(now)
        values = tuple([whole - reference if reference < whole else 0 for reference in self._idle_references])
        return (self._idle_template % values).encode()

    def gzip_prefix(self, headers: tuple[bytes, ...]) -> GzipPrefix:
        """The static families compressed under ``headers`` (one per static kind, in STATIC_KINDS order).

        Keyed by the header bytes, not the negotiated content type, so that the variants of an Accept
        header that render the same text share one entry and the cache stays bounded.
        """
        with self._lock:
            cached = self._gzip.get(headers)
            if cached is None:
                cached = GzipPrefix(self.static_pieces(headers))
                self._gzip[headers] = cached
            return cached

    def static_pieces(self, headers: tuple[bytes, ...]) -> Iterator[bytes]:
        for header, kind in zip(headers, STATIC_KINDS, strict=True):
            yield header
            yield from self.static[kind]

    def samples(self, kind: str, now: float) -> list[Sample]:
        """The samples of one family, for consumers of the generic metric-family interface."""
        name = self.names[kind]
        out = []
        for row in self._rows()[0]:
            enterprise, seat, user = row
            if kind == INFO:
                out.append(Sample(name, _info_labels(row), 1.0, None, None))
                continue
            labels = {"enterprise": enterprise, "org": seat.org, "user": user}
            if kind == IDLE:
                out.append(Sample(name, labels, idle_seconds(seat, now), None, None))
                continue
            value = _static_value(kind, seat)
            if value is not None:
                out.append(Sample(name, labels, value, None, None))
        return out
