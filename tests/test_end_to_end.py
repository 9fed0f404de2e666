"""The installed exporter against the fake GitHub over HTTP, scraped as Prometheus would."""

from __future__ import annotations

import gzip
import subprocess
import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.fakegithub.fake_github import FakeSeat
from tests.support import (
    NOW,
    TOKEN,
    Dataset,
    RunningExporter,
    ServedFake,
    need_binary,
    parse_exposition,
    start_exporter,
    total,
    value,
)

DAY = 86400.0


def _ts(moment: datetime | None) -> float | None:
    return moment.astimezone(UTC).timestamp() if moment is not None else None


def _active_since(seat: FakeSeat, cutoff: float) -> bool:
    return seat.last_activity_at is not None and seat.last_activity_at.timestamp() >= cutoff


def test_org_aggregates_match_an_independent_count(exporter: RunningExporter, dataset: Dataset) -> None:
    parsed = parse_exposition(exporter.metrics())
    seats = dataset.org.seats
    scrape_now = time.time()

    assert total(parsed, "github_copilot_seats", org="acme") == len(seats) == 250
    for window, days in (("1d", 1), ("7d", 7), ("14d", 14), ("30d", 30), ("90d", 90)):
        expected = sum(1 for s in seats if _active_since(s, scrape_now - days * DAY))
        assert total(parsed, "github_copilot_seats_active", org="acme", window=window) == expected, window
    assert total(parsed, "github_copilot_seats_without_activity", org="acme") == sum(
        1 for s in seats if s.last_activity_at is None
    )
    assert total(parsed, "github_copilot_seats_pending_cancellation", org="acme") == sum(
        1 for s in seats if s.pending_cancellation_date is not None
    )
    # Seat 7 has no plan_type: it takes the organization's plan (business).
    price = {"business": 19.0, "enterprise": 39.0}
    expected_cost = sum(price[s.plan_type or "business"] for s in seats)
    assert total(parsed, "github_copilot_estimated_monthly_cost_usd", org="acme") == pytest.approx(
        expected_cost
    )
    idle_cost_30d = sum(
        price[s.plan_type or "business"] for s in seats if not _active_since(s, scrape_now - 30 * DAY)
    )
    assert total(
        parsed, "github_copilot_idle_seats_monthly_cost_usd", org="acme", window="30d"
    ) == pytest.approx(idle_cost_30d)
    # Per team and plan: the sum over labels means something.
    alpha = [s for s in seats if s.team == "alpha"]
    assert total(parsed, "github_copilot_seats", org="acme", team="alpha") == len(alpha)
    assert total(parsed, "github_copilot_seats", org="acme", team="") == sum(
        1 for s in seats if s.team is None
    )
    assert total(parsed, "github_copilot_seats", org="acme", plan_type="enterprise") == sum(
        1 for s in seats if s.plan_type == "enterprise"
    )
    # Editors: the family of the last activity, none without activity.
    assert total(parsed, "github_copilot_seats_by_editor", org="acme", editor="none") == 25
    assert total(parsed, "github_copilot_seats_by_editor", org="acme", editor="vscode") == sum(
        1 for i, s in enumerate(seats) if i % 2 and s.last_activity_at is not None
    )
    assert total(parsed, "github_copilot_seats_by_editor", org="acme", editor="jetbrains-iu") == sum(
        1 for i, s in enumerate(seats) if not i % 2 and s.last_activity_at is not None
    )
    # GitHub's own figures and the org's policies.
    assert value(parsed, "github_copilot_billing_seats", org="acme", state="total") == 250
    assert value(parsed, "github_copilot_billing_seats", org="acme", state="pending_invitation") == 3
    assert (
        value(
            parsed, "github_copilot_organization_info", org="acme", plan_type="business", ide_chat="enabled"
        )
        == 1
    )


def test_per_seat_series(exporter: RunningExporter, dataset: Dataset) -> None:
    parsed = parse_exposition(exporter.metrics())
    seats = {s.login: s for s in dataset.org.seats}
    assert len(parsed["github_copilot_seat_info"]) == 250 + 4  # org seats + enterprise users
    # Never used: idle since assignment, no last-activity series.
    never = seats["user0000"]
    idle = value(parsed, "github_copilot_seat_idle_seconds", org="acme", user="user0000")
    assert idle == pytest.approx(time.time() - _ts(never.created_at), abs=120)  # type: ignore[operator]
    assert value(parsed, "github_copilot_seat_last_activity_timestamp_seconds", user="user0000") is None
    assert value(parsed, "github_copilot_seat_created_timestamp_seconds", user="user0000") == _ts(
        never.created_at
    )
    # Idle 45 days.
    idle = value(parsed, "github_copilot_seat_idle_seconds", org="acme", user="user0001")
    assert idle == pytest.approx(45 * DAY + (time.time() - NOW.timestamp()), abs=120)
    assert value(parsed, "github_copilot_seat_last_activity_timestamp_seconds", user="user0001") == _ts(
        seats["user0001"].last_activity_at
    )
    info = parsed["github_copilot_seat_info"]
    labels = dict(next(k for k in info if ("user", "user0025") in k))
    assert labels == {
        "enterprise": "",
        "org": "acme",
        "user": "user0025",
        "team": "beta",
        "plan_type": "business",
        "editor": "vscode",
        "pending_cancellation": "true",
    }
    assert value(parsed, "github_copilot_seat_pending_cancellation_timestamp_seconds", user="user0025") == (
        datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    )
    labels = dict(next(k for k in info if ("user", "user0007") in k))
    assert labels["plan_type"] == "business"  # unknown -> the org's plan


