"""What the client learned from GitHub: requests by endpoint and status, rate-limit readings."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    remaining: int
    used: int
    reset: float


class ClientStats:
    """Request counts and rate-limit readings, read by the collector from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._rate_limits: dict[str, RateLimit] = {}

    def count(self, endpoint: str, code: str) -> None:
        with self._lock:
            self._requests[(endpoint, code)] += 1

    def set_rate_limit(self, resource: str, value: RateLimit) -> None:
        with self._lock:
            self._rate_limits[resource] = value

    def requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._requests)

    def rate_limits(self) -> dict[str, RateLimit]:
        with self._lock:
            return dict(self._rate_limits)
