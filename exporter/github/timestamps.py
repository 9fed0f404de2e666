"""GitHub's time stamps (ISO 8601 date-times or dates) as Unix seconds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

#: ``2024-01-01T00:00:00.000000+00:00`` has 32 characters; anything much longer is not a time stamp.
MAX_TIMESTAMP_CHARS = 64


def parse_timestamp(value: Any) -> float | None:
    """An ISO 8601 date-time (or date) as Unix seconds; None for null or anything unparseable."""
    if not isinstance(value, str) or not value or len(value) > MAX_TIMESTAMP_CHARS:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed_date = date.fromisoformat(text[:10])
        except ValueError:
            return None
        parsed = datetime(parsed_date.year, parsed_date.month, parsed_date.day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
