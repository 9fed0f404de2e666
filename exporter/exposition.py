"""Rendering ``/metrics``: prometheus_client's encoders, with a fast path for laid-out families.

A source whose families are too many samples to format on every scrape (the per-seat series of a large
enterprise) yields them as :class:`LaidOutFamily` objects sharing one :class:`Layout`: the lines of its
static families as ready bytes (and their gzip stream up to a flush point), and a template for the one
family that changes with the time of the scrape. Those families are ordinary metric families to
anything that reads ``samples`` (built on demand), and a recognisable shortcut to :func:`render`,
which completes the cached text with the few thousand other samples and the cached deflate stream
with a fast compressor. The body is one ordinary gzip member, which every client decodes.

Family headers are produced by prometheus_client's own encoder, so the output is the generic output
with the families in another order, for the text format 0.0.4 and OpenMetrics alike. The fast path
reads the public fields of prometheus_client's ``Metric`` and ``Sample`` (``name``, ``labels``,
``value``, ``timestamp``, ``exemplar``, ``native_histogram``); tests/test_exposition.py pins them.
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, cast

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0"

GZIP_LEVEL = 6
#: The part compressed on every scrape trades some size for time; the cached part is compressed once.
GZIP_TAIL_LEVEL = 1
# A gzip member header: no name, no mtime (a cached body must not claim a time), unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_OPENMETRICS_EOF = b"# EOF\n"

#: prometheus_client's formatting of any sample value (``+Inf``, ``NaN``, Go-style exponents).
go_float = cast(Callable[[float], str], floatToGoString)
#: Integers below this are written ``N.0`` by :data:`go_float` (Go switches to exponents from 10**6).
_PLAIN_INTEGERS = 1_000_000


def sample_value(value: float) -> str:
    """:data:`go_float` of ``value``, with the counts most samples hold formatted without a float."""
    if type(value) is int and -_PLAIN_INTEGERS < value < _PLAIN_INTEGERS:
        return f"{value}.0"
    return go_float(value)


class Layout(Protocol):
    """Families laid out ahead of scrapes: static ones as cached bytes, one rendered per scrape."""

    @property
    def static_kinds(self) -> tuple[str, ...]: ...

    @property
    def dynamic_kind(self) -> str: ...

    def static_pieces(self, headers: tuple[bytes, ...]) -> Iterator[bytes]: ...

    def gzip_prefix(self, headers: tuple[bytes, ...]) -> GzipPrefix: ...

    def dynamic_lines(self, now: float) -> bytes: ...

    def samples(self, kind: str, now: float) -> list[Sample]: ...


class LaidOutFamily(Metric):
    """A gauge family whose samples come from a :class:`Layout`, built only if something reads them."""

    def __init__(self, name: str, documentation: str, layout: Layout, kind: str, now: float) -> None:
        self._materialized: list[Sample] | None = None
        super().__init__(name, documentation, "gauge")
        self.layout = layout
        self.kind = kind
        self.now = now

    @property
    def samples(self) -> list[Sample]:
        if self._materialized is None:
            self._materialized = self.layout.samples(self.kind, self.now)
        return self._materialized

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        # Metric.__init__ assigns an empty list; an empty assignment leaves the layout as the source.
        self._materialized = value or None


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


class GzipPrefix:
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


class FamilyList:
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
    text: bytes = encoder(FamilyList([empty])).removesuffix(_OPENMETRICS_EOF)
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


def _render_tail(encoder: Any, families: Sequence[Metric], layout: Layout) -> bytes | None:
    """Every family but the cached ones, then the encoder's end marker (OpenMetrics' ``# EOF``)."""
    out: list[bytes] = []
    for family in families:
        if isinstance(family, LaidOutFamily) and family.layout is layout:
            if family.kind in layout.static_kinds:
                continue
            header = _header(encoder, family)
            if header is None:
                return None
            out += (header, layout.dynamic_lines(family.now))
            continue
        header = _header(encoder, family)
        if header is None:
            return None
        lines = _simple_lines(family)
        if lines is None:
            out.append(encoder(FamilyList([family])).removesuffix(_OPENMETRICS_EOF))
        else:
            out += (header, lines.encode())
    out.append(encoder(FamilyList([])))
    return b"".join(out)


def lay_out(families: Sequence[Metric]) -> None:
    """Build, for each exposition format Prometheus and people negotiate, the cached text of the
    laid-out families in ``families``: what the first scrape of them would otherwise wait for."""
    laid_out = {f.kind: f for f in families if isinstance(f, LaidOutFamily)}
    if not laid_out:
        return
    layout = next(iter(laid_out.values())).layout
    if set(laid_out) != {layout.dynamic_kind, *layout.static_kinds}:
        return
    for accept in ("", OPENMETRICS_ACCEPT):
        encoder, _ = choose_encoder(accept)
        headers = tuple(_header(encoder, laid_out[kind]) for kind in layout.static_kinds)
        if all(header is not None for header in headers):
            layout.gzip_prefix(tuple(header or b"" for header in headers))


def render(registry: Any, accept: str, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a ``/metrics`` answer negotiated from ``Accept`` and ``Accept-Encoding``.

    The same samples as prometheus_client's encoders write, with the cached laid-out families first.
    """
    pieces, headers = render_pieces(registry, accept, accept_encoding)
    return b"".join(pieces), headers


def render_pieces(registry: Any, accept: str, accept_encoding: str) -> tuple[list[bytes], dict[str, str]]:
    """As :func:`render`, with the body as pieces that, joined, make it.

    The cached text of a large enterprise is handed out as it is, so that a server sending the pieces
    one after another never holds a second copy of tens of megabytes per scrape.
    """
    encoder, content_type = choose_encoder(accept)
    headers = {"content-type": content_type}
    want_gzip = "gzip" in accept_encoding
    if want_gzip:
        headers["content-encoding"] = "gzip"
    families: list[Metric] = list(registry.collect())
    laid_out = {f.kind: f for f in families if isinstance(f, LaidOutFamily)}
    layouts = {id(f.layout) for f in laid_out.values()}
    layout = next(iter(laid_out.values())).layout if laid_out else None
    static_headers: tuple[bytes | None, ...] = ()
    tail: bytes | None = None
    if (
        layout is not None
        and len(layouts) == 1
        and set(laid_out) == {layout.dynamic_kind, *layout.static_kinds}
    ):
        static_headers = tuple(_header(encoder, laid_out[kind]) for kind in layout.static_kinds)
        tail = _render_tail(encoder, families, layout)
    if layout is None or tail is None or any(h is None for h in static_headers):
        # An unusual negotiation or collection: prometheus_client's encoder, unabridged.
        body: bytes = encoder(FamilyList(families))
        return [gzip.compress(body, compresslevel=GZIP_LEVEL) if want_gzip else body], headers
    known = tuple(h or b"" for h in static_headers)
    if want_gzip:
        return layout.gzip_prefix(known).finish(tail), headers
    return [*layout.static_pieces(known), tail], headers
