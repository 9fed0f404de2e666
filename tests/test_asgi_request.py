"""The shared preamble of the ASGI apps: an http scope read as one request, a lifespan scope answered."""

from __future__ import annotations

import asyncio

from exporter.web.asgi import HttpRequest, Message, http_request


def test_an_http_scope_is_decoded_as_latin_1_with_lower_cased_header_names() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/orgs/acme/copilot/billing/seats",
        "query_string": b"per_page=100&q=caf\xe9",
        "headers": [(b"Host", b"api.test"), (b"X-Name", b"caf\xe9"), (b"x-name", b"last")],
    }
    request = HttpRequest.of(scope)
    assert request == HttpRequest(
        "GET",
        "/orgs/acme/copilot/billing/seats",
        "per_page=100&q=café",
        {"host": "api.test", "x-name": "last"},
    )


def test_a_scope_without_a_query_string_has_an_empty_query() -> None:
    request = HttpRequest.of({"type": "http", "method": "HEAD", "path": "/", "headers": []})
    assert (request.method, request.query, request.headers) == ("HEAD", "", {})


def test_a_lifespan_scope_is_answered_and_gives_no_request() -> None:
    events: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return events.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    assert asyncio.run(http_request({"type": "lifespan"}, receive, send)) is None
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
