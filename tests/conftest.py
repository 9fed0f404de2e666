from __future__ import annotations

import inspect
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.clock import MOMENTS, today
from tests.support import (
    TOKEN,
    Dataset,
    RunningExporter,
    ServedFake,
    serve_fake,
    standard_dataset,
    start_exporter,
)


@pytest.fixture
def dataset() -> Dataset:
    return standard_dataset()


@pytest.fixture
def fake(dataset: Dataset) -> Iterator[ServedFake]:
    with serve_fake(dataset.app()) as served:
        yield served


@pytest.fixture
def exporter(fake: ServedFake) -> Iterator[RunningExporter]:
    """The installed console script polling the fake's ``acme`` org and ``acme-corp`` enterprise."""
    args = ["--org", "acme", "--enterprise", "acme-corp", "--github.api-url", fake.url]
    with start_exporter(args, {"GITHUB_TOKEN": TOKEN}) as running:
        yield running


#: Fixtures that serve the fake GitHub, Prometheus or Alertmanager, or start the exporter.
SERVER_FIXTURES = frozenset(
    {"fake", "exporter", "alerting_stack", "app_fake", "billing_fake", "prometheus", "fakes", "login_mode"}
)
#: Calls in a test's own body that start a process or a server.
SERVER_CALLS = (
    "start_exporter(",
    "serve_fake(",
    "run_exporter_cli(",
    "run_process(",
    "secured_exporter(",
    "subprocess.",
    "need_binary(",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts a process or a server ``e2e``, so ``-m "not e2e"`` stays fast."""
    for item in items:
        if item.get_closest_marker("e2e") is not None or not isinstance(item, pytest.Function):
            continue
        source = inspect.getsource(item.function)
        if SERVER_FIXTURES & set(item.fixturenames) or any(call in source for call in SERVER_CALLS):
            item.add_marker(pytest.mark.e2e)


class _StartsAProcessOrServer(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _only_e2e_tests_start_processes_or_servers(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test left unmarked that starts a process or listens on a socket fails at once, saying so
    (in-process ASGI apps and socket pairs are fine)."""
    if request.node.get_closest_marker("e2e") is not None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise _StartsAProcessOrServer(f"{request.node.nodeid} starts a process or server: mark it e2e")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(socket.socket, "listen", refuse)


@pytest.fixture(params=[*MOMENTS, "today"])
def moment(request: pytest.FixtureRequest) -> datetime:
    """Each fixed moment of tests/clock.py, and the real today: a test taking this holds on any date."""
    name: str = request.param
    return today() if name == "today" else MOMENTS[name]
