"""The demo world served by the test fake, so that a test can make it misbehave and watch it."""

from __future__ import annotations

from exporter.demo.world import DEMO_ENTERPRISE, DEMO_ENTERPRISE_ORGS, DEMO_ORG, demo_accounts
from tests.fakegithub.fake_github import FakeGitHub

__all__ = ["DEMO_ENTERPRISE", "DEMO_ENTERPRISE_ORGS", "DEMO_ORG", "demo_github"]


def demo_github(now: float | None = None, *, seed: int = 2026) -> FakeGitHub:
    org, enterprise, billing = demo_accounts(now, seed=seed)
    return FakeGitHub([org], [enterprise], token=None, billing=billing)
