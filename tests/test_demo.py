"""Demo mode: no token, built-in data flowing through the real client, parser and collector."""

from __future__ import annotations

from tests.fakegithub.world import DEMO_ENTERPRISE, DEMO_ORG, demo_github
from tests.support import parse_exposition, start_exporter, total, value


def test_demo_serves_an_org_and_an_enterprise_without_a_token() -> None:
    fake = demo_github()
    org_seats = len(fake.orgs[DEMO_ORG].seats)
    enterprise_users = len({s.user_id for s in fake.enterprises[DEMO_ENTERPRISE].seats})
    assert len(fake.enterprises[DEMO_ENTERPRISE].seats) > enterprise_users  # duplicate grants exist

    with start_exporter(["--demo", "--usage.enabled=auto"]) as running:
        parsed = parse_exposition(running.metrics())
        landing = running.get("/").text

    assert total(parsed, "github_copilot_seats", org=DEMO_ORG) == org_seats
    assert total(parsed, "github_copilot_seats", enterprise=DEMO_ENTERPRISE) == enterprise_users
    for source in ("seats", "billing", "usage"):
        assert value(parsed, "github_copilot_up", source=source, org=DEMO_ORG) == 1
        assert value(parsed, "github_copilot_up", source=source, enterprise=DEMO_ENTERPRISE) == 1
    # Realistic shape: some seats never used, some pending cancellation, several teams and editors.
    assert total(parsed, "github_copilot_seats_without_activity") > 0
    assert total(parsed, "github_copilot_seats_pending_cancellation") > 0
    assert len({dict(k)["team"] for k in parsed["github_copilot_seats"]}) >= 5
    assert len({dict(k)["editor"] for k in parsed["github_copilot_seats_by_editor"]}) >= 5
    active_1d = total(parsed, "github_copilot_seats_active", window="1d")
    active_30d = total(parsed, "github_copilot_seats_active", window="30d")
    assert 0 < active_1d < active_30d < total(parsed, "github_copilot_seats")
    # The data came through the HTTP client: requests were counted by endpoint and code.
    assert (
        value(
            parsed,
            "github_copilot_api_requests_total",
            endpoint="/orgs/{org}/copilot/billing/seats",
            code="200",
        )
        == 4
    )  # 320 seats at 100 a page
    assert "demo data" in landing
    # Usage reports for yesterday, downloaded from the demo's second host, fill every usage panel.
    for family in (
        "github_copilot_usage_active_users",
        "github_copilot_usage_code_acceptances_by_language_feature",
        "github_copilot_usage_interactions_by_model_feature",
        "github_copilot_usage_team_active_users",
        "github_copilot_user_ai_credits_used",
    ):
        assert total(parsed, family, org=DEMO_ORG) > 0, family
    assert value(parsed, "github_copilot_api_requests_total", endpoint="usage report download", code="200")
