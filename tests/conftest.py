from __future__ import annotations

from collections.abc import Iterator

import pytest

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
