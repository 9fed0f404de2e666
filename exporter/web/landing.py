"""The landing page: what the exporter serves, and how the last poll of each source and target went."""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from typing import Any

from exporter import __version__
from exporter.config import Config, format_duration
from exporter.github.text import clean_text
from exporter.logs import redact
from exporter.sources.base import Source
from exporter.state import ExporterState, TargetStatus

#: Error messages quote GitHub; a page is no place for a whole answer.
MAX_MESSAGE = 300


def _result(status: TargetStatus) -> str:
    if status.polls == 0:
        return "waiting for the first poll"
    if status.up:
        return "ok"
    # GitHub's error text may echo a request header: mask every known credential, as the log does.
    message = redact(status.error_message)
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return f"failed: {clean_text(message, max_chars=MAX_MESSAGE + 1)}"


def landing_page(
    config: Config, state: ExporterState, sources: Mapping[str, Source[Any]], links: str = ""
) -> str:
    """The page; ``links`` is the HTML the sources add to the line of links (the seat report's)."""
    now = time.time()
    rows = []
    for status in state.statuses.values():
        source = sources.get(status.source)
        data = (
            source.describe_snapshot(status.snapshot)
            if source is not None and status.snapshot is not None
            else "-"
        )
        age = (
            f"{format_duration(round(now - status.last_success_at))} ago"
            if status.last_success_at is not None
            else "never"
        )
        cells = (status.source, status.target.kind, status.target.name, data, age, _result(status))
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    schedule = ", ".join(
        f"{name} every {format_duration(source.interval)}" for name, source in sources.items()
    )
    path = html.escape(config.telemetry_path)
    mode = " (demo data)" if config.demo else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>GitHub Copilot Exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:left}}</style></head>
<body><h1>GitHub Copilot Exporter</h1>
<p>Version {html.escape(__version__)}{mode}. Polls {html.escape(schedule)}.</p>
<p><a href="{path}">Metrics</a> &middot; <a href="/healthz">Health</a> &middot;
<a href="/readyz">Readiness</a>{links}</p>
<table><tr><th>Source</th><th>Kind</th><th>Target</th><th>Data</th><th>Last success</th>
<th>Last poll</th></tr>
{"".join(rows)}
</table></body></html>
"""
