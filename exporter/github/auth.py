"""Credentials for the GitHub API: a static token, a token file that is re-read when it changes, or
a GitHub App's installation tokens, fetched with a short-lived RS256 JWT and renewed before they expire.

Every token a source hands out is registered with the log redaction
(:func:`exporter.redaction.register_secret`) before it is used, so that even an accidental log line
cannot carry it. An App's own requests (the installation look-ups and token requests) go out through
the :class:`~exporter.github.sending.Sender` of the client the tokens serve: paced, bounded, counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import jwt

from exporter.errors import (
    AuthenticationError,
    GitHubError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedStatusError,
)
from exporter.github.answers import json_integer, json_list, json_object
from exporter.github.pacing import RequestPacer
from exporter.github.sending import Sender
from exporter.github.stats import ClientStats
from exporter.github.timestamps import parse_timestamp
from exporter.redaction import register_secret
from exporter.secrets import Secret
from exporter.stamps import Stamp, file_stamp

log = logging.getLogger("exporter.auth")

#: Renew an installation token this long before GitHub's ``expires_at`` (tokens live one hour).
REFRESH_MARGIN = 300.0
#: GitHub accepts app JWTs valid for at most ten minutes; ``iat`` is back-dated for clock drift.
JWT_LIFETIME = 540.0
JWT_BACKDATE = 60.0

_ORG_PATH = re.compile(r"^/(?:orgs|organizations)/([^/]+)/")
_ENTERPRISE_PATH = re.compile(r"^/enterprises/([^/]+)/")


class TokenSource(Protocol):
    async def token(self, url: str) -> str | None:
        """The token to send with a request to ``url`` (None: send no Authorization header)."""
        ...

    def invalidate(self, token: str) -> None:
        """GitHub refused ``token`` (401): do not hand it out again."""
        ...


class StaticToken:
    def __init__(self, token: Secret | str | None) -> None:
        self._token = token.reveal() if isinstance(token, Secret) else token
        if self._token:
            register_secret(self._token, permanent=True)

    async def token(self, url: str) -> str | None:
        return self._token

    def invalidate(self, token: str) -> None:
        """A static token cannot be replaced by the exporter; the 401 is reported instead."""

    def __repr__(self) -> str:
        return "StaticToken('********')"


class TokenFile:
    """A token read from a file, re-read whenever the file changes.

    Kubernetes updates a mounted Secret by swapping a symlink, which changes the file's identity and
    modification time; a missing or empty file during such a swap keeps the last good token.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: Stamp | None = None
        self._token: str | None = None
        self._warned = False
        self._reload()

    def _reload(self) -> None:
        try:
            stamp = file_stamp(self.path)
            if stamp == self._stamp:
                return
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            self._warn(f"cannot read the token file: {exc.strerror}")
            return
        if not text:
            self._warn("the token file is empty")
            return
        register_secret(text)
        if self._token is not None and text != self._token:
            log.info("token file changed; using the new token", extra={"path": str(self.path)})
        self._stamp = stamp
        self._token = text
        self._warned = False

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                message + "; keeping the last token",
                extra={"path": str(self.path), "has_token": self._token is not None},
            )

    async def token(self, url: str) -> str | None:
        self._reload()
        return self._token

    def invalidate(self, token: str) -> None:
        # The next request re-reads the file anyway; a rotated token is picked up as soon as it lands.
        self._stamp = None

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"


class AppAuthenticationError(AuthenticationError):
    hint = (
        "GitHub refused the app's JWT: check github.app_id and that github.app_private_key_file holds a "
        "current private key of that app (and that this machine's clock is right)"
    )


class AppNotInstalledError(NotFoundError):
    hint = (
        "the GitHub App is not installed where it is needed: install it on the organization "
        "(or set github.app_installation_id), with the organization permission "
        '"GitHub Copilot Business" (read)'
    )


@dataclass(frozen=True, slots=True)
class _InstallationToken:
    token: str
    expires_at: float


