"""Caches keyed by the identity of immutable snapshots.

Snapshots are immutable and a poll publishes new objects for what changed, so "are these the objects
the cached value was derived from" is the whole question: ``is``, never ``==``, which would compare
100,000 seats field by field on every scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

KeyT = TypeVar("KeyT")
ValueT = TypeVar("ValueT")


def same_objects(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    """Whether ``new`` holds exactly the objects of ``old``, in the same order."""
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


class BuiltOnce(Generic[KeyT, ValueT]):
    """``build(snapshots)``, built once per published set of snapshots and shared by the scrapes after it.

    The lock keeps the poller's ``prepare`` and a scrape from both building the same value.
    """

    def __init__(self, build: Callable[[tuple[KeyT, ...]], ValueT]) -> None:
        self._build = build
        self._cached: tuple[tuple[KeyT, ...], ValueT] | None = None
        self._lock = threading.Lock()

    def __call__(self, snapshots: Sequence[KeyT]) -> ValueT:
        key = tuple(snapshots)
        with self._lock:
            cached = self._cached
            if cached is not None and same_objects(cached[0], key):
                return cached[1]
            value = self._build(key)
            self._cached = (key, value)
            return value
