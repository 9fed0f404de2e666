"""What only the test fake knows: faults, GitHub Apps and their tokens, recorded requests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exporter.demo.fake_model import FakeEnterprise, FakeOrg, FakeSeat

__all__ = ["FakeApp", "FakeEnterprise", "FakeOrg", "FakeSeat", "Fault", "IssuedToken", "RecordedRequest"]


@dataclass
class Fault:
    """Make matching requests misbehave.

    ``path`` is a regular expression searched in the request path; ``page`` limits it to one page of a
    list. ``times`` is how many requests it affects (None: all). It answers ``status`` with ``body``
    (a JSON-able object, or ``bytes`` sent as they are) and ``headers``; or, with ``delay``, sleeps
    before answering normally; or, with ``mutate``, answers normally with a changed JSON body.
    """

    path: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    page: int | None = None
    delay: float = 0.0
    mutate: Callable[[Any], Any] | None = None

    def matches(self, path: str, page: int) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return re.search(self.path, path) is not None and (self.page is None or self.page == page)


@dataclass
class FakeApp:
    """A GitHub App: its id, the public half of its key, and where it is installed.

    ``installations`` maps an installation id to the organization login or enterprise slug it is
    installed on; its tokens only open that account's endpoints.
    """

    app_id: int
    public_key_pem: str
    installations: dict[int, str] = field(default_factory=dict)
    #: Installations on enterprises (the rest are on organizations).
    enterprise_installations: set[int] = field(default_factory=set)
    token_lifetime: float = 3600.0
    #: ``organization_copilot_seat_management``: "read", or "write" for an app that may remove seats.
    seat_permission: str = "read"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    installation_id: int
    expires_at: float
    app_id: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int
