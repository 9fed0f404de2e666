"""``reclaim plan`` and ``reclaim apply`` against the fake GitHub over real HTTP, on a fixed clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exporter.commands.reclaim import apply_command, plan_command
from exporter.config import Config
from exporter.github.auth import StaticToken
from exporter.github.client import GitHubClient
from exporter.github.pacing import RequestPacer
from exporter.reclaim.audit import AuditLog
from tests.fakegithub.fake_github import FakeEnterprise, FakeGitHub, FakeOrg, FakeSeat
from tests.fakegithub.fake_seat_writes import SeatWrites
from tests.inprocess import make_config
from tests.support import TOKEN, ServedFake, run_exporter_cli, serve_fake

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WRITE_TOKEN = "ghp_writeTOKEN0123456789abcdefghijklmno"
DAY = timedelta(days=1)
ALLOW_LOGINS = ["vip"]
ALLOW_TEAMS = ["execs"]


def clock() -> float:
    return NOW.timestamp()


def seat(login: str, n: int, *, last: float | None, age: float = 400, **kw: Any) -> FakeSeat:
    return FakeSeat(
        login=login,
        user_id=1000 + n,
        created_at=NOW - age * DAY,
        last_activity_at=NOW - last * DAY if last is not None else None,
        last_activity_editor="vscode/1.95.3/copilot/1.245.0" if last is not None else None,
        **kw,
    )


def world() -> FakeGitHub:
    seats = [
        *(seat(f"idle-{i}", i, last=91 + i * 10) for i in range(5)),
        seat("never-used", 10, last=None, age=45),
        seat("brand-new", 11, last=None, age=10),
        seat("busy", 12, last=1),
        seat("almost", 13, last=89),
        seat("team-idle", 14, last=150, team="backend"),
        seat("exec", 15, last=150, team="execs"),
        seat("vip", 16, last=150),
        seat("leaving", 17, last=150, pending_cancellation_date=date(2026, 7, 1)),
        seat("wakes-up", 18, last=130),
    ]
    org = FakeOrg("acme", 1, seats=seats)
    github = FakeGitHub([org], [FakeEnterprise("acme-corp", 2)], token=TOKEN, clock=clock)
    github.seat_writes = SeatWrites(WRITE_TOKEN, read_token=TOKEN, clock=clock)
    return github


def expected_removals(github: FakeGitHub) -> set[str]:
    """The policy computed independently from the fake's own records."""
    out = set()
    for s in github.orgs["acme"].seats:
        assigned = NOW - s.created_at
        if s.team or s.pending_cancellation_date or s.login in ALLOW_LOGINS or assigned < 30 * DAY:
            continue
        if s.last_activity_at is None or NOW - s.last_activity_at >= 90 * DAY:
            out.add(s.login)
    return out


@pytest.fixture
def fake() -> Iterator[ServedFake]:
    with serve_fake(world()) as served:
        yield served


def config(fake: ServedFake, tmp_path: Path, flags: dict[str, Any] | None = None, **reclaim: Any) -> Config:
    token_file = tmp_path / "write-token"
    token_file.write_text(WRITE_TOKEN + "\n")
    section = {
        "allowlist": {"logins": ALLOW_LOGINS, "teams": ALLOW_TEAMS},
        "token_file": str(token_file),
        "batch_size": 2,
        "batch_pause": "0s",
        **reclaim,
    }
    return make_config({"org": ["acme"], "api_url": fake.url, **(flags or {})}, {"reclaim": section})


def client(fake: ServedFake) -> GitHubClient:
    return GitHubClient(fake.url, StaticToken(TOKEN), pacer=RequestPacer(concurrency=4, per_minute=0))


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def run_plan(cfg: Config, fake: ServedFake, path: Path) -> dict[str, Any]:
    async def main() -> int:
        c = client(fake)
        try:
            return await plan_command(cfg, {"output": str(path)}, c, clock=clock)
        finally:
            await c.aclose()

    assert asyncio.run(main()) == 0
    return dict(json.loads(path.read_text()))


def run_apply(cfg: Config, fake: ServedFake, path: Path, **options: Any) -> int:
    async def main() -> int:
        c = client(fake)
        try:
            return await apply_command(
                cfg, {"plan_file": str(path), **options}, c, clock=clock, sleep=_no_sleep
            )
        finally:
            await c.aclose()

    return asyncio.run(main())


def removed(fake: ServedFake) -> set[str]:
    assert fake.app.seat_writes is not None
    return {
        login
        for w in fake.app.seat_writes.writes
        if w.status == 200
        for login in w.body["selected_usernames"]
    }


