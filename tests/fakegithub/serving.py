"""Serving the fake GitHub and starting the exporter on loopback: shared by the tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at the moment (any 127.x.y.z is loopback)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    check: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> None:
    """Poll ``check`` until it holds; a bounded wait for a process to reach a state, not a timing test.

    Exceptions from ``check`` count as "not yet" (a server still starting refuses connections).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what or check}")


def exporter_command() -> list[str]:
    """The installed console script beside the running interpreter, as users run it."""
    script = Path(sys.executable).with_name("github-copilot-exporter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "exporter"]
