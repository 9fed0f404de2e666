"""``reclaim:``: the policy of ``reclaim plan`` and the write credential of ``reclaim apply``.

Errors name the key and what is expected, never the value given: an allowlist or a path may be
anything a person pasted, a token among them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exporter.config import values
from exporter.config.durations import parse_duration
from exporter.config.model import ReclaimConfig
from exporter.errors import ConfigError

RECLAIM_KEYS = (
    "idle_days",
    "grace_days",
    "never_used",
    "allowlist",
    "max_removals",
    "min_plan_age",
    "token_file",
    "app_id",
    "app_private_key_file",
    "app_installation_id",
    "batch_size",
    "batch_pause",
)
ALLOWLIST_KEYS = ("logins", "teams")
#: GitHub logins and team slugs: letters, digits, hyphens (slugs also underscores and dots).
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
MAX_PLAN_AGE = 90 * 86400.0


def _whole(section: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    return values.whole(section.get(key, default), f"reclaim.{key}", low, high)


def _names(value: Any, key: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ConfigError(key, "must be a list of names")
    out = set()
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _NAME.fullmatch(item.strip()):
            raise ConfigError(key, f"entry {index + 1} is not a GitHub login or team slug")
        out.add(item.strip().lower())
    return frozenset(out)


def _path(section: Mapping[str, Any], key: str) -> Path | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"reclaim.{key}", "must be the path of a file")
    return Path(value.strip())


def _id(section: Mapping[str, Any], key: str) -> int | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"reclaim.{key}", "must be a positive whole number")
    return value


def _seconds(section: Mapping[str, Any], key: str, default: str, high: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"reclaim.{key}", "must be a duration such as 0s, 30m or 7d")
    try:
        seconds = parse_duration(str(value), f"reclaim.{key}")
    except ConfigError:
        raise ConfigError(f"reclaim.{key}", "must be a duration such as 0s, 30m or 7d") from None
    if not 0 <= seconds <= high:
        raise ConfigError(f"reclaim.{key}", "is out of range")
    return seconds


def parse_reclaim(section: Mapping[str, Any]) -> ReclaimConfig:
    default = ReclaimConfig()
    never_used = section.get("never_used", default.never_used)
    if not isinstance(never_used, bool):
        raise ConfigError("reclaim.never_used", "must be true or false")
    allowlist = section.get("allowlist") or {}
    if not isinstance(allowlist, Mapping):
        raise ConfigError("reclaim.allowlist", "must be a mapping with keys logins and teams")
    for key in allowlist:
        if key not in ALLOWLIST_KEYS:
            raise ConfigError(f"reclaim.allowlist.{key}", "unknown key; expected one of logins, teams")
    app_id = _id(section, "app_id")
    key_file = _path(section, "app_private_key_file")
    installation = _id(section, "app_installation_id")
    token_file = _path(section, "token_file")
    if app_id is None and (key_file is not None or installation is not None):
        raise ConfigError("reclaim.app_id", "a GitHub App for writes needs the app id as well")
    if app_id is not None and key_file is None:
        raise ConfigError("reclaim.app_private_key_file", "a GitHub App for writes needs its private key")
    if app_id is not None and token_file is not None:
        raise ConfigError("reclaim.token_file", "give a write token file or a GitHub App, not both")
    return ReclaimConfig(
        idle_days=_whole(section, "idle_days", default.idle_days, 1, 3650),
        grace_days=_whole(section, "grace_days", default.grace_days, 0, 3650),
        never_used=never_used,
        allow_logins=_names(allowlist.get("logins"), "reclaim.allowlist.logins"),
        allow_teams=_names(allowlist.get("teams"), "reclaim.allowlist.teams"),
        max_removals=_whole(section, "max_removals", default.max_removals, 1, 10_000),
        min_plan_age=_seconds(section, "min_plan_age", "0s", MAX_PLAN_AGE),
        token_file=token_file,
        app_id=app_id,
        app_private_key_file=key_file,
        app_installation_id=installation,
        batch_size=_whole(section, "batch_size", default.batch_size, 1, 100),
        batch_pause=_seconds(section, "batch_pause", "1s", 3600.0),
    )