@pytest.mark.e2e
def test_plan_lists_exactly_what_the_policy_selects(fake: ServedFake, tmp_path: Path) -> None:
    plan = run_plan(config(fake, tmp_path), fake, tmp_path / "plan.json")
    users = {item["user"] for item in plan["removals"]}
    assert users == expected_removals(fake.app)
    assert {"vip", "exec", "brand-new", "almost", "busy", "leaving"}.isdisjoint(users)
    assert [item["user"] for item in plan["team_grants"]] == ["team-idle"]
    assert plan["team_grants"][0]["team"] == "backend"
    by_user = {item["user"]: item for item in plan["removals"]}
    assert by_user["never-used"]["reason"] == "never_used"
    assert by_user["idle-4"]["reason"] == "idle"
    assert by_user["idle-4"]["idle_days"] == 131
    assert plan["summary"]["seats"] == len(users)
    assert plan["summary"]["monthly_saving_usd"] == 19.0 * len(users)
    assert plan["summary"]["left_out"] == {
        "pending_cancellation": 1,
        "allowlisted_login": 1,
        "allowlisted_team": 1,
        "team_grant": 1,
    }
    assert fake.app.seat_writes is not None
    assert fake.app.seat_writes.writes == []


@pytest.mark.e2e
def test_apply_removes_exactly_the_plan_and_a_second_apply_sends_nothing(
    fake: ServedFake, tmp_path: Path
) -> None:
    cfg = config(fake, tmp_path)
    path = tmp_path / "plan.json"
    plan = run_plan(cfg, fake, path)
    expected = expected_removals(fake.app)
    # Between plan and apply, one planned user gets to work again.
    waking = next(s for s in fake.app.orgs["acme"].seats if s.login == "wakes-up")
    waking.last_activity_at = NOW - DAY
    assert run_apply(cfg, fake, path) == 0
    assert removed(fake) == expected - {"wakes-up"}
    assert {item["user"] for item in plan["removals"]} - removed(fake) == {"wakes-up"}
    assert waking.pending_cancellation_date is None
    for s in fake.app.orgs["acme"].seats:
        assert (s.pending_cancellation_date is not None) == (s.login in removed(fake) | {"leaving"})
    audit = AuditLog(Path(f"{path}.audit.jsonl")).read()
    assert {line["login"] for line in audit} == removed(fake)
    assert {line["plan_id"] for line in audit} == {plan["plan_id"]}
    assert all(line["github"]["status"] == 200 and line["target"] == "org=acme" for line in audit)

    writes = len(fake.app.seat_writes.writes) if fake.app.seat_writes else 0
    assert run_apply(cfg, fake, path) == 0
    assert fake.app.seat_writes is not None
    assert len(fake.app.seat_writes.writes) == writes
    assert len(AuditLog(Path(f"{path}.audit.jsonl")).read()) == len(audit)


@pytest.mark.e2e
def test_a_server_error_halfway_stops_and_the_audit_log_matches_the_fake(
    fake: ServedFake, tmp_path: Path
) -> None:
    cfg = config(fake, tmp_path)
    path = tmp_path / "plan.json"
    run_plan(cfg, fake, path)
    expected = expected_removals(fake.app)
    assert fake.app.seat_writes is not None
    fake.app.seat_writes.fail_after = 1
    assert run_apply(cfg, fake, path) == 1
    writes = fake.app.seat_writes.writes
    assert [w.status for w in writes] == [200, 500]
    audit = AuditLog(Path(f"{path}.audit.jsonl")).read()
    sent = [(login, w.status) for w in writes for login in w.body["selected_usernames"]]
    assert [(line["login"], line["github"]["status"]) for line in audit] == sent
    pending = {s.login for s in fake.app.orgs["acme"].seats if s.pending_cancellation_date} - {"leaving"}
    assert pending == {login for login, status in sent if status == 200}
    # The rest goes out on the next apply, and what was done is not sent again.
    fake.app.seat_writes.fail_after = None
    assert run_apply(cfg, fake, path) == 0
    assert removed(fake) == expected
    assert len(removed(fake)) == sum(len(w.body["selected_usernames"]) for w in writes if w.status == 200)


@pytest.mark.e2e
def test_the_read_token_is_never_sent_with_a_write(fake: ServedFake, tmp_path: Path) -> None:
    cfg = config(fake, tmp_path)
    path = tmp_path / "plan.json"
    run_plan(cfg, fake, path)
    assert run_apply(cfg, fake, path) == 0
    deletes = [r for r in fake.app.requests if r.method != "GET"]
    assert deletes
    assert all(r.headers["authorization"] == f"Bearer {WRITE_TOKEN}" for r in deletes)
    reads = [r for r in fake.app.requests if r.method == "GET"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in reads)
    assert fake.app.seat_writes is not None
    assert {w.credential for w in fake.app.seat_writes.writes} == {"write"}


