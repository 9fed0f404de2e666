"""The field readers every usage record parser shares: counts, numbers and label values."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from exporter.github.answers import json_count, json_number, json_string


def dimension(raw: Mapping[str, Any], key: str, where: str) -> str:
    """A breakdown key (IDE, feature, language, model, team slug, agent, version), "unknown" when
    absent or empty.

    The values repeat on every line of a report, so they are interned: one copy serves them all. The
    model breakdowns' item layout is undocumented, hence the lenient default for a missing key.
    """
    return sys.intern(json_string(raw, key, where, default="unknown") or "unknown")


def number(value: Any, where: str, key: str) -> float:
    return float(json_number(value, where, key))


#: A count that is 0 when absent or null.
count = json_count


def optional_count(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    """A nullable count: None when absent or null (an absent series, not a zero)."""
    return None if raw.get(key) is None else count(raw, key, where)
