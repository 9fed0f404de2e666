"""The test fake's download host: the demo's, recording every request and able to misbehave.

It records every request with its headers, so that a test can prove the API token never reached it,
and can answer every download with an error or a rewritten body.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from exporter.demo.downloads import ASGI, DemoDownloads, HostRouter, UsageReports
from exporter.demo.usage_world import UsageWorld
from tests.fakegithub.fake_model import RecordedRequest

__all__ = ["ASGI", "FakeDownloads", "HostRouter", "UsageReports"]


class FakeDownloads(DemoDownloads):
    def __init__(self, world: UsageWorld, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(world, clock=clock)
        self.requests: list[RecordedRequest] = []
        #: Answer every download with this status instead (a broken blob store), when set.
        self.fail_status: int | None = None
        #: A hostile blob store, when set: the body of every successful download is what this makes of
        #: (path, body).
        self.rewrite: Callable[[str, bytes], bytes] | None = None

    @property
    def authorized_requests(self) -> list[RecordedRequest]:
        """Requests that carried an ``Authorization`` header: there must never be any."""
        return [r for r in self.requests if "authorization" in r.headers]

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        status, body = super().answer(method, path, query, headers)
        if self.fail_status is not None:
            status, body = self.fail_status, b"<Error><Code>ServerBusy</Code></Error>"
        elif status == 200 and self.rewrite is not None:
            body = self.rewrite(path, body)
        self.requests.append(RecordedRequest(method, path, query, dict(headers), status))
        return status, body
