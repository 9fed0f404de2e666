"""Prometheus exporter for GitHub Copilot: seats, billing (spend, AI credits, budgets) and usage reports."""

__version__ = "0.1.0"
