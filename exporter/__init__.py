"""Prometheus exporter for GitHub Copilot seats."""

__version__ = "0.1.0"
#: The command's name, as ``--help``, ``--version`` and every message on standard error show it.
PROG = "github-copilot-exporter"
