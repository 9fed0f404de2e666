"""The exporter's configuration: typed, validated, immutable objects from flags, file and environment."""

from exporter.config.durations import format_duration, parse_duration
from exporter.config.loader import build_config, load_file
from exporter.config.model import (
    ActivityWindow,
    BillingConfig,
    Config,
    ReclaimConfig,
    Secret,
    Target,
    TargetKind,
    UsageConfig,
)
from exporter.config.values import parse_listen_address
from exporter.config.web import WebConfig, load_web_config

__all__ = [
    "ActivityWindow",
    "BillingConfig",
    "Config",
    "ReclaimConfig",
    "Secret",
    "Target",
    "TargetKind",
    "UsageConfig",
    "WebConfig",
    "build_config",
    "format_duration",
    "load_file",
    "load_web_config",
    "parse_duration",
    "parse_listen_address",
]
