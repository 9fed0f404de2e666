"""``--web.config.file``: the Prometheus exporter-toolkit web configuration, for TLS and basic auth.

The file is the one every Go exporter reads (and ``promtool check web-config`` validates): TLS maps onto
an :class:`ssl.SSLContext` given to uvicorn, ``basic_auth_users`` onto :class:`SecuredApp`, an ASGI
middleware that checks bcrypt hashes, and ``http_server_config.headers`` are added to every response.
Relative paths are resolved against the file's directory, as the toolkit does.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from exporter.config.quoting import shown, shown_path
from exporter.errors import ConfigError

KEY = "web.config_file"
TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "cert",
    "key",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
    "cipher_suites",
    "curve_preferences",
    "client_allowed_sans",
)
# Go's crypto/tls knobs that OpenSSL does not express the same way: refused rather than ignored, so
# that nobody believes a restriction is in force when it is not.
UNSUPPORTED_TLS_KEYS = ("cipher_suites", "curve_preferences", "client_allowed_sans")
HTTP_KEYS = ("http2", "headers")
TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH_TYPES = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
# The headers the exporter-toolkit lets a web config set, with the values it allows (None: any).
ALLOWED_HEADERS: Mapping[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
REALM = "github-copilot-exporter"


@dataclass(frozen=True)
class TLSSettings:
    cert_file: Path | None = None
    key_file: Path | None = None
    #: Inline PEM certificate and key (``cert`` / ``key``), as the toolkit allows instead of files.
    cert: str | None = field(default=None, repr=False)
    key: str | None = field(default=None, repr=False)
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    prefer_server_cipher_suites: bool = True


@dataclass(frozen=True)
class WebConfig:
    path: Path
    tls: TLSSettings | None = None
    #: user -> bcrypt hash.
    basic_auth_users: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def secured(self) -> bool:
        return self.tls is not None or bool(self.basic_auth_users)


def _mapping(value: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{KEY}: {key}" if key else KEY, "must be a mapping")
    for name in value:
        if name not in allowed:
            raise ConfigError(
                f"{KEY}: {key}.{name}" if key else f"{KEY}: {name}",
                f"unknown key; expected one of {', '.join(allowed)}",
            )
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{KEY}: {key}", f"must be a string, got {shown(value)}")
    return value


def _file(value: Any, key: str, base: Path) -> Path | None:
    text = _text(value, key) if value is not None else ""
    if not text:
        return None
    path = Path(text)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"{KEY}: {key}", f"{shown_path(path)} does not exist or is not a file")
    return path


def _tls(data: dict[str, Any], base: Path) -> TLSSettings | None:
    for name in UNSUPPORTED_TLS_KEYS:
        if data.get(name):
            raise ConfigError(
                f"{KEY}: tls_server_config.{name}",
                "is not supported by this exporter (it uses OpenSSL's secure defaults); remove it",
            )
    cert_file = _file(data.get("cert_file"), "tls_server_config.cert_file", base)
    key_file = _file(data.get("key_file"), "tls_server_config.key_file", base)
    cert = _text(data["cert"], "tls_server_config.cert") if data.get("cert") else None
    key = _text(data["key"], "tls_server_config.key") if data.get("key") else None
    auth = data.get("client_auth_type") or "NoClientCert"
    ca_file = _file(data.get("client_ca_file"), "tls_server_config.client_ca_file", base)
    if not any((cert_file, key_file, cert, key, ca_file, data.get("client_auth_type"))):
        return None  # an empty tls_server_config means plain HTTP, as in the toolkit
    if cert_file and cert:
        raise ConfigError(f"{KEY}: tls_server_config.cert", "give cert or cert_file, not both")
    if key_file and key:
        raise ConfigError(f"{KEY}: tls_server_config.key", "give key or key_file, not both")
    if not (cert_file or cert):
        raise ConfigError(f"{KEY}: tls_server_config.cert_file", "missing: TLS needs a certificate")
    if not (key_file or key):
        raise ConfigError(f"{KEY}: tls_server_config.key_file", "missing: TLS needs a private key")
    if auth not in CLIENT_AUTH_TYPES:
        raise ConfigError(
            f"{KEY}: tls_server_config.client_auth_type",
            f"{shown(auth)} is not one of {', '.join(CLIENT_AUTH_TYPES)}",
        )
    if auth == "RequireAnyClientCert":
        raise ConfigError(
            f"{KEY}: tls_server_config.client_auth_type",
            "RequireAnyClientCert (a certificate nobody verifies) is not supported; "
            "use RequireAndVerifyClientCert with client_ca_file",
        )
    if auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert") and ca_file is None:
        raise ConfigError(f"{KEY}: tls_server_config.client_ca_file", f"missing: {auth} needs client CAs")
    if ca_file is not None and auth == "NoClientCert":
        raise ConfigError(
            f"{KEY}: tls_server_config.client_auth_type",
            "client_ca_file is set but no client certificates are asked for; "
            "set client_auth_type: RequireAndVerifyClientCert",
        )
    versions = {}
    for name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        version = data.get(name) or default
        if version not in TLS_VERSIONS:
            raise ConfigError(
                f"{KEY}: tls_server_config.{name}",
                f"{shown(version)} is not one of {', '.join(TLS_VERSIONS)}",
            )
        versions[name] = version
    if TLS_VERSIONS[versions["min_version"]] > TLS_VERSIONS[versions["max_version"]]:
        raise ConfigError(f"{KEY}: tls_server_config.min_version", "is above max_version")
    prefer = data.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        raise ConfigError(f"{KEY}: tls_server_config.prefer_server_cipher_suites", "must be true or false")
    settings = TLSSettings(
        cert_file=cert_file,
        key_file=key_file,
        cert=cert,
        key=key,
        client_auth_type=auth,
        client_ca_file=ca_file,
        min_version=versions["min_version"],
        max_version=versions["max_version"],
        prefer_server_cipher_suites=prefer,
    )
    try:
        ssl_context(settings)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"{KEY}: tls_server_config", f"cannot load the certificate or key: {exc}") from None
    return settings


#: A bcrypt hash as htpasswd and Go write it: variant, cost 04-31, 22 characters of salt, 31 of hash.
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


def _users(value: Any) -> dict[str, bytes]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{KEY}: basic_auth_users", "must be a mapping of user name to bcrypt hash")
    users = {}
    for user, hashed in value.items():
        key = f"basic_auth_users.{user}"
        if not isinstance(user, str) or not user or ":" in user:
            raise ConfigError(f"{KEY}: {key}", "user names must be non-empty strings without ':'")
        text = _text(hashed, key)
        # The cost and salt are checked too: bcrypt raises on a malformed one at every login attempt.
        if not _BCRYPT_HASH.fullmatch(text):
            raise ConfigError(f"{KEY}: {key}", "must be a bcrypt hash (htpasswd -nBC 10 \"\" | tr -d ':\\n')")
        users[user] = text.encode()
    return users


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{KEY}: http_server_config.headers", "must be a mapping of header to value")
    headers = {}
    for name, text in value.items():
        key = f"http_server_config.headers.{name}"
        canonical = next((h for h in ALLOWED_HEADERS if h.lower() == str(name).lower()), None)
        if canonical is None:
            raise ConfigError(
                f"{KEY}: {key}", f"cannot be configured; allowed are {', '.join(ALLOWED_HEADERS)}"
            )
        text = _text(text, key)
        allowed = ALLOWED_HEADERS[canonical]
        if allowed is not None and text.lower() not in allowed:
            raise ConfigError(f"{KEY}: {key}", f"{shown(text)} is not one of {', '.join(allowed)}")
        if "\n" in text or "\r" in text:
            raise ConfigError(f"{KEY}: {key}", "must be a single line")
        headers[canonical] = text
    return headers


def load_web_config(path: Path) -> WebConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(KEY, f"cannot read {shown_path(path)}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(KEY, f"{shown_path(path)} is not valid YAML") from None
    data = _mapping(data, "", TOP_KEYS)
    base = path.resolve().parent
    http = _mapping(data.get("http_server_config"), "http_server_config", HTTP_KEYS)
    if not isinstance(http.get("http2", True), bool):
        raise ConfigError(f"{KEY}: http_server_config.http2", "must be true or false")
    return WebConfig(
        path=path,
        tls=_tls(_mapping(data.get("tls_server_config"), "tls_server_config", TLS_KEYS), base),
        basic_auth_users=_users(data.get("basic_auth_users")),
        headers=_headers(http.get("headers")),
    )


def ssl_context(tls: TLSSettings) -> ssl.SSLContext:
    """The server-side TLS context the settings describe."""
    return configure_tls(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), tls)


def configure_tls(context: ssl.SSLContext, tls: TLSSettings) -> ssl.SSLContext:
    """Apply ``tls`` to ``context``; on a live context, to the connections accepted from now on.

    OpenSSL can replace the certificate chain of a context in use and add trusted client CAs, but not
    forget one: a CA removed from ``client_ca_file`` stays trusted until a restart.
    """
    context.minimum_version = TLS_VERSIONS[tls.min_version]
    context.maximum_version = TLS_VERSIONS[tls.max_version]
    if tls.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    # The ssl module loads certificate chains from files only: inline PEM goes through a private
    # temporary file that exists only for the duration of the call.
    with tempfile.TemporaryDirectory(prefix="exporter-tls-") as tmp:
        cert_path = tls.cert_file or _write_private(Path(tmp, "cert.pem"), tls.cert or "")
        key_path = tls.key_file or _write_private(Path(tmp, "key.pem"), tls.key or "")
        context.load_cert_chain(cert_path, key_path)
    if tls.client_ca_file is not None:
        context.load_verify_locations(cafile=tls.client_ca_file)
    context.verify_mode = {
        "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
        "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    }.get(tls.client_auth_type, ssl.CERT_NONE)
    return context


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
