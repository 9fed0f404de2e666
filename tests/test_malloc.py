"""glibc allocator tuning: applied at start unless the operator chose the settings."""

from __future__ import annotations

import ctypes
import sys

import pytest

from exporter import malloc


def _glibc() -> bool:
    try:
        ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return sys.platform.startswith("linux")


@pytest.mark.parametrize("name", malloc.ENVIRONMENT)
def test_the_operators_environment_wins(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "4")
    assert malloc.tune() is False


def test_applied_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in malloc.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert malloc.tune() is _glibc()