def test_enterprise_grants_are_counted_once(exporter: RunningExporter) -> None:
    parsed = parse_exposition(exporter.metrics())
    assert total(parsed, "github_copilot_seats", enterprise="acme-corp") == 4  # carol, dave, erin, frank
    # carol's earliest grant is org-b / blue; her latest activity (5 hours ago) counts.
    assert value(parsed, "github_copilot_seats", enterprise="acme-corp", org="org-b", team="blue") == 1
    assert value(parsed, "github_copilot_seats", enterprise="acme-corp", org="org-a", team="red") is None
    assert value(parsed, "github_copilot_seat_idle_seconds", user="carol") == pytest.approx(
        5 * 3600 + (time.time() - NOW.timestamp()), abs=120
    )
    info = dict(next(k for k in parsed["github_copilot_seat_info"] if ("user", "carol") in k))
    assert info["editor"] == "neovim"
    # erin was granted at the enterprise level: org is empty, team is the enterprise team.
    assert value(parsed, "github_copilot_seats", enterprise="acme-corp", org="", team="everyone") == 1
    # frank: every grant pending cancellation.
    assert total(parsed, "github_copilot_seats_pending_cancellation", enterprise="acme-corp") == 1
    assert total(parsed, "github_copilot_seats_active", enterprise="acme-corp", window="1d") == 1
    assert total(parsed, "github_copilot_seats_active", enterprise="acme-corp", window="7d") == 2
    assert total(parsed, "github_copilot_seats_active", enterprise="acme-corp", window="90d") == 3
    assert total(parsed, "github_copilot_estimated_monthly_cost_usd", enterprise="acme-corp") == 4 * 39
    assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp", org="") == 1


def test_pagination_etags_and_exporter_health(exporter: RunningExporter, fake: ServedFake) -> None:
    seat_requests = sorted(fake.requests_to("/orgs/acme/copilot/billing/seats"))
    assert seat_requests == [
        "/orgs/acme/copilot/billing/seats?per_page=100",
        "/orgs/acme/copilot/billing/seats?per_page=100&page=2",
        "/orgs/acme/copilot/billing/seats?per_page=100&page=3",
    ]
    sent = next(r for r in fake.app.requests if r.path == "/orgs/acme/copilot/billing")
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["accept"] == "application/vnd.github+json"
    assert sent.headers["x-github-api-version"] == "2022-11-28"
    assert sent.headers["user-agent"].startswith("github-copilot-exporter/")

    parsed = parse_exposition(exporter.metrics())
    assert value(parsed, "github_copilot_up", source="seats", enterprise="", org="acme") == 1
    assert value(
        parsed, "github_copilot_last_success_timestamp_seconds", source="seats", org="acme"
    ) == pytest.approx(time.time(), abs=60)
    assert value(parsed, "github_copilot_poll_duration_seconds", source="seats", org="acme") > 0  # type: ignore[operator]
    endpoint = "/orgs/{org}/copilot/billing/seats"
    assert value(parsed, "github_copilot_api_requests_total", endpoint=endpoint, code="200") == 3
    assert value(parsed, "github_copilot_api_rate_limit_limit", resource="core") == 5000
    # The reading of the latest answer; the billing source may have been answered since the scrape.
    remaining = value(parsed, "github_copilot_api_rate_limit_remaining", resource="core")
    assert remaining is not None
    assert fake.app.rate_remaining <= remaining < 5000
    assert value(parsed, "github_copilot_api_rate_limit_reset_timestamp_seconds", resource="core") == (
        fake.app.rate_reset
    )
    build = dict(next(iter(parsed["github_copilot_exporter_build_info"])))
    assert build["version"]
    assert "process_resident_memory_bytes" in parsed
    assert "python_info" in parsed


def test_exposition_passes_promtool(exporter: RunningExporter) -> None:
    promtool = need_binary("promtool")
    text = exporter.metrics()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout
    assert result.stderr.strip() == "", result.stderr
    assert "Refreshed from the GitHub API every 10m" in text


def test_gzip_openmetrics_landing_and_probes(exporter: RunningExporter) -> None:
    with httpx.stream("GET", exporter.url + "/metrics", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    assert b"github_copilot_seats{" in gzip.decompress(raw)
    plain = httpx.get(exporter.url + "/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    om = exporter.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")
    landing = exporter.get("/")
    assert landing.status_code == 200
    assert 'href="/metrics"' in landing.text
    assert "acme-corp" in landing.text
    assert exporter.get("/healthz").status_code == 200
    assert exporter.get("/readyz").status_code == 200
    assert exporter.get("/nope").status_code == 404


def test_not_ready_until_every_target_polled(fake: ServedFake) -> None:
    args = ["--org", "acme", "--org", "ghost", "--github.api-url", fake.url]
    with start_exporter(args, {"GITHUB_TOKEN": TOKEN}, wait_ready=False) as running:
        parsed: dict[str, dict[frozenset[tuple[str, str]], float]] = {}

        def polled() -> bool:
            nonlocal parsed
            parsed = parse_exposition(running.metrics())
            return total(parsed, "github_copilot_polls_total", source="seats") >= 2

        from tests.support import wait_until

        wait_until(polled, 30, what="both targets polled")
        readyz = running.get("/readyz")
        assert readyz.status_code == 503
        assert "org=ghost" in readyz.text
        assert value(parsed, "github_copilot_up", source="seats", org="ghost") == 0
        assert (
            value(
                parsed, "github_copilot_poll_failures_total", source="seats", org="ghost", reason="not_found"
            )
            == 1
        )
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert "check the organization or enterprise name" in running.log()


def test_sigterm_stops_cleanly(exporter: RunningExporter) -> None:
    assert exporter.stop() == 0
    assert "stopped" in exporter.log()
    assert TOKEN not in exporter.log()
