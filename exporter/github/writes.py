"""Writes to GitHub, for ``reclaim apply``: the read client's bounds, with the write credential.

A write goes out through the read client's HTTP client (redirects never followed, the same
timeouts), its request pacer and statistics, only to the configured API origin, and its answer is
read within the same size bound; what differs is the token, which is never the read token. A write
is never retried: a failure stops the caller, which records what was done.
"""

from __future__ import annotations

import json
from typing import Any

from exporter.errors import MalformedResponseError
from exporter.github.answers import error_for, github_message
from exporter.github.auth import TokenSource
from exporter.github.client import GitHubClient

ENDPOINT_SELECTED_USERS = "/orgs/{org}/copilot/billing/selected_users"


class GitHubWriter:
    def __init__(self, client: GitHubClient, token: TokenSource) -> None:
        self.client = client
        self._token = token
        use_sender = getattr(token, "use_sender", None)
        if use_sender is not None:
            use_sender(client.sender)

    async def aclose(self) -> None:
        close = getattr(self._token, "aclose", None)
        if close is not None:
            await close()

    async def send(self, method: str, path: str, body: Any, endpoint: str) -> tuple[int, Any]:
        """Send one JSON request; the status and parsed body of a 2xx answer, else a GitHubError."""
        url = f"{self.client.api_url}{path}"
        if not self.client.may_send_token(url):
            raise MalformedResponseError(f"{endpoint}: refusing to send the token outside the API")
        headers = {"Content-Type": "application/json"}
        token = await self._token.token(url)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        answer = await self.client.sender.send(method, url, endpoint, headers, json.dumps(body).encode())
        if not 200 <= answer.status < 300:
            if answer.status == 401 and token:
                self._token.invalidate(token)
            raise error_for(answer.status, github_message(answer.content), url, endpoint, None)
        try:
            return answer.status, json.loads(answer.content) if answer.content else None
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
