"""Prometheus exporter for GitHub Copilot: seats, billing (spend, AI credits, budgets) and usage reports."""

__version__ = "0.1.0"
#: The command's name, as ``--help``, ``--version`` and every message on standard error show it.
PROG = "github-copilot-exporter"
