"""Built-in demo data: an organization and a small enterprise with realistic Copilot activity.

The data is served by :class:`~exporter.demo.github.DemoGitHub` through an in-process transport, so
demo mode exercises the same client, parsing and metric code as a real organization. Times are
relative to start-up; the random generator is seeded so every run shows the same shape.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

from exporter.config import Target
from exporter.demo.downloads import ASGI, DemoDownloads, HostRouter, UsageReports
from exporter.demo.fake_billing import FakeBillingWorld, demo_billing
from exporter.demo.fake_model import FakeEnterprise, FakeOrg, FakeSeat
from exporter.demo.fake_repos import RepoDownloads, RepoReports, RepoWorld
from exporter.demo.fake_usage import demo_usage
from exporter.demo.github import DemoGitHub

DEMO_ORG = "octodemo"
DEMO_ENTERPRISE = "octodemo-enterprise"
DEMO_ENTERPRISE_ORGS = ("octodemo-web", "octodemo-data", "octodemo-platform")
DEMO_TARGETS = (Target("org", DEMO_ORG), Target("enterprise", DEMO_ENTERPRISE))
#: Where the demo's usage-report links point: another host, answered in-process like the API.
DEMO_DOWNLOAD_HOST = "downloads.demo"

_TEAMS = ("backend", "frontend", "mobile", "data-science", "platform", "security", "")
_EDITORS = (
    ("vscode/1.95.3/copilot/1.245.0", 45),
    ("JetBrains-IU/2024.3/copilot-intellij/1.5.29", 15),
    ("JetBrains-PY/2024.3/copilot-intellij/1.5.29", 6),
    ("VisualStudio/17.12.1/copilot-vs/1.207.0", 6),
    ("Neovim/0.10.2/copilot.vim/1.41.0", 5),
    ("Xcode/16.1/copilot-xcode/0.27.0", 3),
    ("copilot-chat-platform", 8),
    ("copilot_pr_review", 4),
    ("GitHubCopilotCLI/1.0.9", 3),
)


def _activity(rng: random.Random, now: datetime) -> datetime | None:
    """Most seats are busy, a long tail is idle, some were never used."""
    roll = rng.random()
    if roll < 0.55:
        return now - timedelta(hours=rng.uniform(1, 24))
    if roll < 0.72:
        return now - timedelta(days=rng.uniform(1, 7))
    if roll < 0.80:
        return now - timedelta(days=rng.uniform(7, 30))
    if roll < 0.90:
        return now - timedelta(days=rng.uniform(30, 89))
    return None


def _seat(rng: random.Random, now: datetime, login: str, user_id: int, **overrides: object) -> FakeSeat:
    created = now - timedelta(days=rng.uniform(3, 400))
    last = _activity(rng, now)
    if last is not None and last < created:
        created = last - timedelta(days=rng.uniform(0, 10))
    editor = rng.choices([e for e, _ in _EDITORS], weights=[w for _, w in _EDITORS])[0] if last else None
    cancel = None
    if rng.random() < 0.04:
        first_of_next = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
        cancel = date(first_of_next.year, first_of_next.month, 1)
    seat = FakeSeat(
        login=login,
        user_id=user_id,
        created_at=created,
        team=rng.choice(_TEAMS) or None,
        plan_type="business",
        last_activity_at=last,
        last_activity_editor=editor,
        last_authenticated_at=(last + timedelta(minutes=rng.uniform(-600, 0))) if last else None,
        pending_cancellation_date=cancel,
    )
    for key, value in overrides.items():
        setattr(seat, key, value)
    return seat


def demo_accounts(
    now: float | None = None, *, seed: int = 2026
) -> tuple[FakeOrg, FakeEnterprise, FakeBillingWorld]:
    """The demo organization, enterprise and billing world, as of ``now``."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    rng = random.Random(seed)
    org = FakeOrg(
        login=DEMO_ORG, id=9_000_001, plan_type="business", pending_invitation=4, added_this_cycle=9
    )
    org.seats = [_seat(rng, moment, f"demo-user-{i:03d}", 10_000 + i) for i in range(320)]

    enterprise = FakeEnterprise(slug=DEMO_ENTERPRISE, id=7_000_001)
    for i in range(140):
        seat = _seat(
            rng,
            moment,
            f"ent-user-{i:03d}",
            50_000 + i,
            org=rng.choice(DEMO_ENTERPRISE_ORGS),
            plan_type="enterprise",
        )
        if i % 20 == 0:  # granted at the enterprise level, through an enterprise team
            seat.org, seat.team, seat.team_kind = None, "all-engineers", "enterprise"
        enterprise.seats.append(seat)
        if i % 7 == 0:  # the same user granted again through a second organization
            other = next(o for o in DEMO_ENTERPRISE_ORGS if o != seat.org)
            enterprise.seats.append(
                _seat(
                    rng, moment, seat.login, seat.user_id, org=other, plan_type="enterprise", team="platform"
                )
            )
    billing = demo_billing(moment.timestamp(), seed=seed, api_url="http://github.demo")
    return org, enterprise, billing


def demo_github(now: float | None = None, *, seed: int = 2026) -> DemoGitHub:
    org, enterprise, billing = demo_accounts(now, seed=seed)
    return DemoGitHub([org], [enterprise], billing=billing)


def demo_app(now: float | None = None, *, seed: int = 2026) -> ASGI:
    """The demo's GitHub with its usage reports, and their download host beside it."""
    github = demo_github(now, seed=seed)
    usage = demo_usage(time.time() if now is None else now, seed=seed)
    repos = RepoWorld(seed=seed, entities={"org": {DEMO_ORG}, "enterprise": {DEMO_ENTERPRISE}})
    reports = UsageReports(usage, f"http://{DEMO_DOWNLOAD_HOST}")
    github.usage = RepoReports(repos, f"http://{DEMO_DOWNLOAD_HOST}", reports)
    return HostRouter(github, {DEMO_DOWNLOAD_HOST: RepoDownloads(repos, DemoDownloads(usage))})
