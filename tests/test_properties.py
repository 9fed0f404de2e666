"""Property-based tests of parsing and metric computation, driven by GitHub's published schemas.

Bodies come from the JSON schemas of GitHub's OpenAPI description (``tests.support.SPEC_PATH``; checked with
``jsonschema`` to really be valid), then from mutations outside them. Whatever arrives, no exception but
the exporter's own rejections escapes, and what gets published obeys the invariants of the metrics.

hypothesis-jsonschema 0.23 no longer runs on the installed Hypothesis (its object strategy calls
``many.more()``, which Hypothesis removed), so the schema-to-strategy translation is done here for the
keywords these schemas use; ``jsonschema`` validates every generated body so the translation cannot drift.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from exporter.collector import SourcesCollector
from exporter.config import Config, Target
from exporter.errors import GitHubError, InconsistentDataError, MalformedResponseError
from exporter.exposition import render
from exporter.github.answers import parse_body
from exporter.github.auth import StaticToken
from exporter.github.client import GitHubClient
from exporter.health import HealthCollector
from exporter.sources.seats.config import seats_config
from exporter.sources.seats.model import parse_org_billing, parse_seat_page
from exporter.sources.seats.snapshot import TargetSnapshot, build_snapshot
from exporter.state import ExporterState
from exporter.wiring import build_sources
from tests.support import SPEC_PATH

SPEC = json.loads(SPEC_PATH.read_text())
SEAT_SCHEMA: dict[str, Any] = SPEC["schemas"]["copilot-seat-details"]
BILLING_SCHEMA: dict[str, Any] = SPEC["schemas"]["copilot-organization-details"]
SEAT_VALIDATOR = jsonschema.Draft202012Validator(SEAT_SCHEMA)
BILLING_VALIDATOR = jsonschema.Draft202012Validator(BILLING_SCHEMA)
NOW = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
# No explain phase: on a failure it reruns hundreds of variants for minutes, the shrunk example suffices.
# `make test` asks for 150 examples; the inner loop (pytest -m "not e2e") is content with fewer.
PROPERTIES = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
MOMENTS = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (the subset of JSON Schema 2020-12 GitHub's schemas use)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "oneOf" in schema:
        return st.one_of([from_schema(branch) for branch in schema["oneOf"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=0 if schema.get("format") == "int64" else -(2**31), max_value=2**53)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return MOMENTS.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if fmt == "date":
            return MOMENTS.map(lambda m: m.date().isoformat())
        if fmt == "uri":
            return st.sampled_from(["https://api.github.com/x", "https://github.com/octocat"])
        return st.text(max_size=16)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=3)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: from_schema(v) for k, v in properties.items() if k in required},
            optional={k: from_schema(v) for k, v in properties.items() if k not in required},
        )
    return JSON


SEATS = st.lists(from_schema(SEAT_SCHEMA), min_size=0, max_size=12)


def make_consistent(seats: list[Any], target: Target, regrants: list[int]) -> list[dict[str, Any]]:
    """Give every assignee its own id, as GitHub does; an enterprise lists re-granted users again."""
    seats = copy.deepcopy(seats)
    for index, seat in enumerate(seats):
        if isinstance(seat.get("assignee"), dict):
            seat["assignee"]["id"] = 1000 + index
    if target.kind == "enterprise":
        for n in regrants:
            if seats:
                again = copy.deepcopy(seats[n % len(seats)])
                seats.append(again)
    return seats


def distinct_users(seats: list[dict[str, Any]]) -> int:
    ids = {s["assignee"]["id"] for s in seats if isinstance(s.get("assignee"), dict)}
    return len(ids) + sum(1 for s in seats if not isinstance(s.get("assignee"), dict))


def paginate(seats: list[Any], total: int, per_page: int) -> list[dict[str, Any]]:
    chunks = [seats[i : i + per_page] for i in range(0, len(seats), per_page)] or [[]]
    return [{"total_seats": total, "seats": chunk} for chunk in chunks]


def config(mode: str = "login", max_series: int = 50_000) -> Config:
    from exporter.config import SeatMetricsMode, Secret

    key = Secret("property-test-hash-key") if mode == "hashed" else None
    return Config(seat_metrics=SeatMetricsMode(mode), seat_metrics_hash_key=key, max_seat_series=max_series)


Samples = dict[str, list[tuple[dict[str, str], float]]]


def exposition(cfg: Config, snapshot: TargetSnapshot) -> Samples:
    """What a scrape returns for ``snapshot``: every sample, duplicates kept."""
    cfg = dataclasses.replace(cfg, targets=(snapshot.target,))
    client = GitHubClient("http://github.test", StaticToken(None))
    sources = build_sources(cfg, client)
    state = ExporterState([("seats", snapshot.target)])
    state.publish("seats", snapshot.target, snapshot, taken_at=NOW, duration=0.1, overran=False)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SourcesCollector(sources, state, clock=lambda: NOW))
    registry.register(HealthCollector(state, client.stats, clock=lambda: NOW))
    body, _ = render(registry, "", "")
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def check_invariants(cfg: Config, snapshot: TargetSnapshot) -> None:
    samples = exposition(cfg, snapshot)
    for name, series in samples.items():
        keys = [tuple(sorted(labels.items())) for labels, _ in series]
        assert len(keys) == len(set(keys)), f"{name} has duplicate series"
        assert all(math.isfinite(v) for _, v in series), name

    def by_group(name: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted((k, v) for k, v in labels.items() if k != "window")): value
            for labels, value in samples[name]
            if "window" not in labels
        }

    seats = by_group("github_copilot_seats")
    assert sum(seats.values()) == len(snapshot.seats)
    assert all(v > 0 for v in seats.values())
    for name in ("github_copilot_seats_without_activity", "github_copilot_seats_pending_cancellation"):
        for group, count in by_group(name).items():
            assert 0 <= count <= seats[group], name
    cost = by_group("github_copilot_estimated_monthly_cost_usd")
    assert all(v >= 0 for v in cost.values())

    windows = [w.label for w in seats_config(cfg).activity_windows]  # ascending durations
    active: dict[Any, dict[str, float]] = defaultdict(dict)
    idle_cost: dict[Any, dict[str, float]] = defaultdict(dict)
    for name, target in (
        ("github_copilot_seats_active", active),
        ("github_copilot_idle_seats_monthly_cost_usd", idle_cost),
    ):
        for labels, value in samples[name]:
            group = tuple(sorted((k, v) for k, v in labels.items() if k != "window"))
            target[group][labels["window"]] = value
    for group, per_window in active.items():
        counts = [per_window[w] for w in windows]
        assert counts == sorted(counts), "a longer window has fewer active seats"
        assert all(0 <= c <= seats[group] for c in counts), "more active than assigned seats"
    for group, per_window in idle_cost.items():
        costs = [per_window[w] for w in windows]
        assert costs == sorted(costs, reverse=True), "a longer window has more idle cost"
        assert all(-1e-9 <= c <= cost[group] + 1e-9 for c in costs)
    editors = sum(v for _, v in samples["github_copilot_seats_by_editor"])
    assert editors == len(snapshot.seats)

    named = [s for s in snapshot.seats if s.login]
    per_seat = samples.get("github_copilot_seat_info", [])
    dropped = samples["github_copilot_seat_series_dropped"][0][1]
    if cfg.seat_metrics == "off":
        assert not any(labels.get("user") for series in samples.values() for labels, _ in series)
        assert dropped == 0
    else:
        assert len(per_seat) == min(len(named), cfg.max_seat_series)
        assert dropped == len(named) - len(per_seat)
        assert all(v >= 0 for _, v in samples["github_copilot_seat_idle_seconds"])
        if cfg.seat_metrics == "hashed":
            logins = {s.login for s in named}
            assert not any(labels["user"] in logins for labels, _ in per_seat if labels["user"].strip())


def snapshot_of(target: Target, bodies: list[Any], billing_body: Any) -> TargetSnapshot:
    """What the client and the poller make of these answers (through the client's parsing boundary)."""
    pages = [parse_body(parse_seat_page, body, f"page {n}") for n, body in enumerate(bodies, 1)]
    billing = parse_body(parse_org_billing, billing_body, "billing") if target.kind == "org" else None
    return build_snapshot(target, pages, billing, {"business": 19.0, "enterprise": 39.0}, NOW)


TARGETS = st.sampled_from([Target("org", "acme"), Target("enterprise", "acme-corp")])
MODES = st.sampled_from(["login", "hashed", "off"])


@PROPERTIES
@given(
    seats=SEATS,
    target=TARGETS,
    regrants=st.lists(st.integers(0, 20), max_size=4),
    per_page=st.integers(1, 5),
    billing=from_schema(BILLING_SCHEMA),
    mode=MODES,
    max_series=st.sampled_from([50_000, 3, 0]),
)
def test_schema_valid_answers_are_published_and_obey_the_invariants(
    seats: list[Any],
    target: Target,
    regrants: list[int],
    per_page: int,
    billing: Any,
    mode: str,
    max_series: int,
) -> None:
    for seat in seats:
        SEAT_VALIDATOR.validate(seat)
    BILLING_VALIDATOR.validate(billing)
    listed = make_consistent(seats, target, regrants)
    bodies = paginate(listed, distinct_users(listed), per_page)
    snapshot = snapshot_of(target, bodies, billing)  # consistent pages of valid seats: accepted
    assert len(snapshot.seats) == distinct_users(listed)
    check_invariants(config(mode, max_series), snapshot)


FIELDS = st.sampled_from(sorted(SEAT_SCHEMA["properties"]))
# Mostly changes GitHub could plausibly make to one field (often tolerated: optional fields are
# ignored when odd), sometimes a broken envelope (always refused).
MUTATIONS = st.one_of(
    st.tuples(st.just("field"), st.tuples(st.integers(0, 20), FIELDS, JSON)),
    st.tuples(st.just("field"), st.tuples(st.integers(0, 20), FIELDS, JSON)),
    st.tuples(st.just("drop"), st.tuples(st.integers(0, 20), FIELDS)),
    st.tuples(st.just("count"), st.integers(-3, 3)),
    st.tuples(st.just("seat"), st.tuples(st.integers(0, 20), JSON)),
    st.tuples(st.just("total"), JSON),
    st.tuples(st.just("seats"), JSON),
    st.tuples(st.just("body"), JSON),
)


def mutate(bodies: list[Any], page: int, mutation: tuple[str, Any]) -> list[Any]:
    out: list[Any] = copy.deepcopy(bodies)
    page %= len(out)
    kind, arg = mutation
    body = out[page]
    if kind == "body" or not isinstance(body, dict):
        out[page] = arg
        return out
    if kind in ("total", "seats"):
        body["total_seats" if kind == "total" else "seats"] = arg
        return out
    total, seats = body.get("total_seats"), body.get("seats")
    if kind == "count":
        if isinstance(total, int) and not isinstance(total, bool):
            body["total_seats"] = total + arg
        return out
    if not isinstance(seats, list) or not seats:
        return out
    index = arg[0] % len(seats)
    if kind == "seat":
        seats[index] = arg[1]
    elif isinstance(seats[index], dict):
        if kind == "field":
            seats[index][arg[1]] = arg[2]
        else:
            seats[index].pop(arg[1], None)
    return out


@PROPERTIES
@given(
    seats=SEATS,
    target=TARGETS,
    per_page=st.integers(1, 5),
    billing=from_schema(BILLING_SCHEMA) | JSON,
    mutations=st.lists(st.tuples(st.integers(0, 10), MUTATIONS), min_size=1, max_size=3),
    mode=MODES,
)
def test_answers_outside_the_schema_are_rejected_or_still_obey_the_invariants(
    seats: list[Any],
    target: Target,
    per_page: int,
    billing: Any,
    mutations: list[tuple[int, tuple[str, Any]]],
    mode: str,
) -> None:
    listed = make_consistent(seats, target, [])
    bodies: list[Any] = paginate(listed, distinct_users(listed), per_page)
    for page, mutation in mutations:
        bodies = mutate(bodies, page, mutation)
    try:
        snapshot = snapshot_of(target, bodies, billing)
    except (MalformedResponseError, InconsistentDataError) as exc:
        event(f"refused: {type(exc).__name__}")
        return  # refused: the poll fails and the last good snapshot stays
    except GitHubError as exc:  # pragma: no cover - any other refusal would be a wrong reason label
        pytest.fail(f"unexpected refusal {type(exc).__name__}: {exc}")
    assert len(snapshot.seats) == snapshot.total_seats
    event("accepted")
    check_invariants(config(mode), snapshot)
