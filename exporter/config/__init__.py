"""The exporter's configuration: typed, validated, immutable objects from flags, file and environment."""

from exporter.config.durations import format_duration, parse_duration, parse_poll_interval
from exporter.config.loader import build_config, load_file
from exporter.config.model import (
    ActivityWindow,
    Config,
    ReclaimConfig,
    SeatMetricsMode,
    Secret,
    Target,
    TargetKind,
)
from exporter.config.sections import Given, Section, section_of
from exporter.config.values import parse_listen_address
from exporter.config.web import WebConfig, load_web_config

__all__ = [
    "ActivityWindow",
    "Config",
    "Given",
    "ReclaimConfig",
    "SeatMetricsMode",
    "Secret",
    "Section",
    "Target",
    "TargetKind",
    "WebConfig",
    "build_config",
    "format_duration",
    "load_file",
    "load_web_config",
    "parse_duration",
    "parse_listen_address",
    "parse_poll_interval",
    "section_of",
]
