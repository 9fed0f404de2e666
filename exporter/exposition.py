"""Rendering ``/metrics`` fast enough for 100,000 seats with per-seat series.

prometheus_client's encoders format every sample afresh on every scrape: about three microseconds per
sample, seconds for the half a million per-seat samples of a large enterprise, and as long again to
gzip them. Yet only one per-seat metric (``github_copilot_seat_idle_seconds``) changes between polls.

So the per-seat series of one set of snapshots are laid out once, in a :class:`SeatTable`: the sample
lines of every per-seat family but the idle one as ready bytes, and their gzip stream up to a flush
point. A scrape then only fills the idle seconds (whole seconds, one integer per seat) into a prepared
template, formats the few thousand other samples, appends them to the cached text and completes the
cached deflate stream with a fast compressor. The body is one ordinary gzip member, which every client
decodes (several concatenated members would be valid gzip, but some HTTP clients read only the first).

The collector yields the per-seat families as :class:`SeatFamily` objects: ordinary metric families to
anything that reads ``samples`` (which they build on demand), and a recognisable shortcut to
:func:`render`. Family headers are produced by prometheus_client's own encoder, so the output is the
generic output with the families in another order, for the text format 0.0.4 and OpenMetrics alike.
"""

from __future__ import annotations

import gzip
import math
import re
import struct
import threading
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from exporter.seats import Seat

# The per-seat families, by what they show of a seat.
IDLE = "idle"
LAST_ACTIVITY = "last_activity"
LAST_AUTHENTICATED = "last_authenticated"
CREATED = "created"
PENDING_CANCELLATION = "pending_cancellation"
INFO = "info"
STATIC_KINDS = (LAST_ACTIVITY, LAST_AUTHENTICATED, CREATED, PENDING_CANCELLATION, INFO)

GZIP_LEVEL = 6
#: Seats laid out per step: bounds the short-lived strings, which would otherwise fragment the heap.
_CHUNK = 2048
#: The part compressed on every scrape trades some size for time; the cached part is compressed once.
GZIP_TAIL_LEVEL = 1
# A gzip member header: no name, no mtime (a cached body must not claim a time), unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_OPENMETRICS_EOF = b"# EOF\n"

#: prometheus_client's formatting of any sample value (``+Inf``, ``NaN``, Go-style exponents).
go_float = cast(Callable[[float], str], floatToGoString)

#: One seat with per-seat series: its target's enterprise label, the seat, and its ``user`` label.
SeatRow = tuple[str, Seat, str]


def escape_label_value(value: str) -> str:
    """As both exposition formats require (and prometheus_client does): backslash, newline, quote."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def format_value(value: float) -> str:
    """prometheus_client's ``floatToGoString`` for the finite values of per-seat series, inlined for speed."""
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


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


