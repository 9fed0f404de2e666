"""The fake's GitHub App side: checking an app's JWT, and installation bodies."""

from __future__ import annotations

from typing import Any

import jwt

from tests.fakegithub.fake_model import FakeApp


def jwt_problem(app: FakeApp, authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return "A JSON web token could not be decoded"
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"], "verify_iat": False},
            leeway=0,
        )
    except jwt.ExpiredSignatureError:
        return "'Expiration time' claim ('exp') must be a numeric value representing the future time"
    except jwt.PyJWTError:
        return "A JSON web token could not be decoded"
    if str(claims["iss"]) != str(app.app_id):
        return "Integration not found"
    if claims["exp"] - claims["iat"] > 600 + 60:
        return "'Expiration time' claim ('exp') is too far in the future"
    return None


def installation_body(app: FakeApp, installation: int, account: str) -> dict[str, Any]:
    enterprise = installation in app.enterprise_installations
    return {
        "id": installation,
        "app_id": app.app_id,
        "target_type": "Enterprise" if enterprise else "Organization",
        "account": {"slug": account, "name": account}
        if enterprise
        else {"login": account, "type": "Organization"},
        "permissions": {"organization_copilot_seat_management": app.seat_permission},
    }


def app_of(apps: list[FakeApp | None], authorization: str) -> tuple[FakeApp | None, str | None]:
    """The app whose JWT ``authorization`` carries, or the first app's objection to it."""
    known = [app for app in apps if app is not None]
    for app in known:
        if jwt_problem(app, authorization) is None:
            return app, None
    return None, jwt_problem(known[0], authorization) if known else "Not Found"
