"""Seat management writes of the fake GitHub: ``POST`` and ``DELETE`` on ``selected_users`` and
``selected_teams``, as GitHub's schema and documentation describe them.

A ``DELETE`` marks the seats pending cancellation at the end of the billing cycle and answers
``seats_cancelled`` (seats already pending are not counted again); a user whose seat was granted
through a team is refused with 422, as GitHub refuses it, and the whole request changes nothing.
Writes need the write token: the read token is answered 403, as a read-only token is. Every write,
refused or not, is recorded with the credential it came with.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from exporter.demo.fake_model import FakeSeat

if TYPE_CHECKING:
    from tests.fakegithub.fake_github import FakeGitHub

_PATH = re.compile(r"/orgs/([^/]+)/copilot/billing/selected_(users|teams)")
Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class RecordedWrite:
    method: str
    path: str
    org: str
    #: "write", "read" (the read token), "other" or "none".
    credential: str
    body: Any
    status: int
    answer: Any


@dataclass
class SeatWrites:
    #: The write token; None when only the write app's installation tokens may write.
    write_token: str | None
    read_token: str | None = None
    clock: Callable[[], float] = time.time
    #: Answer 500 to every write after this many answered writes (None: never).
    fail_after: int | None = None
    writes: list[RecordedWrite] = field(default_factory=list)

    def route(
        self, github: FakeGitHub, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer | None:
        match = _PATH.fullmatch(path)
        if match is None or method not in ("POST", "DELETE"):
            return None
        org_name, kind = match.group(1), match.group(2)
        credential = self._credential(github, headers.get("authorization", ""), org_name)
        parsed: Any = None
        try:
            parsed = json.loads(body or b"null")
        except ValueError:
            parsed = None
        status, answer = self._answer(github, method, org_name, kind, credential, parsed)
        self.writes.append(RecordedWrite(method, path, org_name, credential, parsed, status, answer))
        headers_out = {"content-type": "application/json; charset=utf-8"}
        return status, headers_out, json.dumps(answer).encode()

    def _credential(self, github: FakeGitHub, authorization: str, org: str) -> str:
        token = authorization.partition(" ")[2]
        if not token:
            return "none"
        if token == self.write_token:
            return "write"
        if token == self.read_token:
            return "read"
        issued = next((t for t in github.issued_tokens if t.token == token), None)
        if issued is None or issued.expires_at <= self.clock():
            return "other"
        # An installation token: of the write app, installed on this organization, it writes; of
        # any other installation it is a read-only credential, answered 403 as GitHub does.
        app = github.write_app
        if app is None or issued.app_id != app.app_id:
            return "read"
        installed_on = app.installations.get(issued.installation_id, "")
        return "write" if installed_on.lower() == org.lower() else "read"

    def _answer(
        self, github: FakeGitHub, method: str, org_name: str, kind: str, credential: str, body: Any
    ) -> tuple[int, Any]:
        if credential in ("none", "other"):
            return 401, _error("Bad credentials", 401)
        if credential == "read":
            return 403, _error("Resource not accessible by personal access token", 403)
        answered = sum(1 for w in self.writes if w.status < 300)
        if self.fail_after is not None and answered >= self.fail_after:
            return 500, _error("Internal Server Error", 500)
        org = github.orgs.get(org_name.lower())
        if org is None:
            return 404, _error("Not Found", 404)
        key = "selected_usernames" if kind == "users" else "selected_teams"
        names = body.get(key) if isinstance(body, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            return 422, _error(f"Invalid request: {key} must be a non-empty list of names", 422)
        wanted = {name.lower() for name in names}
        seats = [s for s in org.seats if (s.login if kind == "users" else (s.team or "")).lower() in wanted]
        seats += [
            s
            for ent in github.enterprises.values()
            for s in ent.seats
            if (s.org or "").lower() == org.login.lower()
            and (s.login if kind == "users" else (s.team or "")).lower() in wanted
        ]
        if kind == "users" and method == "DELETE" and any(s.team for s in seats):
            return 422, _error(
                "A user's seat cannot be cancelled because it was assigned to them via a team", 422
            )
        if method == "DELETE":
            end = self._cycle_end()
            newly = {seat.login.lower() for seat in seats if seat.pending_cancellation_date is None}
            for seat in seats:
                seat.pending_cancellation_date = seat.pending_cancellation_date or end
            return 200, {"seats_cancelled": len(newly)}
        created = 0
        for seat in seats:
            if seat.pending_cancellation_date is not None:
                seat.pending_cancellation_date = None
        if kind == "users":
            have = {s.login.lower() for s in org.seats}
            now = datetime.fromtimestamp(self.clock(), UTC)
            for name in names:
                if name.lower() not in have:
                    org.seats.append(FakeSeat(name, _user_id(name), now))
                    created += 1
        return 201, {"seats_created": created}

    def _cycle_end(self) -> date:
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def _user_id(login: str) -> int:
    return 1_000_000 + sum(ord(c) for c in login)


def _error(message: str, status: int) -> dict[str, str]:
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest/copilot/copilot-user-management",
        "status": str(status),
    }
