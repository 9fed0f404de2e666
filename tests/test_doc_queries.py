"""Every PromQL query of README.md and docs/*.md, run against the demo on a real Prometheus.

The queries are the ```promql fenced blocks, one query per block. Each must be valid and return data
from the demo exporter (with the shipped recording rules loaded), as the dashboards' queries must; a
query that cannot return data on the demo is listed in EXPECTED_EMPTY with the reason.
"""

from __future__ import annotations

import re

import pytest

from tests.support import REPO
from tests.test_dashboards import Prometheus, prometheus  # noqa: F401  (the module's live fixture)

pytestmark = pytest.mark.e2e
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^ *```promql\n(.*?)^ *```", re.S | re.M)
#: Query -> why the demo has no data for it.
EXPECTED_EMPTY: dict[str, str] = {}


def doc_queries() -> list[tuple[str, str]]:
    """(document name, query) of every promql block."""
    return [(doc.name, block.strip()) for doc in DOCS for block in FENCE.findall(doc.read_text())]


QUERIES = doc_queries()


def test_the_docs_answer_the_questions_users_ask_in_promql() -> None:
    readme = [query for doc, query in QUERIES if doc == "README.md"]
    for metric in (
        "github_copilot_idle_seats_monthly_cost_usd",
        "github_copilot_billing_net_amount_usd",
        "github_copilot_billing_quantity",
        "github_copilot_seat_idle_seconds",
    ):
        assert any(metric in query for query in readme), metric
    known = {query for _, query in QUERIES}
    stale = set(EXPECTED_EMPTY) - known
    assert not stale, f"EXPECTED_EMPTY names queries no doc shows any more: {stale}"


def test_the_fence_finds_every_query_block() -> None:
    text = "a\n```promql\nup\n```\n\n  ```promql\n  sum(\n    up\n  )\n  ```\n```sh\nls\n```\n"
    assert [block.strip() for block in FENCE.findall(text)] == ["up", "sum(\n    up\n  )"]


@pytest.mark.parametrize(("doc", "query"), QUERIES, ids=[f"{d}:{i}" for i, (d, _) in enumerate(QUERIES)])
def test_every_doc_query_returns_data_from_the_demo(prometheus: Prometheus, doc: str, query: str) -> None:  # noqa: F811
    result = prometheus.instant(query)
    if query in EXPECTED_EMPTY:
        assert not result, f"{doc}: listed as empty on the demo ({EXPECTED_EMPTY[query]}), but returns data"
    else:
        assert result, f"{doc}: no data on the demo for\n{query}"
        for sample in result:
            assert sample["value"][1] not in ("NaN", "+Inf", "-Inf"), (doc, query, sample)
