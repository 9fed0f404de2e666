"""The secrets to mask: a registry every layer may add to, and the masking the log and pages apply.

It sits below the GitHub client, which registers each token it obtains before using it, and below
:mod:`exporter.logs`, whose handler masks every line with :func:`redact` as a last line of defence.
"""

from __future__ import annotations

import re
import threading
from collections import deque

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
