"""Lists of pages: the one pagination loop of every source, whatever client answers its requests.

GitHub's ``Link`` header names the next and the last page. With ``rel="last"`` pages 2..N are asked
for concurrently (the client paces them); without it the ``rel="next"`` chain is followed one page at a
time, and a body that says there is more (the budgets' ``has_next_page``) stands in for a missing
link. Every page must be answered, or the whole list fails; a link is followed only to another page of
the same endpoint, so the token never goes anywhere a header says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from exporter.errors import MalformedResponseError
from exporter.github.links import LinkHeaderError, page_number, parse_link_header, same_endpoint, with_page
from exporter.github.text import quoted

T = TypeVar("T")

#: The most pages a list may have: 1,000,000 seats at 100 a page.
MAX_PAGES = 10_000


class PageGetter(Protocol):
    """A client's ``get``: the parsed body of one URL and its ``Link`` header."""

    async def __call__(self, url: str, endpoint: str, parse: Callable[[Any], T], /) -> tuple[T, str]: ...


async def all_pages(
    get: PageGetter,
    first_url: str,
    endpoint: str,
    parse: Callable[[Any, int], T],
    *,
    more: Callable[[T], bool | None] | None = None,
    max_pages: int = MAX_PAGES,
    allowed: Callable[[str], bool] | None = None,
) -> list[T]:
    """Every page of the list that starts at ``first_url``, parsed with its number (1 for the first).

    ``more(page)`` says whether a page without a ``rel="next"`` link has a successor (``page=N+1``);
    ``allowed`` is a further check on every linked URL (the client's "may the token go there").
    """
    first, link = await get(first_url, endpoint, _numbered(parse, 1))
    links = _links(link, first_url, endpoint, allowed)
    last = page_number(links["last"]) if "last" in links and "next" in links else None
    if last is not None:
        if last > max_pages:
            raise MalformedResponseError(f"{endpoint}: {last} pages is more than the {max_pages} supported")
        urls = [with_page(links["next"], n) for n in range(2, last + 1)]
        rest = await _all_or_none([get(u, endpoint, _numbered(parse, n)) for n, u in enumerate(urls, 2)])
        return [first, *(page for page, _ in rest)]
    pages = [first]
    seen = {first_url}
    url = _next(links, first_url, first, more, 1)
    while url is not None:
        if url in seen or len(pages) >= max_pages:
            raise MalformedResponseError(f"{endpoint}: pagination does not end (at {len(pages)} pages)")
        seen.add(url)
        page, link = await get(url, endpoint, _numbered(parse, len(pages) + 1))
        pages.append(page)
        url = _next(_links(link, first_url, endpoint, allowed), first_url, page, more, len(pages))
    return pages


def _next(
    links: dict[str, str], first_url: str, page: T, more: Callable[[T], bool | None] | None, number: int
) -> str | None:
    if "next" in links:
        return links["next"]
    return with_page(first_url, number + 1) if more is not None and more(page) else None


def _links(
    header: str, first_url: str, endpoint: str, allowed: Callable[[str], bool] | None
) -> dict[str, str]:
    """The Link header's pages, each checked to be a page of the same list before it is requested."""
    try:
        links = parse_link_header(header)
    except LinkHeaderError as exc:
        raise MalformedResponseError(f"{endpoint}: {exc}") from None
    for rel in ("next", "last"):
        url = links.get(rel)
        if url is not None and not (same_endpoint(url, first_url) and (allowed is None or allowed(url))):
            raise MalformedResponseError(f"{endpoint}: {rel} page link {quoted(url)} leaves {first_url}")
    return links


def _numbered(parse: Callable[[Any, int], T], number: int) -> Callable[[Any], T]:
    return lambda body: parse(body, number)


async def _all_or_none(calls: list[Any]) -> list[Any]:
    """Await every call concurrently; when one fails, cancel the others (their answers are useless)."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
