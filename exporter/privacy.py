"""How per-user series name a user: by login, by a keyed hash of it, or not at all (``seat_metrics``)."""

from __future__ import annotations

import hashlib
import hmac

from exporter.config import Config


class UserLabels:
    """The ``user`` label of every per-user series, the same for seats and usage so that they join.

    HMAC with a secret key is stable across restarts but, unlike a plain hash, cannot be reversed by
    hashing a list of known logins.
    """

    def __init__(self, config: Config) -> None:
        self.mode = config.seat_metrics
        key = config.seat_metrics_hash_key
        self._key = key.reveal().encode() if key is not None else b""

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def __call__(self, login: str) -> str:
        if self.mode != "hashed":
            return login
        digest = hmac.new(self._key, login.lower().encode(), hashlib.sha256).hexdigest()
        return f"u{digest[:16]}"
