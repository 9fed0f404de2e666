"""The serving exporter: state, poller, collectors and the web app over the sources, under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from uvicorn.protocols.http.h11_impl import H11Protocol

from exporter.collector import SourcesCollector
from exporter.config import Config
from exporter.github.client import GitHubClient
from exporter.health import HealthCollector
from exporter.poller import Poller
from exporter.reclaim.metrics import ReclaimCollector
from exporter.reclaim.served import ServedReclaim
from exporter.sources.base import Source
from exporter.state import ExporterState
from exporter.web.app import ExporterApp
from exporter.web.asgi import ASGIApp
from exporter.web.connections import MAX_INCOMPLETE_HEADERS, ConnectionGuard, SchemeFilter, listener_limits
from exporter.web.guarded_app import GuardedApp
from exporter.web.security import SecuredApp
from exporter.wiring import build_sources, readiness_gates, specs

WEB_CONFIG_CHECK_SECONDS = 5.0


class Exporter:
    def __init__(
        self,
        config: Config,
        client: GitHubClient,
        sources: Sequence[Source[Any]] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock``: the wall clock of polls and scrapes (idle times, the report day, the billing
        month); in-process tests pass a fixed one."""
        self.config = config
        self.client = client
        self.sources = list(sources) if sources is not None else build_sources(config, client, clock=clock)
        pairs = [(s.name, t) for s in self.sources for t in s.targets]
        self.state = ExporterState(pairs, gates=readiness_gates())
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SourcesCollector(self.sources, self.state, clock=clock))
        self.registry.register(HealthCollector(self.state, client.stats))
        #: The reclaim selection of the served snapshots, for its metrics and /reclaim.csv alike.
        self.reclaim = ServedReclaim(config, self.state)
        self.registry.register(ReclaimCollector(self.reclaim))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.poller = Poller(self.sources, self.state, clock=clock)
        self.app = ExporterApp(config, self.state, self.registry, self.sources, self.reclaim, specs())
        web = config.web_config
        #: What uvicorn serves: the app behind basic auth and extra headers when a web config asks.
        self.secured = SecuredApp(self.app, web) if web is not None else None
        inner: ASGIApp = self.secured if self.secured is not None else self.app
        #: TLS, phase deadlines and a connection cap around uvicorn's own HTTP/1.1 protocol. The web
        #: config's TLS settings (minimum version, client CAs) need a whole SSLContext, which the web
        #: config watcher also updates in place when certificates rotate.
        max_connections, self._backlog = listener_limits()
        self.connections = ConnectionGuard(
            H11Protocol,
            max_connections=max_connections,
            header_timeout=config.web_read_header_timeout,
            write_timeout=config.web_write_timeout,
            tls=self.secured.context if self.secured is not None else None,
        )
        self.asgi: ASGIApp = GuardedApp(inner, self.connections)

    def uvicorn_config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.asgi,
            host=self.config.listen_host,
            port=self.config.listen_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            http=self.connections.protocol_class(),
            backlog=self._backlog,
            h11_max_incomplete_event_size=MAX_INCOMPLETE_HEADERS,
            # No ssl here: the connection guard does the handshake, so that it times it from accept.
        )

    async def run(self) -> None:
        """Serve HTTP and poll on schedule until SIGTERM or SIGINT."""
        server = uvicorn.Server(self.uvicorn_config())
        filters = [
            (logging.getLogger("asyncio"), self.connections.accept_errors),
            (logging.getLogger("uvicorn.error"), self.connections.invalid_requests),
        ]
        if self.connections.tls is not None:
            filters.append((logging.getLogger("uvicorn.error"), SchemeFilter()))
        for logger, log_filter in filters:
            logger.addFilter(log_filter)
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
            for logger, log_filter in filters:
                logger.removeFilter(log_filter)

    @staticmethod
    async def _watch_web_config(secured: SecuredApp) -> None:
        # Requests check too, but a certificate that expired lets no request through to do it.
        while True:
            await asyncio.sleep(WEB_CONFIG_CHECK_SECONDS)
            secured.maybe_reload()
