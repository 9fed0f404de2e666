"""Reading GitHub's answers: error bodies, rate-limit headers, ``Retry-After``, and parsed bodies."""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from exporter.errors import (
    AuthenticationError,
    CopilotUnavailableError,
    GitHubError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    UnexpectedStatusError,
)
from exporter.github.stats import RateLimit
from exporter.github.text import clean_text

log = logging.getLogger("exporter.github")

T = TypeVar("T")

#: The range of every number taken from a GitHub answer (counts, amounts, quantities, prices): at most
#: 2**53 in size, the largest integer a float64 (a Prometheus sample) holds exactly, counts from 0. A
#: JSON integer of 400 digits or ``1e308`` is valid JSON but no real figure; bounding every input also
#: keeps every sum the exporter makes (at most a report's records, bounded too) far from overflowing.
MAX_NUMBER = 2**53


def json_number(value: Any, where: str, key: str, *, signed: bool = False) -> int | float:
    """``value`` (field ``key`` of the object at ``where``) when it is a JSON number within
    :data:`MAX_NUMBER`, and not negative unless ``signed``.

    Anything else, ``NaN`` and infinities included, is a :class:`MalformedResponseError` naming the
    field. An int stays an int, so counts stay exact.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedResponseError(f"{where}.{key}: expected a number, got {_brief(value)}")
    low = -MAX_NUMBER if signed else 0
    if not low <= value <= MAX_NUMBER:  # False for NaN too
        accepted = "-2**53..2**53" if signed else "0..2**53"
        raise MalformedResponseError(f"{where}.{key}: {_brief(value)} is outside the accepted {accepted}")
    return value


def _brief(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        # Not str(value): beyond 4,300 digits Python refuses to convert it.
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    return f"{value!r:.40}"


def int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def github_message(content: bytes) -> str:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return clean_text(message, max_chars=200) if isinstance(message, str) else ""


def error_for(status: int, message: str, url: str, endpoint: str, retry_after: float | None) -> GitHubError:
    """The exception for an answer other than 200/204/304; ``retry_after`` set when it is a rate limit."""
    said = f": {message}" if message else ""
    if retry_after is not None:
        return RateLimitedError(
            f"{endpoint}: rate limited ({status}){said}", retry_after=retry_after, status=status, url=url
        )
    errors: Mapping[int, type[GitHubError]] = {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        422: CopilotUnavailableError,
    }
    if status in errors:
        return errors[status](f"{endpoint}: {status}{said}", status=status, url=url)
    if status >= 500:
        return ServerError(f"{endpoint}: {status}{said}", status=status, url=url)
    if 300 <= status < 400:
        # Redirects are not followed: the token must not travel to wherever Location points.
        return UnexpectedStatusError(
            f"{endpoint}: redirected ({status}); not followed", status=status, url=url
        )
    return UnexpectedStatusError(f"{endpoint}: unexpected status {status}{said}", status=status, url=url)


def rate_limit_reading(headers: httpx.Headers) -> tuple[str, RateLimit] | None:
    """The ``x-ratelimit-*`` headers of an answer: the resource and its reading, if all are there."""
    limit = int_header(headers, "x-ratelimit-limit")
    remaining = int_header(headers, "x-ratelimit-remaining")
    reset = int_header(headers, "x-ratelimit-reset")
    if limit is None or remaining is None or reset is None:
        return None
    used = int_header(headers, "x-ratelimit-used")
    resource = headers.get("x-ratelimit-resource", "core")[:40]
    return resource, RateLimit(limit, remaining, used or limit - remaining, float(reset))


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def parse_body(parse: Callable[[Any], T], body: Any, endpoint: str) -> T:
    """``parse(body)``, with any surprise in the body reported as a malformed answer.

    The parsers reject what they anticipate with MalformedResponseError; this boundary makes sure that
    a shape nobody anticipated (an unhashable plan type, say) also fails the poll as
    ``malformed_response`` rather than as an internal error.
    """
    try:
        return parse(body)
    except GitHubError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        log.debug("unexpected answer shape", exc_info=True, extra={"endpoint": endpoint})
        raise MalformedResponseError(f"{endpoint}: unexpected answer shape ({type(exc).__name__})") from None
