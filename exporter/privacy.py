"""How per-user series name a user: by login, by a keyed hash of it, or not at all (``seat_metrics``)."""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence

from exporter.config import Config, SeatMetricsMode


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
        return self.mode is not SeatMetricsMode.OFF

    def shown(self, login: str) -> str | None:
        """``login`` as a log line or error may name it: as the mode labels it, or not at all (``off``)."""
        return self(login) if self.enabled else None

    def __call__(self, login: str) -> str:
        if self.mode is not SeatMetricsMode.HASHED:
            return login
        digest = hmac.new(self._key, login.lower().encode(), hashlib.sha256).hexdigest()
        return f"u{digest[:16]}"


def unique_labels(
    entries: Sequence[tuple[Hashable, str, object]], label: Callable[[str], str] = str
) -> list[str]:
    """The label of each ``(scope, name, id)`` entry, never the same for two ids of one scope.

    A label that entries of different ids would share (a renamed account and its successor, two
    logins cut to the same 256 characters, logins equal but for case under hashing, team slugs of two
    organizations) goes to none of them: each gets the label of ``name#id`` instead, the same whichever
    order the entries come in, so that a user's seat and usage series still join. Should even that
    label be taken (GitHub's names have no ``#``, hostile data may), ``#2``, ``#3``… follow.
    """
    labels = [label(name) for _, name, _ in entries]
    ids: defaultdict[tuple[Hashable, str], set[object]] = defaultdict(set)
    for (scope, _, ident), text in zip(entries, labels, strict=True):
        ids[(scope, text)].add(ident)
    shared = {key for key, found in ids.items() if len(found) > 1}
    if not shared:
        return labels
    taken = {key for key in ids if key not in shared}
    out = []
    for (scope, name, ident), text in zip(entries, labels, strict=True):
        if (scope, text) in shared:
            text, suffix = label(f"{name}#{ident}"), 2
            while (scope, text) in taken:
                text, suffix = label(f"{name}#{ident}#{suffix}"), suffix + 1
            taken.add((scope, text))
        out.append(text)
    return out
