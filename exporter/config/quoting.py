"""Quoting configured values in error messages without ever echoing a secret placed under a wrong key.

A token pasted under ``github.api_url`` or ``github.token_file`` must not end up on stderr, in a CI log
or in a support ticket. Every secret the exporter accepts has at least 16 characters and GitHub's
tokens contain no ``/``, so shorter values and absolute or explicitly relative paths are quoted (they
are what an operator needs to see to fix a typo), and anything else is only described.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The shortest secret the exporter accepts (the hash key); GitHub's tokens are far longer.
SHORTEST_SECRET = 16
MAX_QUOTED_PATH = 256
_PATH_STARTS = ("/", "./", "../", "~/")


def shown(value: Any) -> str:
    """``value`` as an error message may show it: quoted when it cannot be a secret, else described."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        if len(value) < SHORTEST_SECRET and value.isprintable():
            return repr(value)
        return f"a value of {len(value)} characters (not shown: it could be a secret)"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a value of type {type(value).__name__}"


def shown_path(path: Path | str) -> str:
    """A file path for an error message: quoted when it is clearly a path, else described like a value."""
    text = str(path)
    if text.startswith(_PATH_STARTS) and len(text) <= MAX_QUOTED_PATH and text.isprintable():
        return text
    return shown(text)
