"""Serving the web configuration: the TLS context uvicorn serves with, and basic auth as ASGI middleware.

Both follow the file: a changed certificate, CA or password file takes effect without a restart, as in
Go exporters built on the exporter-toolkit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable

import bcrypt

from exporter.config.web import REALM, TLSSettings, WebConfig, configure_tls, load_web_config, ssl_context
from exporter.errors import ConfigError
from exporter.stamps import Stamp, stamp_or_none
from exporter.web.asgi import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("exporter.web.security")


#: bcrypt uses at most this many bytes of a password.
MAX_PASSWORD_BYTES = 72


def _stamps(web: WebConfig) -> tuple[Stamp | None, ...]:
    tls = web.tls or TLSSettings()
    return tuple(stamp_or_none(p) for p in (web.path, tls.cert_file, tls.key_file, tls.client_ca_file))


class SecuredApp:
    """ASGI middleware: HTTP basic auth against bcrypt hashes, and the configured response headers.

    bcrypt is deliberately slow (tens of milliseconds), so each check runs in a worker thread and a
    success is remembered under an HMAC of user and password with a key that lives only in this
    process: a scrape every 15 seconds costs one hash, and no plaintext password is ever kept.
    """

    CACHE_SIZE = 1024
    #: At most one look at the files' modification times per this many seconds.
    RELOAD_CHECK_INTERVAL = 1.0

    def __init__(self, app: ASGIApp, web: WebConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._clock = clock
        #: The TLS context uvicorn serves with; reloads update it in place.
        self.context = ssl_context(web.tls) if web.tls is not None else None
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[bytes, str] = {}
        # Unknown users are checked against this hash too, so timing does not reveal which users exist.
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(10))
        self._apply(web)
        self._next_check = 0.0

    def _apply(self, web: WebConfig) -> None:
        self.web = web
        self.users = dict(web.basic_auth_users)
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in web.headers.items()]
        self._verified = {}  # a changed password must not be let in by an old success
        self._stamps = _stamps(web)

    def maybe_reload(self) -> bool:
        """Re-read the web configuration when it or a file it names changed, as Go exporters do.

        Rotated certificates (cert-manager, a renewed Secret) and changed passwords take effect without
        a restart. A file that does not load keeps the previous configuration and logs why.
        """
        now = self._clock()
        if now < self._next_check:
            return False
        self._next_check = now + self.RELOAD_CHECK_INTERVAL
        if _stamps(self.web) == self._stamps:
            return False
        self._stamps = _stamps(self.web)  # one attempt per change, not one per request
        try:
            new = load_web_config(self.web.path)
        except ConfigError as exc:
            log.error(
                "the changed web configuration does not load; keeping the previous one",
                extra={"path": str(self.web.path), "error": str(exc)},
            )
            return False
        if (new.tls is None) != (self.context is None):
            log.error(
                "turning TLS on or off needs a restart; keeping the previous web configuration",
                extra={"path": str(self.web.path)},
            )
            return False
        if new.tls is not None and self.context is not None:
            configure_tls(self.context, new.tls)
        self._apply(new)
        log.info(
            "web configuration reloaded",
            extra={"path": str(self.web.path), "basic_auth_users": len(self.users)},
        )
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.maybe_reload()
        if self.headers:
            original_send = send

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *self.headers]}
                await original_send(message)

            send = send_with_headers
        if self.users and not await self._authorized(scope):
            body = b"Unauthorized\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"www-authenticate", f'Basic realm="{REALM}"'.encode()),
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
            return
        await self.app(scope, receive, send)

    async def _authorized(self, scope: Scope) -> bool:
        header = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), None)
        if header is None:
            return False
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user_bytes, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
            user = user_bytes.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep:
            return False
        digest = hmac.new(self._cache_key, user_bytes + b"\0" + password, hashlib.sha256).digest()
        if self._verified.get(digest) == user and user in self.users:
            return True
        if len(password) > MAX_PASSWORD_BYTES:
            # bcrypt reads at most 72 bytes and bcrypt 5 refuses longer passwords outright; no stored
            # hash can match one, so it is refused like any wrong password (Go's bcrypt does the same).
            return False
        hashed = self.users.get(user, self._dummy)
        try:
            ok = await asyncio.to_thread(bcrypt.checkpw, password, hashed)
        except ValueError:  # a hash bcrypt cannot read; the web configuration loader refuses those
            return False
        if ok and user in self.users:
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()
            self._verified[digest] = user
            return True
        return False
