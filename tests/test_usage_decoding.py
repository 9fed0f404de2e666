"""The NDJSON lines of the usage reports decode with msgspec, and mean exactly what json.loads made of them.

The oracle is json.loads itself: for any line, well-formed or mangled, with NaN, giant numbers, lone
surrogates, duplicate keys or deep nesting, parse_line gives the same object (compared by repr, so
key order, int against float and NaN count) or the same error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.errors import MalformedResponseError
from exporter.github.answers import json_object
from exporter.sources.usage.model import parse_line


def _by_json_loads(line: bytes) -> str:
    if not line.strip():
        return "None"
    try:
        return repr(json_object(json.loads(line), "x"))
    except (ValueError, RecursionError):
        return "MalformedResponseError('x: not a JSON line')"
    except MalformedResponseError as exc:
        return repr(exc)


def _by_parse_line(line: bytes) -> str:
    try:
        return repr(parse_line(line, "x"))
    except MalformedResponseError as exc:
        return repr(exc)


numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, -(10**400), 2**64, 2**64 - 1, -(2**63) - 1, 2**53 + 1]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    value = draw(st.dictionaries(st.text(max_size=8), values, max_size=6))
    line = json.dumps(value, ensure_ascii=draw(st.booleans())).encode()
    for _ in range(draw(st.integers(0, 2))):  # mangled: a byte changed, dropped or added
        at = draw(st.integers(0, len(line)))
        byte = bytes([draw(st.integers(0, 255))])
        line = draw(st.sampled_from([line[:at] + byte + line[at + 1 :], line[:at] + line[at + 1 :],
                                     line[:at] + byte + line[at:]]))  # fmt: skip
    return line


@settings(max_examples=400, deadline=None)
@given(lines())
def test_any_line_means_what_json_loads_made_of_it(line: bytes) -> None:
    assert _by_parse_line(line) == _by_json_loads(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": ' + b"1" * 400 + b"}",
        b'{"a": ' + b"1" * 5000 + b"}", b'{"a": 18446744073709551616}', b'{"a": "\\ud800"}',
        b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b'{"a": 1, "a": 2}', b'{"a": "\xff"}',
        b"[" * 100_000 + b"]" * 100_000, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"[1]", b"  \r\n",
    ],
)  # fmt: skip
def test_hostile_lines_mean_what_json_loads_made_of_them(line: bytes) -> None:
    assert _by_parse_line(line) == _by_json_loads(line)


def test_a_giant_number_still_reaches_the_field_check() -> None:
    value: Any = parse_line(b'{"user_initiated_interaction_count": ' + b"9" * 400 + b"}", "x")
    assert value["user_initiated_interaction_count"] == int("9" * 400)
