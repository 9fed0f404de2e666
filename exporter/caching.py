"""Caches keyed by the identity of immutable snapshots.

Snapshots are immutable and a poll publishes new objects for what changed, so "are these the objects
the cached value was derived from" is the whole question: ``is``, never ``==``, which would compare
100,000 seats field by field on every scrape.
"""

from __future__ import annotations


def same_objects(old: tuple[object, ...], new: tuple[object, ...]) -> bool:
    """Whether ``new`` holds exactly the objects of ``old``, in the same order."""
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))
