"""The running exporter's reclaim figures: ``github_copilot_reclaimable_seats``, its cost, ``/reclaim.csv``.

In-process exporter over real HTTP to the fake, on the fixed clock of tests/test_reclaim.py: the
figures must be what ``reclaim plan`` selects from the same world, at the time of the poll.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from exporter.config import Config
from exporter.privacy import UserLabels
from exporter.reclaim.plan import parse_plan
from exporter.sources.seats import SeatSource
from exporter.web.server import Exporter
from tests.inprocess import ManualClock, make_exporter, scrape
from tests.support import ServedFake, parse_exposition
from tests.test_reclaim import DAY, NOW, clock, config, expected_removals, fake, run_plan

__all__ = ["fake"]  # the fixture, shared with tests/test_reclaim.py

SEATS = "github_copilot_reclaimable_seats"
COST = "github_copilot_reclaimable_seats_monthly_cost_usd"


def in_process(cfg: Config, fake: ServedFake, scenario: Any) -> None:
    """An exporter whose seat source and client run on the tests' fixed clock."""
    manual = ManualClock(NOW.timestamp())

    async def main() -> None:
        exporter = make_exporter(fake.url, cfg, clock=manual)
        source = SeatSource(cfg, exporter.client, UserLabels(cfg), clock=clock)
        exporter = Exporter(cfg, exporter.client, [source])
        try:
            await scenario(exporter, manual)
        finally:
            await exporter.client.aclose()

    asyncio.run(main())


def test_the_metrics_count_what_reclaim_plan_selects_at_the_poll(fake: ServedFake, tmp_path: Path) -> None:
    cfg = config(fake, tmp_path, max_removals=2)
    expected = expected_removals(fake.app)
    out: dict[str, Any] = {}

    async def scenario(exporter: Exporter, manual: ManualClock) -> None:
        out["before"] = parse_exposition((await scrape(exporter)).text)
        await exporter.poller.poll_once()
        out["after"] = parse_exposition((await scrape(exporter)).text)
        # Ten days on without a poll: "almost" (idle 89 days) would now be idle, were it counted to the
        # scrape; the figures describe the poll.
        manual.advance(10 * DAY.total_seconds())
        out["later"] = parse_exposition((await scrape(exporter)).text)
        assert len(fake.requests_to("/copilot/billing/selected_users")) == 0

    in_process(cfg, fake, scenario)
    assert out["before"].get(SEATS, {}) == {}
    seats, cost = out["after"][SEATS], out["after"][COST]
    key = ("enterprise", ""), ("grant", "direct"), ("org", "acme"), ("plan_type", "business"), ("team", "")
    team = (
        ("enterprise", ""),
        ("grant", "team"),
        ("org", "acme"),
        ("plan_type", "business"),
        ("team", "backend"),
    )
    # max_removals bounds a run, not the saving at stake.
    assert seats == {frozenset(key): len(expected), frozenset(team): 1}
    assert cost == {frozenset(key): 19.0 * len(expected), frozenset(team): 19.0}
    assert out["later"][SEATS] == seats


def test_reclaim_csv_and_json_serve_the_plan_reclaim_plan_makes(fake: ServedFake, tmp_path: Path) -> None:
    cfg = config(fake, tmp_path)
    planned = run_plan(cfg, fake, tmp_path / "plan.json")
    out: dict[str, Any] = {}

    async def scenario(exporter: Exporter, manual: ManualClock) -> None:
        out["waiting"] = await scrape(exporter, "/reclaim.csv")
        await exporter.poller.poll_once()
        before = len(fake.app.requests)
        for path in ("/reclaim.csv", "/reclaim.json", "/"):
            out[path] = await scrape(exporter, path)
        assert len(fake.app.requests) == before  # served from the snapshots, never from GitHub

    in_process(cfg, fake, scenario)
    assert out["waiting"].status_code == 503
    assert "seats of org=acme" in out["waiting"].text
    served = json.loads(out["/reclaim.json"].text)
    # The same world at the same poll time: the very plan, id and all, which apply accepts.
    assert served == planned
    assert parse_plan(out["/reclaim.json"].text).plan_id == planned["plan_id"]
    response = out["/reclaim.csv"]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="reclaim-plan-{planned["plan_id"]}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["user"] for r in rows if r["action"] == "remove"} == expected_removals(fake.app)
    assert [(r["user"], r["team"]) for r in rows if r["action"] == "act on the team"] == [
        ("team-idle", "backend")
    ]
    assert '<a href="/reclaim.csv">' in out["/"].text


def test_reclaim_csv_is_behind_basic_auth_and_off_with_seat_metrics(fake: ServedFake, tmp_path: Path) -> None:
    password_hash = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"finops": password_hash}}))
    secured = config(fake, tmp_path, {"web_config_file": str(web)})
    out: dict[str, Any] = {}

    async def scenario(exporter: Exporter, manual: ManualClock) -> None:
        await exporter.poller.poll_once()
        out["anonymous"] = await scrape(exporter, "/reclaim.csv")
        out["json"] = await scrape(exporter, "/reclaim.json")
        out["signed in"] = await scrape(exporter, "/reclaim.csv", auth=("finops", "s3cret"))

    in_process(secured, fake, scenario)
    assert out["anonymous"].status_code == 401
    assert out["json"].status_code == 401
    assert "idle-" not in out["anonymous"].text
    assert out["signed in"].status_code == 200

    off = config(fake, tmp_path, {"seat_metrics": "off"})

    async def scenario_off(exporter: Exporter, manual: ManualClock) -> None:
        await exporter.poller.poll_once()
        out["off"] = await scrape(exporter, "/reclaim.csv")
        out["metrics"] = parse_exposition((await scrape(exporter)).text)

    in_process(off, fake, scenario_off)
    assert out["off"].status_code == 403
    # The figures name nobody, so they stay.
    assert sum(out["metrics"][SEATS].values()) == len(expected_removals(fake.app)) + 1
