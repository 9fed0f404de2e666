"""The exact-type shortcuts of the hot parsing and writing paths decide as the general checks do."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from exporter.errors import MalformedResponseError
from exporter.exposition import go_float, sample_value
from exporter.github.answers import json_boolean, json_count, json_integer, json_list, json_object
from exporter.github.text import clean_text
from exporter.sources.usage.fields import unknown_fields


@pytest.mark.parametrize(
    "value",
    [0, 1, -1, 999_999, -999_999, 1_000_000, -1_000_000, 10**7, 2**53, 0.5, 1e-5, 123456.7, 1234567.0,
     float("nan"), float("inf"), float("-inf"), True, False],
)  # fmt: skip
def test_sample_value_is_go_float(value: float) -> None:
    assert sample_value(value) == go_float(value)


class Count(int):
    """An int that is not exactly ``int``: the general path decides it."""


def test_counts_and_integers() -> None:
    assert json_count({"n": 7}, "n", "w") == 7
    assert json_count({"n": 7.6}, "n", "w") == 8
    assert json_count({"n": Count(3)}, "n", "w") == 3
    assert json_integer({"n": 2**53}, "n", "w") == 2**53
    for bad in (-1, 2**53 + 1, True, "1", 1.0):
        with pytest.raises(MalformedResponseError, match=r"^w\.n: "):
            json_integer({"n": bad}, "n", "w")
    for bad in (-1, 2**53 + 1, True, "1", float("nan")):
        with pytest.raises(MalformedResponseError, match=r"^w\.n: "):
            json_count({"n": bad}, "n", "w")


def test_objects_lists_and_booleans() -> None:
    ordered = OrderedDict(a=1)
    assert json_object(ordered, "w") is ordered
    assert json_list((1, 2), "w") == (1, 2)
    for bad in ("ab", b"ab", {"a": 1}):
        with pytest.raises(MalformedResponseError):
            json_list(bad, "w")
    with pytest.raises(MalformedResponseError):
        json_object([1], "w")
    assert json_boolean({"b": False}, "b", "w", default=True) is False
    assert json_boolean({}, "b", "w", default=True) is True
    with pytest.raises(MalformedResponseError, match="true or false"):
        json_boolean({"b": 0}, "b", "w", default=False)


def test_clean_text() -> None:
    assert clean_text("octocat") == "octocat"
    assert clean_text("x" * 300) == "x" * 256
    assert clean_text("\ud800é") == "\\ud800é"
    assert clean_text(5) == ""


@pytest.mark.parametrize(
    ("breakdown", "found"),
    [
        ([{"ide": "vscode"}], set()),
        ([{"ide": "vscode", "new_thing": 1}], {"totals_by_ide[].new_thing"}),
        (["ide", 5, None, {"ide": "x", "z": 1}], {"totals_by_ide[].z"}),
        ([5, {"ide": "x"}], set()),
        ("ide", set()),
    ],
)
def test_unknown_fields_in_lists(breakdown: Any, found: set[str]) -> None:
    assert unknown_fields("users", {"user_id": 1, "totals_by_ide": breakdown, "extra": 2}) == found | {
        "extra"
    }
