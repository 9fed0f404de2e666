"""Prometheus exporter for GitHub Copilot seats."""

__version__ = "0.1.0"
