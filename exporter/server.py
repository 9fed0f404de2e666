"""Wiring: one client, state, poller, collector and web app, run together under uvicorn."""

from __future__ import annotations

import asyncio
import ssl

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
            server = uvicorn.Server(_TLSConfig(self.asgi, context=context, **options))
        else:
            server = uvicorn.Server(uvicorn.Config(self.asgi, **options))  # type: ignore[arg-type]
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
