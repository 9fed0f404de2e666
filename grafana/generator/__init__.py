"""The Grafana dashboards in ``grafana/dashboards/``, one module each, built from shared parts.

``panels`` builds panels and ``queries`` the PromQL they share; ``layout`` places the panels of a
dashboard's sections in rows and adds its variables and links. Every query uses the exporter's own
metrics only, so the dashboards work without recording rules.
"""

from __future__ import annotations

import json

from .health import health
from .idle import idle
from .overview import overview
from .spend import spend
from .usage import usage


def render() -> dict[str, str]:
    """File name: JSON text of every dashboard."""
    return {
        f"{d['uid']}.json": json.dumps(d, indent=2, ensure_ascii=False) + "\n"
        for d in (overview(), idle(), usage(), health(), spend())
    }
