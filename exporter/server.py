"""Wiring: one client, state, poller, collector and web app, run together under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from types import FrameType

import uvicorn
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporter.app import ASGIApp, ExporterApp
from exporter.collector import CopilotCollector
from exporter.config import Config
from exporter.github import GitHubClient
from exporter.poller import Poller
from exporter.state import ExporterState
from exporter.webconfig import SecuredApp

WEB_CONFIG_CHECK_SECONDS = 5.0


class _TLSConfig(uvicorn.Config):
    """uvicorn's own TLS options cannot set a minimum TLS version: hand it a complete SSLContext."""

    def __init__(self, *args: object, context: ssl.SSLContext, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._context = context

    def load(self) -> None:
        super().load()
        self.ssl = self._context


class _Server(uvicorn.Server):
    """uvicorn's server, woken once a second between requests instead of ten times.

    uvicorn's main loop sleeps 0.1 s between checks for a shutdown request. On the benchmark machine
    each wake-up costs the process about 0.27 ms of CPU, most of it in the kernel: 2.7 ms a second,
    all day, for an exporter that is idle between polls, and a quarter of the CPU of a steady-state
    poll of 1,000 pages (docs/performance.md). The Date header changes once a second anyway, and a
    signal still ends the wait at once.
    """

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        # on_tick refreshes the Date header when the counter is a multiple of ten (once per 0.1 s tick).
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864_000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)


class Exporter:
    def __init__(self, config: Config, client: GitHubClient) -> None:
        self.config = config
        self.client = client
        self.state = ExporterState(config.targets)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(CopilotCollector(config, self.state, client.stats))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.poller = Poller(config, client, self.state)
        self.app = ExporterApp(config, self.state, self.registry)
        web = config.web_config
        #: What uvicorn serves: the app behind basic auth and extra headers when a web config asks.
        self.secured = SecuredApp(self.app, web) if web is not None else None
        self.asgi: ASGIApp = self.secured if self.secured is not None else self.app

    async def run(self) -> None:
        """Serve HTTP and poll on schedule until SIGTERM or SIGINT."""
        options = {
            "host": self.config.listen_host,
            "port": self.config.listen_port,
            "log_config": None,
            "access_log": False,
            "lifespan": "off",
            "server_header": False,
        }
        context = self.secured.context if self.secured is not None else None
        if context is not None:
            server = _Server(_TLSConfig(self.asgi, context=context, **options))
        else:
            server = _Server(uvicorn.Config(self.asgi, **options))  # type: ignore[arg-type]
        tasks = [asyncio.create_task(self.poller.run(), name="poller")]
        if self.secured is not None:
            tasks.append(asyncio.create_task(self._watch_web_config(self.secured), name="web-config"))
        try:
            await server.serve()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.client.aclose()

    @staticmethod
    async def _watch_web_config(secured: SecuredApp) -> None:
        # Requests check too, but a certificate that expired lets no request through to do it.
        while True:
            await asyncio.sleep(WEB_CONFIG_CHECK_SECONDS)
            secured.maybe_reload()
