"""Prometheus-style durations (``90s``, ``10m``, ``1h30m``, ``7d``): parsed from config, shown as labels."""

from __future__ import annotations

import math
import re

from exporter.config.quoting import shown
from exporter.errors import ConfigError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
#: No setting means more than this; far larger values overflow timers (``1000000000y``).
MAX_DURATION = 10 * _UNITS["y"]
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
#: The shortest poll interval of any source.
MIN_POLL_INTERVAL = 60.0


def parse_duration(text: str, key: str) -> float:
    """Parse a Prometheus-style duration such as ``90s``, ``10m``, ``1h30m`` or ``7d`` into seconds."""
    value = str(text).strip()
    if not value:
        raise ConfigError(key, "empty duration; use e.g. 30s, 10m, 1h or 7d")
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value):
        raise ConfigError(key, f"invalid duration {shown(value)}; use e.g. 30s, 10m, 1h or 7d")
    if total > MAX_DURATION:
        raise ConfigError(key, f"{shown(value)} is longer than the 10y any setting allows")
    return total


def parse_poll_interval(text: str, key: str, *, quote: bool = False) -> float:
    """A source's ``poll_interval``: a duration of at least a minute (``quote`` shows the text quoted)."""
    seconds = parse_duration(text, key)
    if seconds < MIN_POLL_INTERVAL:
        raise ConfigError(key, f"{shown(text) if quote else text} is too short; the minimum is 1m")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact rendering of a duration, used as a label value (``7d``, ``36h``, ``90s``)."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and math.isclose(seconds % size, 0.0, abs_tol=1e-9):
            if unit == "w":  # "7d" reads better than "1w" next to 1d/14d/30d.
                return f"{round(seconds / _UNITS['d'])}d"
            return f"{round(seconds / size)}{unit}"
    return f"{seconds:g}s"
