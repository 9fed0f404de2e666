"""The garbage collector's tuning: start-up frozen, young collections less frequent."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from exporter import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_freezes_start_up_and_raises_the_young_threshold(restored_gc: None) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    gc_tuning.tune()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, 10, 10)
