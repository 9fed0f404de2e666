"""Wiring: one client, state, poller, collector and web app, run together under uvicorn."""

from __future__ import annotations

import asyncio

import uvicorn
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporter.app import ExporterApp
from exporter.collector import CopilotCollector
from exporter.config import Config
from exporter.github import GitHubClient
from exporter.poller import Poller
from exporter.state import ExporterState


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

    async def run(self) -> None:
        """Serve HTTP and poll on schedule until SIGTERM or SIGINT."""
        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=self.config.listen_host,
                port=self.config.listen_port,
                log_config=None,
                access_log=False,
                lifespan="off",
                server_header=False,
            )
        )
        poll_task = asyncio.create_task(self.poller.run(), name="poller")
        try:
            await server.serve()
        finally:
            poll_task.cancel()
            await asyncio.gather(poll_task, return_exceptions=True)
            await self.client.aclose()