class _GzipPrefix:
    """A gzip member of the static text, open after a sync flush so that any tail can complete it.

    After ``Z_SYNC_FLUSH`` the deflate stream ends on a byte boundary between blocks, so the blocks of
    a new compressor may follow (as pigz joins the pieces it compresses in parallel); the CRC-32 is
    continued over the tail and the trailer covers both parts.
    """

    def __init__(self, pieces: Iterable[bytes]) -> None:
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        out = [_GZIP_HEADER]
        crc, size = 0, 0
        for piece in pieces:
            out.append(compressor.compress(piece))
            crc = zlib.crc32(piece, crc)
            size += len(piece)
        out.append(compressor.flush(zlib.Z_SYNC_FLUSH))
        self.prefix = b"".join(out)
        self._crc = crc
        self._size = size

    def finish(self, tail: bytes) -> list[bytes]:
        """The whole member as pieces: the cached prefix (not copied), the compressed tail, the trailer."""
        compressor = zlib.compressobj(GZIP_TAIL_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        trailer = struct.pack("<II", zlib.crc32(tail, self._crc), (self._size + len(tail)) & 0xFFFFFFFF)
        return [self.prefix, compressor.compress(tail) + compressor.flush(), trailer]


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
        self._gzip: dict[tuple[bytes, ...], _GzipPrefix] = {}
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

    def idle_lines(self, now: float) -> bytes:
        whole = math.floor(now)
        values = tuple([whole - reference if reference < whole else 0 for reference in self._idle_references])
        return (self._idle_template % values).encode()

    def gzip_prefix(self, headers: tuple[bytes, ...]) -> _GzipPrefix:
        """The static families compressed under ``headers`` (one per static kind, in STATIC_KINDS order).

        Keyed by the header bytes, not the negotiated content type, so that the variants of an Accept
        header that render the same text share one entry and the cache stays bounded.
        """
        with self._lock:
            cached = self._gzip.get(headers)
            if cached is None:
                cached = _GzipPrefix(self.static_pieces(headers))
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


class SeatFamily(Metric):
    """A per-seat gauge family whose samples come from a :class:`SeatTable`, built only if read."""

    def __init__(self, name: str, documentation: str, table: SeatTable, kind: str, now: float) -> None:
        self._materialized: list[Sample] | None = None
        super().__init__(name, documentation, "gauge")
        self.table = table
        self.kind = kind
        self.now = now

    @property
    def samples(self) -> list[Sample]:
        if self._materialized is None:
            self._materialized = self.table.samples(self.kind, self.now)
        return self._materialized

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        # Metric.__init__ assigns an empty list; an empty assignment leaves the table as the source.
        self._materialized = value or None


class _Families:
    """The ``collect()`` interface prometheus_client's encoders expect, over families already collected."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _header(encoder: Any, family: Metric) -> bytes | None:
    """The HELP, TYPE (and UNIT) lines of ``family`` exactly as the negotiated encoder writes them.

    None when the encoder would rename the metric (a name-escaping scheme such as ``dots``): lines
    formatted here would then be wrong and the generic path has to run.
    """
    empty = Metric(family.name, family.documentation, family.type, family.unit)
    text: bytes = encoder(_Families([empty])).removesuffix(_OPENMETRICS_EOF)
    return text if f"# TYPE {family.name}".encode() in text else None


def _simple_lines(family: Metric) -> str | None:
    """The sample lines of a plain gauge or counter as both encoders write them; None for anything else.

    prometheus_client validates and escapes every label name of every sample, which makes its encoder
    slow for the thousands of aggregate series of a large enterprise; names are checked here once.
    """
    if family.type == "gauge":
        name = family.name
    elif family.type == "counter":
        name = family.name + "_total"
    else:
        return None
    if not _METRIC_NAME.fullmatch(name):
        return None
    checked: set[str] = set()
    out = []
    for sample in family.samples:
        if (
            sample.name != name
            or sample.timestamp is not None
            or sample.exemplar is not None
            or sample.native_histogram is not None
        ):
            return None
        if not sample.labels:
            out.append(f"{name} {go_float(sample.value)}\n")
            continue
        items = sorted(sample.labels.items())
        for key, _ in items:
            if key not in checked:
                if not _LABEL_NAME.fullmatch(key):
                    return None
                checked.add(key)
        labels = ",".join([f'{key}="{escape_label_value(value)}"' for key, value in items])
        out.append(f"{name}{{{labels}}} {go_float(sample.value)}\n")
    return "".join(out)


def _render_tail(encoder: Any, families: Sequence[Metric], table: SeatTable | None) -> bytes | None:
    """Every family but the cached ones, then the encoder's end marker (OpenMetrics' ``# EOF``)."""
    out: list[bytes] = []
    for family in families:
        if isinstance(family, SeatFamily) and family.kind in STATIC_KINDS:
            continue
        header = _header(encoder, family)
        if header is None:
            return None
        if isinstance(family, SeatFamily) and table is not None:
            out += (header, table.idle_lines(family.now))
            continue
        lines = _simple_lines(family)
        if lines is None:
            out.append(encoder(_Families([family])).removesuffix(_OPENMETRICS_EOF))
        else:
            out += (header, lines.encode())
    out.append(encoder(_Families([])))
    return b"".join(out)


def render(registry: Any, accept: str, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a ``/metrics`` answer negotiated from ``Accept`` and ``Accept-Encoding``.

    The same samples as prometheus_client's encoders write, with the cached per-seat families first.
    """
    pieces, headers = render_pieces(registry, accept, accept_encoding)
    return b"".join(pieces), headers


def render_pieces(registry: Any, accept: str, accept_encoding: str) -> tuple[list[bytes], dict[str, str]]:
    """As :func:`render`, with the body as pieces that, joined, make it.

    The cached per-seat text of a large enterprise is handed out as it is, so that a server sending
    the pieces one after another never holds a second copy of tens of megabytes per scrape.
    """
    encoder, content_type = choose_encoder(accept)
    headers = {"content-type": content_type}
    want_gzip = "gzip" in accept_encoding
    if want_gzip:
        headers["content-encoding"] = "gzip"
    families: list[Metric] = list(registry.collect())
    seat_families = {f.kind: f for f in families if isinstance(f, SeatFamily)}
    tables = {id(f.table) for f in seat_families.values()}
    table = next(iter(seat_families.values())).table if seat_families else None
    static_headers: tuple[bytes | None, ...] = ()
    tail: bytes | None = None
    if table is not None and len(tables) == 1 and set(seat_families) == {IDLE, *STATIC_KINDS}:
        static_headers = tuple(_header(encoder, seat_families[kind]) for kind in STATIC_KINDS)
        tail = _render_tail(encoder, families, table)
    if tail is None or any(h is None for h in static_headers):
        # An unusual negotiation or collection: prometheus_client's encoder, unabridged.
        body: bytes = encoder(_Families(families))
        return [gzip.compress(body, compresslevel=GZIP_LEVEL) if want_gzip else body], headers
    assert table is not None
    known = tuple(h or b"" for h in static_headers)
    if want_gzip:
        return table.gzip_prefix(known).finish(tail), headers
    return [*table.static_pieces(known), tail], headers