@pytest.mark.e2e
def test_apply_refuses_the_read_token_a_missing_one_and_a_young_plan(
    fake: ServedFake, tmp_path: Path
) -> None:
    cfg = config(fake, tmp_path)
    path = tmp_path / "plan.json"
    run_plan(cfg, fake, path)
    read_file = tmp_path / "read-token"
    read_file.write_text(TOKEN)
    assert run_apply(config(fake, tmp_path, token_file=str(read_file)), fake, path) == 2
    section = {"allowlist": {"logins": ALLOW_LOGINS, "teams": ALLOW_TEAMS}}
    no_writer = make_config({"org": ["acme"], "api_url": fake.url}, {"reclaim": section})
    assert run_apply(no_writer, fake, path) == 2
    assert run_apply(config(fake, tmp_path, min_plan_age="1d"), fake, path) == 2
    assert run_apply(config(fake, tmp_path, idle_days=60), fake, path) == 2
    assert fake.app.seat_writes is not None
    assert fake.app.seat_writes.writes == []
    # A dry run needs no write credential and sends nothing.
    assert run_apply(no_writer, fake, path, dry_run=True) == 0
    assert fake.app.seat_writes.writes == []


@pytest.mark.e2e
def test_the_fake_refuses_a_user_granted_through_a_team(fake: ServedFake, tmp_path: Path) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    url = f"{fake.url}/orgs/acme/copilot/billing/selected_users"
    answer = httpx.request("DELETE", url, json={"selected_usernames": ["team-idle"]}, headers=headers)
    assert answer.status_code == 422
    assert "via a team" in answer.json()["message"]
    read = httpx.request(
        "DELETE", url, json={"selected_usernames": ["idle-0"]}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert read.status_code == 403
    teams = httpx.request(
        "DELETE",
        f"{fake.url}/orgs/acme/copilot/billing/selected_teams",
        json={"selected_teams": ["backend"]},
        headers=headers,
    )
    assert teams.status_code == 200
    assert teams.json() == {"seats_cancelled": 1}


@pytest.mark.e2e
def test_cli_exit_statuses(fake: ServedFake, tmp_path: Path) -> None:
    args = ["reclaim", "--org", "acme", "--github.api-url", fake.url, "--usage.enabled", "false"]
    env = {"GITHUB_TOKEN": TOKEN}
    assert run_exporter_cli([*args, "--seat-metrics", "off"], env).returncode == 2
    assert run_exporter_cli([*args, "apply"], env).returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = run_exporter_cli([*args, "apply", str(bad)], env)
    assert result.returncode == 2
    assert "not a reclaim plan" in result.stderr
    plan = run_exporter_cli([*args, "--format", "csv"], env)
    assert plan.returncode == 0
    assert plan.stdout.startswith("action,target,orgs,user")
    failing = run_exporter_cli([*args], {"GITHUB_TOKEN": "wrong-token-0123456789"})
    assert failing.returncode == 1
    assert "unauthorized" in failing.stderr
    assert TOKEN not in plan.stderr + failing.stderr


WRITE_APP_ID = 5151
READ_APP_ID = 4242


@pytest.mark.e2e
def test_apply_writes_with_the_installation_token_of_a_separate_write_app(
    fake: ServedFake, tmp_path: Path
) -> None:
    from tests.fakegithub.fake_model import FakeApp
    from tests.test_auth import rsa_key_pair

    write_key, read_key = rsa_key_pair(), rsa_key_pair()
    fake.app.write_app = FakeApp(
        WRITE_APP_ID, write_key[1], installations={91: "acme"}, seat_permission="write"
    )
    # The reading app, installed read only: its installation tokens must not write.
    fake.app.app = FakeApp(READ_APP_ID, read_key[1], installations={77: "acme"})
    fake.app.seat_writes = SeatWrites(None, read_token=TOKEN, clock=clock)
    for name, (private, _) in (("write.pem", write_key), ("read.pem", read_key)):
        (tmp_path / name).write_text(private)
    section = {"allowlist": {"logins": ALLOW_LOGINS, "teams": ALLOW_TEAMS}, "batch_pause": "0s"}

    def app_config(app_id: int, key: str) -> Config:
        app = {"app_id": app_id, "app_private_key_file": str(tmp_path / key)}
        return make_config({"org": ["acme"], "api_url": fake.url}, {"reclaim": {**section, **app}})

    path = tmp_path / "plan.json"
    run_plan(app_config(WRITE_APP_ID, "write.pem"), fake, path)
    expected = expected_removals(fake.app)
    assert run_apply(app_config(READ_APP_ID, "read.pem"), fake, path) == 1
    writes = fake.app.seat_writes.writes
    assert [(w.credential, w.status) for w in writes] == [("read", 403)]
    assert not any(s.pending_cancellation_date for s in fake.app.orgs["acme"].seats if s.login != "leaving")

    assert run_apply(app_config(WRITE_APP_ID, "write.pem"), fake, path) == 0
    assert removed(fake) == expected
    assert {w.credential for w in writes[1:]} == {"write"}
    minted = {t.token: t.app_id for t in fake.app.issued_tokens}
    write_requests = [r for r in fake.app.requests if r.method == "DELETE"]
    assert {minted.get(r.headers["authorization"].partition(" ")[2]) for r in write_requests} == {
        READ_APP_ID,
        WRITE_APP_ID,
    }
    # Reads keep the exporter's own credential; only writes carry an installation token.
    reads = [r for r in fake.app.requests if r.method == "GET" and "/copilot/" in r.path]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in reads)
