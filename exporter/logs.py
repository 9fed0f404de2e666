"""Structured logging in the two formats Go exporters offer: logfmt and JSON.

Fields passed with ``extra={...}`` become key/value pairs. Any known secret is masked in the final
line as a last line of defence; the code never logs one on purpose.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured duplicate of msg
}
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
        "level": _LEVEL_NAMES.get(record.levelno, record.levelname.lower()),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key not in _RESERVED and not key.startswith("_"):
            fields[key] = value
    if record.exc_info and record.exc_info[0] is not None:
        fields["exception"] = logging.Formatter().formatException(record.exc_info)
    return fields


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' ="\n\t\\'):
        return json.dumps(text)
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


# Credentials known only at run time. Configured ones (a static token, an app's private key) stay
# masked for good; short-lived ones (installation tokens, JWTs) only while recent: months of hourly
# tokens must not pile up.
_permanent_secrets: set[str] = set()
_recent_secrets: deque[str] = deque(maxlen=64)
#: Configured secrets too short to mask wherever they occur (``GITHUB_TOKEN=x`` would mask every x):
#: masked only where they stand as a whole word.
_short_secrets: set[str] = set()
_secrets_lock = threading.Lock()

#: Secrets at least this long are masked wherever they occur; shorter ones only as whole words.
MIN_SUBSTRING_SECRET = 16
_WORD = r"[A-Za-z0-9_-]"


def register_secret(secret: str, *, permanent: bool = False) -> None:
    """Mask ``secret`` (and each line of a multi-line one, such as a PEM key) in logs and on pages."""
    parts = [secret, *(line.strip() for line in secret.splitlines())]
    with _secrets_lock:
        if permanent and 0 < len(secret.strip()) < MIN_SUBSTRING_SECRET and "\n" not in secret:
            _short_secrets.add(secret.strip())
        for part in parts:
            # Short fragments (PEM armour, blank lines) are not secret and would mangle ordinary text.
            if len(part) < MIN_SUBSTRING_SECRET or part.startswith("-----") or part in _permanent_secrets:
                continue
            if permanent:
                _permanent_secrets.add(part)
            elif part not in _recent_secrets:
                _recent_secrets.append(part)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``********``."""
    with _secrets_lock:
        known = [*_permanent_secrets, *_recent_secrets]
        short = sorted(_short_secrets, key=len, reverse=True)
    # Longest first, so that a secret containing another is masked whole.
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, "********")
    if short:
        words = "|".join(re.escape(secret) for secret in short)
        text = re.sub(f"(?<!{_WORD})(?:{words})(?!{_WORD})", "********", text)
    return text


class RedactingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str, fmt: str, secrets: Iterable[str] = ()) -> RedactingHandler:
    for secret in secrets:
        if secret:
            register_secret(secret, permanent=True)
    handler = RedactingHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[level])
    # httpx logs every request with its whole URL, signed download links (short-lived credentials)
    # among them; the exporter logs its own requests by endpoint template instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return handler
