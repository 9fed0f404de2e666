"""Copilot seats: who holds a licence, when they last used it, what it costs."""

from exporter.sources.seats.source import SeatSource

__all__ = ["SeatSource"]