class AppInstallationTokens:
    """Installation tokens of a GitHub App, one per installation, renewed before they expire.

    Each organization installs an app separately, so without a configured installation id the one of
    each organization is looked up (``GET /orgs/{org}/installation``), and an enterprise's in the app's
    installation list.
    """

    def __init__(
        self,
        api_url: str,
        app_id: int,
        private_key: Secret,
        *,
        installation_id: int | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self._key = private_key
        register_secret(private_key.reveal(), permanent=True)
        self.installation_id = installation_id
        self._clock = clock
        self._installations: dict[str, int] = {}
        self._tokens: dict[int, _InstallationToken] = {}
        self._lock = asyncio.Lock()
        # The exporter's client hands over its sender (use_sender); a client of its own only when alone.
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._sender = Sender(self._http, RequestPacer(), ClientStats(), clock=clock)

    def __repr__(self) -> str:
        return f"AppInstallationTokens(app_id={self.app_id}, installation_id={self.installation_id})"

    def use_sender(self, sender: Sender) -> None:
        """Send the App's requests as ``sender``'s client sends its own (GitHubClient calls this)."""
        self._sender = sender

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def app_jwt(self) -> str:
        now = self._clock()
        payload = {"iat": int(now - JWT_BACKDATE), "exp": int(now + JWT_LIFETIME), "iss": str(self.app_id)}
        token = jwt.encode(payload, self._key.reveal(), algorithm="RS256")
        register_secret(token)
        return token

    async def token(self, url: str) -> str | None:
        path = urlsplit(url).path
        async with self._lock:
            installation = await self._installation_for(path)
            cached = self._tokens.get(installation)
            if cached is not None and cached.expires_at - self._clock() > REFRESH_MARGIN:
                return cached.token
            try:
                fresh = await self._new_token(installation)
            except AppNotInstalledError:
                if self.installation_id is not None:
                    raise
                # Uninstalled and installed again: the account has a new installation; look it up.
                self._forget(installation)
                installation = await self._installation_for(path)
                fresh = await self._new_token(installation)
            self._tokens[installation] = fresh
            return fresh.token

    def _forget(self, installation: int) -> None:
        self._tokens.pop(installation, None)
        for account, known in list(self._installations.items()):
            if known == installation:
                del self._installations[account]

    def invalidate(self, token: str) -> None:
        for installation, cached in list(self._tokens.items()):
            if cached.token == token:
                del self._tokens[installation]

    async def _installation_for(self, path: str) -> int:
        if self.installation_id is not None:
            return self.installation_id
        relative = path[len(urlsplit(self.api_url).path) :]
        if m := _ORG_PATH.match(relative):
            account = m.group(1).lower()
            if account not in self._installations:
                self._installations[account] = await self._org_installation(m.group(1))
        elif m := _ENTERPRISE_PATH.match(relative):
            account = "enterprise:" + m.group(1).lower()
            if account not in self._installations:
                self._installations[account] = await self._enterprise_installation(m.group(1))
        else:
            raise AppNotInstalledError(f"no installation of app {self.app_id} applies to {path}")
        return self._installations[account]

    async def _org_installation(self, org: str) -> int:
        body = await self._request(
            "GET",
            f"/orgs/{org}/installation",
            "/orgs/{org}/installation",
            f"installation of app on org {org}",
        )
        return json_integer(json_object(body, f"/orgs/{org}/installation"), "id", f"/orgs/{org}/installation")

    async def _enterprise_installation(self, enterprise: str) -> int:
        where = f"installation of app on enterprise {enterprise}"
        page = 1
        while True:
            path = f"/app/installations?per_page=100&page={page}"
            body = json_list(
                await self._request("GET", path, "/app/installations", where), "/app/installations"
            )
            for item in body:
                account = item.get("account") if isinstance(item, dict) else None
                if not isinstance(account, dict):
                    continue
                names = {str(account.get("slug") or "").lower(), str(account.get("login") or "").lower()}
                if enterprise.lower() in names:
                    return json_integer(item, "id", "/app/installations")
            if len(body) < 100:
                raise AppNotInstalledError(
                    f"app {self.app_id} has no installation on enterprise {enterprise}"
                )
            page += 1

    async def _new_token(self, installation: int) -> _InstallationToken:
        path = f"/app/installations/{installation}/access_tokens"
        body = await self._request(
            "POST",
            path,
            "/app/installations/{installation_id}/access_tokens",
            f"installation token {installation}",
        )
        token = body.get("token") if isinstance(body, dict) else None
        expires = body.get("expires_at") if isinstance(body, dict) else None
        expires_at = parse_timestamp(expires)
        if not isinstance(token, str) or not token or expires_at is None:
            raise MalformedResponseError(f"{path}: answer has no token or expires_at")
        register_secret(token)
        log.info(
            "obtained a GitHub App installation token",
            extra={
                "app_id": self.app_id,
                "installation_id": installation,
                "expires_in_seconds": round(expires_at - self._clock()),
            },
        )
        return _InstallationToken(token, expires_at)

    async def _request(self, method: str, path: str, endpoint: str, what: str) -> Any:
        headers = {"Authorization": f"Bearer {self.app_jwt()}", "Accept": "application/vnd.github+json"}
        answer = await self._sender.send(method, self.api_url + path, endpoint, headers)
        status = answer.status
        if status in (200, 201):
            try:
                return json.loads(answer.content)
            except (ValueError, RecursionError):
                raise MalformedResponseError(f"{what}: answer is not JSON", status=status) from None
        error: type[GitHubError]
        if status == 401:
            error = AppAuthenticationError
        elif status == 404:
            error = AppNotInstalledError
        elif status in (403, 422):
            error = PermissionDeniedError
        elif status >= 500:
            error = ServerError
        else:
            error = UnexpectedStatusError
        raise error(f"{what}: {status}", status=status)
