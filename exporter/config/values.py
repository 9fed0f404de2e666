"""Parsers of single configuration values: each checks one value and names its key when it refuses it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from exporter.config.model import Enabled, Secret
from exporter.config.quoting import shown, shown_path
from exporter.errors import ConfigError

_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


def section(data: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    value = data.get(name, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a mapping with keys {', '.join(allowed)}")
    for key in value:
        if key not in allowed:
            raise ConfigError(f"{name}.{key}", f"unknown key; expected one of {', '.join(allowed)}")
    return value


def string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, f"must be a non-empty string, got {shown(value)}")
    return value.strip()


def names(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(key, "must be a list of names")
    names = []
    for item in value:
        name = string(item, key)
        if not _NAME_RE.match(name):
            raise ConfigError(key, f"{shown(name)} is not a valid GitHub organization or enterprise name")
        names.append(name)
    return names


def parse_listen_address(value: str, key: str = "web.listen_address") -> tuple[str, int]:
    text = string(value, key)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(key, f"{shown(text)} must be HOST:PORT or :PORT, e.g. :9185")
    host = host.strip("[]")
    return (host or "0.0.0.0"), int(port_text)


def api_url(value: Any, key: str) -> str:
    url = string(value, key).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(key, f"{shown(url)} must be an http(s) URL such as https://api.github.com")
    return url


def whole(value: Any, key: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (booleans are not numbers here, as YAML would have them).
    The refusal names the key and the range, never the value: it may be a secret under a wrong key."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, f"must be a whole number from {low} to {high}")
    return value


def choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    text = string(value, key).lower()
    if text == "warning":
        text = "warn"
    if text not in choices:
        raise ConfigError(key, f"{shown(value)} is not one of {', '.join(choices)}")
    return text


def enabled(value: Any, key: str) -> Enabled:
    """An ``enabled`` key, ``auto``, ``true`` or ``false``: YAML reads an unquoted true/false as a boolean."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return Enabled(choice(value, key, tuple(Enabled)))


def read_token_file(path: Path) -> Secret:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("github.token_file", f"cannot read {shown_path(path)}: {exc.strerror}") from None
    if not token:
        raise ConfigError("github.token_file", f"{shown_path(path)} is empty")
    return Secret(token)


def positive_id(value: Any, key: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(key, f"must be a positive whole number, got {shown(value)}")
    return value


def read_private_key(path: Path) -> Secret:
    key = "github.app_private_key_file"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {shown_path(path)}: {exc.strerror}") from None
    try:
        loaded = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # Never quote the file: it may be a key in another format.
        raise ConfigError(key, f"{shown_path(path)} is not an unencrypted PEM private key") from None
    if not isinstance(loaded, RSAPrivateKey):
        raise ConfigError(key, f"{shown_path(path)} is not an RSA key; GitHub Apps sign with RS256")
    return Secret(data.decode("ascii", errors="replace"))
