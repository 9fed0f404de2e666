"""Reading GitHub's answers: error bodies, rate-limit headers, ``Retry-After``, and parsed bodies.

The ``json_*`` checks are the one way a parser asks "is this field what the schema says": each returns
the value or raises :class:`~exporter.errors.MalformedResponseError` as ``WHERE.KEY: expected WHAT, got
VALUE`` (``WHERE`` alone for a whole value), with the value cut short and strings made safe to keep.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable, Mapping, Sequence
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
    # The exact-type test first: this runs for every field of every row of a report.
    kind = type(value)
    if (
        kind is not int
        and kind is not float
        and (isinstance(value, bool) or not isinstance(value, int | float))
    ):
        raise _malformed(f"{where}.{key}", "a number", value)
    number: int | float = value
    low = -MAX_NUMBER if signed else 0
    if not low <= number <= MAX_NUMBER:  # False for NaN too
        accepted = "-2**53..2**53" if signed else "0..2**53"
        raise MalformedResponseError(f"{where}.{key}: {_brief(value)} is outside the accepted {accepted}")
    return number


def _brief(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        # Not str(value): beyond 4,300 digits Python refuses to convert it.
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    return f"{value!r:.40}"


def _malformed(where: str, expected: str, value: Any) -> MalformedResponseError:
    return MalformedResponseError(f"{where}: expected {expected}, got {_brief(value)}")


def json_count(raw: Mapping[str, Any], key: str, where: str) -> int:
    """Field ``key`` of ``raw`` as a count: 0 when absent or null, else a JSON number, rounded."""
    value = raw.get(key)
    if value is None:
        return 0
    if type(value) is int and 0 <= value <= MAX_NUMBER:
        return value
    return round(json_number(value, where, key))


def json_object(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` when it is a JSON object."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise _malformed(where, "a JSON object", value)
    return value


def json_list(value: Any, where: str) -> Sequence[Any]:
    """``value`` when it is a JSON array."""
    if type(value) is list:
        return value
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise _malformed(where, "a list", value)
    return value


def json_string(body: Mapping[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    """Field ``key`` as a string made safe to keep (:func:`~exporter.github.text.clean_text`);
    ``default`` when it is absent or null, and a required field when ``default`` is None."""
    value = body.get(key)
    if value is None and default is not None:
        return default
    return json_text(value, f"{where}.{key}")


def json_text(value: Any, where: str) -> str:
    """``value`` (an item of a list, say) as a string made safe to keep."""
    if not isinstance(value, str):
        raise _malformed(where, "a string", value)
    return clean_text(value)


def json_integer(body: Mapping[str, Any], key: str, where: str) -> int:
    """Field ``key`` as a JSON integer (an id, a count, a year), from 0 to :data:`MAX_NUMBER`."""
    value = body.get(key)
    if type(value) is int and 0 <= value <= MAX_NUMBER:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(f"{where}.{key}", "an integer", value)
    return int(json_number(value, where, key))


def json_optional_integer(body: Mapping[str, Any], key: str, where: str) -> int | None:
    """As :func:`json_integer`, None when the field is absent or null."""
    return None if body.get(key) is None else json_integer(body, key, where)


def json_boolean(body: Mapping[str, Any], key: str, where: str, *, default: bool | None = None) -> bool:
    """Field ``key`` as true or false; ``default`` when absent or null, required when it is None."""
    value = body.get(key)
    if value is True or value is False:
        return value
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise _malformed(f"{where}.{key}", "true or false", value)
    return value


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
