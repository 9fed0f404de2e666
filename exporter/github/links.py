"""GitHub's ``Link`` pagination header, parsed in linear time and with a bound on its length."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: GitHub's Link headers name four URLs of a few hundred bytes at most; anything far longer is not
#: pagination, and reading it would only cost time.
MAX_LINK_HEADER = 8192


class LinkHeaderError(ValueError):
    """The header is too long or names a URL that cannot be a page of the same list."""


def parse_link_header(header: str) -> dict[str, str]:
    """``rel`` -> URL of a ``Link`` header such as ``<https://...?page=2>; rel="next", <...>; rel="last"``.

    Each comma-separated part is split once, so the time is linear in the header's length whatever it
    holds; parts that are not ``<url>; rel=...`` are ignored, as RFC 8288 asks of unknown content.
    """
    if len(header) > MAX_LINK_HEADER:
        raise LinkHeaderError(f"Link header of {len(header)} bytes is longer than {MAX_LINK_HEADER}")
    links: dict[str, str] = {}
    for part in header.split(","):
        target, _, params = part.partition(";")
        target = target.strip()
        if not (target.startswith("<") and target.endswith(">")) or len(target) < 3:
            continue
        url = target[1:-1].strip()
        if any(c in url for c in "<> \t\r\n"):
            raise LinkHeaderError("Link header names a URL with white space or angle brackets")
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "rel":
                for rel in value.strip().strip('"').split():
                    links.setdefault(rel.lower(), url)
    return links


def with_page(url: str, page: int) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(query) if k != "page"]
    return urlunsplit((scheme, netloc, path, urlencode([*params, ("page", str(page))]), fragment))


def page_number(url: str) -> int | None:
    value = dict(parse_qsl(urlsplit(url).query)).get("page")
    return int(value) if value is not None and value.isdigit() and len(value) < 9 else None


def same_endpoint(url: str, first_url: str) -> bool:
    """Whether ``url`` is another page of the list ``first_url`` starts: same scheme, host and path."""
    a, b = urlsplit(url), urlsplit(first_url)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)
