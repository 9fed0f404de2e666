"""The users and user-teams reports read in runs of lines, each parsed here or in a worker process.

With workers, a run is parsed there while the next lines download, at most two runs per worker wait
(besides the one just read), and the parts are added to the aggregator in the order of the reports,
so the snapshot is the one the lines parsed one by one give. The user-teams report downloads while
the last runs of the users report are still parsed; the day is complete once every part is added.

Errors are the ones of the lines parsed one by one, too: the first bad run in the order of the
reports is the error, and should a download fail, the lines read before the failure are parsed first,
so that a bad line among them is the error rather than the failure after it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Protocol

from exporter.sources.usage.aggregate import UsageAggregator
from exporter.sources.usage.model import ReportLinks
from exporter.sources.usage.parts import parse_team_lines, parse_user_lines
from exporter.workers import WorkerPool

#: Lines parsed as one run in a worker: a few megabytes of a users report, and a part small to send back.
RUN_LINES = 1000
#: Lines parsed as one run in this process: the event loop (serving scrapes, in the exporter) waits
#: for a run, a few milliseconds at most.
HERE_RUN_LINES = 100
#: Where the lines are downloaded from (the endpoint label of the client's metrics).
ENDPOINT_DOWNLOAD = "usage report download"


class LinesClient(Protocol):
    def download_lines(self, url: str, endpoint: str, *, max_bytes: int) -> AsyncIterator[bytes]: ...


class RunReader:
    """Reads reports' lines into ``aggregator`` in runs; :meth:`added` waits for the last parts."""

    def __init__(
        self, client: LinesClient, aggregator: UsageAggregator, workers: WorkerPool | None, *, max_bytes: int
    ) -> None:
        self.client = client
        self.aggregator = aggregator
        self.workers = workers
        self.max_bytes = max_bytes
        #: Runs being parsed in workers, in the order of the reports, with what adds each part.
        self._waiting: deque[tuple[Callable[[Any], None], asyncio.Future[Any]]] = deque()
        self._most = 0 if workers is None else 2 * workers.size
        self._run_lines = RUN_LINES if workers is not None else min(RUN_LINES, HERE_RUN_LINES)

    async def read(self, links: ReportLinks, report: str) -> None:
        """Every line of every file of ``report`` (``users`` or ``user-teams``) read and parsed or sent."""
        lines: list[bytes] = []
        download = self._lines(links)
        try:
            while True:
                try:
                    line = await anext(download)
                except StopAsyncIteration:
                    break
                except Exception:
                    self._parse(report, lines)
                    await self.added()
                    raise
                lines.append(line)
                if len(lines) == self._run_lines:
                    self._parse(report, lines)
                    lines = []
                    while len(self._waiting) > self._most:
                        await self._add_first()
        finally:
            await download.aclose()
        self._parse(report, lines)

    async def added(self) -> None:
        """Every part sent to the workers added, in order; the first that failed raises its error."""
        while self._waiting:
            await self._add_first()

    def abandon(self) -> None:
        """Forget the runs not added (after an error): their outcome no longer matters."""
        for _, left in self._waiting:
            if not left.done():
                left.cancel()
            elif not left.cancelled():
                left.exception()
        self._waiting.clear()

    async def _add_first(self) -> None:
        add, part = self._waiting[0]
        found = await part
        self._waiting.popleft()
        add(found)

    def _parse(self, report: str, lines: list[bytes]) -> None:
        if not lines:
            return
        aggregator = self.aggregator
        if report == "users":
            parse: Callable[..., Any] = parse_user_lines
            add: Callable[[Any], None] = aggregator.add_users
        else:
            parse, add = parse_team_lines, aggregator.add_teams
        start = aggregator.reserve(report, lines)
        args = (aggregator.day, lines, start, aggregator.max_records)
        if self.workers is None:
            add(parse(*args))
        else:
            self._waiting.append((add, asyncio.ensure_future(self.workers.run(parse, *args))))

    async def _lines(self, links: ReportLinks) -> AsyncGenerator[bytes, None]:
        for link in links.links:
            lines = self.client.download_lines(link, ENDPOINT_DOWNLOAD, max_bytes=self.max_bytes)
            async for line in lines:
                yield line
