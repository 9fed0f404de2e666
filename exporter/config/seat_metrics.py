"""``seat_metrics`` and ``--seat-metrics``: how per-user series name a user, and how many there may be.

Shared rather than the seat source's own: the usage source's per-user series, the seat and reclaim
reports and the ``backfill``, ``report`` and ``reclaim`` commands name users the same way
(:class:`~exporter.privacy.UserLabels`), so that their series join.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exporter.config import values
from exporter.config.model import DEFAULT_MAX_SEAT_SERIES, SeatMetricsMode
from exporter.config.quoting import shown, shown_path
from exporter.config.sections import Given
from exporter.errors import ConfigError
from exporter.secrets import Secret

KEYS = ("mode", "hash_key_file", "max_series")
HASH_KEY_ENV = "GITHUB_COPILOT_EXPORTER_HASH_KEY"
#: The shortest hash key accepted: a key is a secret, and a short one can be guessed.
MIN_HASH_KEY = 16


def parse_seat_metrics(data: Mapping[str, Any], src: Given) -> dict[str, Any]:
    """The ``seat_metrics`` mapping of the file (or its short form ``seat_metrics: hashed``) and the flag,
    as the settings :class:`~exporter.config.Config` keeps."""
    section_data = dict(data)
    if isinstance(section_data.get("seat_metrics"), str):  # the short form `seat_metrics: hashed`
        section_data["seat_metrics"] = {"mode": section_data["seat_metrics"]}
    section = values.section(section_data, "seat_metrics", KEYS)
    given = src.value("seat_metrics", section.get("mode"), SeatMetricsMode.LOGIN.value)
    mode = SeatMetricsMode(values.choice(given, "seat_metrics.mode", tuple(SeatMetricsMode)))
    max_series = section.get("max_series", DEFAULT_MAX_SEAT_SERIES)
    if isinstance(max_series, bool) or not isinstance(max_series, int) or max_series < 0:
        raise ConfigError("seat_metrics.max_series", f"must be a whole number >= 0, got {shown(max_series)}")
    hash_key: Secret | None = None
    if mode is SeatMetricsMode.HASHED:
        hash_key = _hash_key(src, section.get("hash_key_file"))
    return {"seat_metrics": mode, "seat_metrics_hash_key": hash_key, "max_seat_series": max_series}


def _hash_key(src: Given, key_file: Any) -> Secret:
    if key_file is not None:
        key_path = Path(values.string(key_file, "seat_metrics.hash_key_file"))
        try:
            key_text = key_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                "seat_metrics.hash_key_file", f"cannot read {shown_path(key_path)}: {exc.strerror}"
            ) from None
    else:
        key_text = src.env.get(HASH_KEY_ENV, "").strip()
    if len(key_text) < MIN_HASH_KEY:
        raise ConfigError(
            "seat_metrics.hash_key_file",
            f"hashed seat metrics need a secret key of at least {MIN_HASH_KEY} characters, from "
            f"seat_metrics.hash_key_file or {HASH_KEY_ENV}",
        )
    return Secret(key_text)
