"""Strings from GitHub, made safe to keep: always encodable as UTF-8, and of bounded length.

JSON may carry lone UTF-16 surrogates (``"\\ud800"``), which Python decodes into a ``str`` that cannot
be encoded: kept as they are, one such login would make every later scrape fail while rendering. Every
string a source keeps from an answer goes through :func:`clean_text` while parsing, so that a scrape, a
log line or the landing page never fails because of data; :func:`quoted` bounds a value quoted in an
error message.
"""

from __future__ import annotations

from typing import Any

#: The longest string kept from an answer (a label value, mostly). GitHub logins have at most 39
#: characters and team slugs rarely more than a few dozen; a longer value is cut, never refused.
MAX_TEXT_CHARS = 256
#: The longest rendering of a value quoted in an error message (log lines, the landing page).
MAX_QUOTED_CHARS = 80


def clean_text(value: Any, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """``value`` if it is a string, else ``""``; lone surrogates escaped (``\\ud800``), cut at ``max_chars``.

    The escape keeps distinct strings distinct, so two malformed logins never merge into one user.
    """
    if type(value) is str and value.isascii() and len(value) <= max_chars:
        return value  # the common case, decided in C
    if not isinstance(value, str):
        return ""
    text: str = value
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= max_chars else text[:max_chars]


def quoted(value: Any, *, max_chars: int = MAX_QUOTED_CHARS) -> str:
    """``repr(value)`` for an error message, cut to ``max_chars`` (a 1 MB field is not a 1 MB log line)."""
    if isinstance(value, str) and len(value) > max_chars:
        return f"{value[:max_chars]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= max_chars else text[:max_chars] + "…"
