"""Writes to GitHub, for ``reclaim apply``: the read client's bounds, with the write credential.

A write goes out through the read client's HTTP client (redirects never followed, the same
timeouts), its request pacer and statistics, only to the configured API origin, and its answer is
read within the same size bound; what differs is the token, which is never the read token. A write
is never retried: a failure stops the caller, which records what was done.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from exporter.errors import MalformedResponseError, RequestTimeoutError, TransportError
from exporter.github.answers import error_for, github_message
from exporter.github.auth import TokenSource
from exporter.github.bodies import ACCEPT_ENCODING, BodyError, read_body
from exporter.github.client import MAX_JSON_BYTES, GitHubClient

ENDPOINT_SELECTED_USERS = "/orgs/{org}/copilot/billing/selected_users"


class GitHubWriter:
    def __init__(self, client: GitHubClient, token: TokenSource) -> None:
        self.client = client
        self._token = token

    async def aclose(self) -> None:
        close = getattr(self._token, "aclose", None)
        if close is not None:
            await close()

    async def send(self, method: str, path: str, body: Any, endpoint: str) -> tuple[int, Any]:
        """Send one JSON request; the status and parsed body of a 2xx answer, else a GitHubError."""
        url = f"{self.client.api_url}{path}"
        if not self.client.may_send_token(url):
            raise MalformedResponseError(f"{endpoint}: refusing to send the token outside the API")
        headers = {"Content-Type": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
        token = await self._token.token(url)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode()
        stats = self.client.stats
        try:
            async with self.client.pacer.slot():
                request = self.client.http.build_request(method, url, headers=headers, content=payload)
                response = await self.client.http.send(request, stream=True)
                try:
                    content = await read_body(response, MAX_JSON_BYTES)
                except BodyError as exc:
                    stats.count(endpoint, str(response.status_code))
                    raise MalformedResponseError(f"{endpoint}: {exc}", status=response.status_code) from None
                finally:
                    await response.aclose()
        except httpx.TimeoutException:
            stats.count(endpoint, "error")
            raise RequestTimeoutError(f"{endpoint}: request timed out", url=url) from None
        except httpx.HTTPError as exc:
            stats.count(endpoint, "error")
            raise TransportError(f"{endpoint}: {type(exc).__name__}", url=url) from None
        stats.count(endpoint, str(response.status_code))
        if not 200 <= response.status_code < 300:
            if response.status_code == 401 and token:
                self._token.invalidate(token)
            raise error_for(response.status_code, github_message(content), url, endpoint, None)
        try:
            return response.status_code, json.loads(content) if content else None
        except (ValueError, RecursionError):
            raise MalformedResponseError(f"{endpoint}: answer is not JSON", status=200, url=url) from None

    async def remove_users(self, org: str, logins: list[str]) -> int:
        """``DELETE …/selected_users``: the seats GitHub set pending cancellation (``seats_cancelled``)."""
        _, answer = await self.send(
            "DELETE",
            f"/orgs/{org}/copilot/billing/selected_users",
            {"selected_usernames": logins},
            ENDPOINT_SELECTED_USERS,
        )
        cancelled = answer.get("seats_cancelled") if isinstance(answer, dict) else None
        if isinstance(cancelled, bool) or not isinstance(cancelled, int):
            raise MalformedResponseError(f"{ENDPOINT_SELECTED_USERS}: answer has no seats_cancelled count")
        return cancelled
