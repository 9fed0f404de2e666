"""Usage reports of one day served from recorded rows: the link answers and the download host.

Where :mod:`exporter.demo.fake_usage` draws its reports from a simulated world, this serves rows a
test read from GitHub's real answers, as they are: the report endpoints answer a recorded link answer
(its ``download_links`` pointed at this host, its ``report_day`` the served day), and the links answer
the rows as NDJSON, spread over as many files as the recorded answer has links. As on GitHub, another
day has no report: ``204`` for an organization, ``404`` for an enterprise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from exporter.web.asgi import Receive, Scope, Send, http_request
from tests.fakegithub.fake_model import RecordedRequest

#: Endpoint name -> report, per target kind.
REPORTS = {
    "orgs": {"organization-1-day": "entity", "users-1-day": "users", "user-teams-1-day": "user_teams"},
    "enterprises": {"enterprise-1-day": "entity", "users-1-day": "users", "user-teams-1-day": "user_teams"},
}
REPORT_PATH = re.compile(r"^/(orgs|enterprises)/([^/]+)/copilot/metrics/reports/([a-z0-9-]+)$")
FILE_PATH = re.compile(r"^/recorded/(org|enterprise)/([^/]+)/(entity|users|user_teams)/part-(\d+)\.ndjson$")
#: GitHub's documented link answer, one link: the shape when a test gives none.
ONE_LINK = {"download_links": ["https://example.com/report.ndjson"], "report_day": "2025-07-01"}


@dataclass
class RecordedReports:
    day: date
    #: (kind, name, report) -> the rows of that report, each one NDJSON line.
    rows: dict[tuple[str, str, str], list[dict[str, Any]]]
    #: A recorded link answer: served with its links replaced, as many as it has.
    links: Mapping[str, Any] = field(default_factory=lambda: dict(ONE_LINK))
    #: Where this app is served (another origin than the API, as on GitHub).
    download_base: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)

    def route(self, path: str, params: Mapping[str, str], now: float, base: str) -> tuple[int, Any] | None:
        """What the fake GitHub answers a report endpoint (``now`` unused)."""
        match = REPORT_PATH.match(path)
        if match is None or match[3] not in REPORTS[match[1]]:
            return None
        kind = "org" if match[1] == "orgs" else "enterprise"
        key = (kind, match[2].lower(), REPORTS[match[1]][match[3]])
        if params.get("day") != self.day.isoformat() or key not in self.rows:
            missing = {"message": "No report for this day", "status": "404"}
            return (204, None) if kind == "org" else (404, missing)
        count = max(1, len(self.links.get("download_links", [])))
        origin = (self.download_base or base).rstrip("/")
        files = [f"{origin}/recorded/{kind}/{key[1]}/{key[2]}/part-{n}.ndjson" for n in range(count)]
        return 200, {**self.links, "download_links": files, "report_day": self.day.isoformat()}

    def file(self, path: str) -> bytes | None:
        match = FILE_PATH.match(path)
        if match is None or (key := (match[1], match[2], match[3])) not in self.rows:
            return None
        rows = self.rows[key]
        count = max(1, len(self.links.get("download_links", [])))
        part = int(match[4])
        return (
            b"".join(json.dumps(row).encode() + b"\n" for row in rows[part::count]) if part < count else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = await http_request(scope, receive, send)
        if request is None:
            return
        body = self.file(request.path)
        status = 200 if body is not None else 404
        self.requests.append(RecordedRequest(request.method, request.path, "", request.headers, status))
        content_type = b"application/x-ndjson" if body is not None else b"application/xml"
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]}
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"<Error><Code>BlobNotFound</Code></Error>" if body is None else body,
            }
        )
