"""Authentication to GitHub: a token file that rotates, GitHub App installation tokens, and secrets that
never show up in anything the exporter prints or serves."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from exporter.config import Config, Secret
from exporter.errors import ConfigError
from exporter.github.auth import AppInstallationTokens, TokenFile, TokenSource
from exporter.web.server import Exporter
from exporter.wiring import token_source
from tests.fakegithub.fake_github import FakeApp, FakeOrg, FakeSeat
from tests.inprocess import ManualClock, Scenario, make_config, metrics, run_scenario
from tests.support import (
    NOW,
    TOKEN,
    Dataset,
    ServedFake,
    ago,
    parse_exposition,
    run_exporter_cli,
    serve_fake,
    start_exporter,
    total,
    value,
    wait_until,
)

APP_ID = 4242


def rsa_key_pair() -> tuple[str, str]:
    """A private key as GitHub hands it out (PKCS#1 PEM) and its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()).decode()
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    return rsa_key_pair()


@pytest.fixture
def key_file(tmp_path: Path, app_key: tuple[str, str]) -> Path:
    path = tmp_path / "app.pem"
    path.write_text(app_key[0])
    return path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW.timestamp())


@pytest.fixture
def app_fake(dataset: Dataset, app_key: tuple[str, str], clock: ManualClock) -> Iterator[ServedFake]:
    """The fake with an app installed on orgs acme (77) and beta (78) and enterprise acme-corp (79)."""
    beta = FakeOrg("beta", 2, seats=[FakeSeat("bob", 9000, ago(days=3), org="beta")])
    dataset.extra_orgs.append(beta)
    app = FakeApp(APP_ID, app_key[1], installations={77: "acme", 78: "beta", 79: "acme-corp"})
    app.enterprise_installations.add(79)
    with serve_fake(dataset.app(clock=clock, app=app)) as served:
        yield served


def app_config(fake: ServedFake, key_file: Path, **flags: Any) -> Config:
    return make_config(
        {
            "org": ["acme"],
            "api_url": fake.url,
            "app_id": str(APP_ID),
            "app_private_key_file": str(key_file),
            **flags,
        },
        env={"GITHUB_TOKEN": ""},
    )


def run(fake: ServedFake, config: Config, clock: ManualClock, token: TokenSource, scenario: Scenario) -> None:
    run_scenario(fake.url, config, scenario, clock=clock, token=token)


def bearer_tokens(fake: ServedFake, path_prefix: str) -> set[str]:
    return {
        r.headers.get("authorization", "").removeprefix("Bearer ")
        for r in fake.app.requests
        if r.path.startswith(path_prefix)
    }


# -- configuration -----------------------------------------------------------------------------------


def test_app_settings_are_validated_and_never_shown(
    key_file: Path, app_key: tuple[str, str], tmp_path: Path
) -> None:
    flags = {"org": ["acme"], "app_id": "12", "app_private_key_file": str(key_file)}
    config = make_config(flags)
    assert config.app_id == 12
    assert config.app_private_key is not None
    assert config.token is None  # the app wins over GITHUB_TOKEN from the environment
    for text in (repr(config), str(config), repr(config.app_private_key)):
        assert "PRIVATE KEY" not in text
        assert app_key[0].splitlines()[1] not in text
    # The environment works as well, with the file and flags above it.
    env = {
        "GITHUB_APP_ID": "13",
        "GITHUB_APP_PRIVATE_KEY_FILE": str(key_file),
        "GITHUB_APP_INSTALLATION_ID": "5",
    }
    assert make_config({"org": ["acme"]}, env=env).app_installation_id == 5
    assert make_config({"org": ["acme"], "app_id": "14"}, env=env).app_id == 14

    not_pem = tmp_path / "not.pem"
    not_pem.write_text("ghp_definitelyNotAKey")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"app_id": "12"}, "github.app_private_key_file"),
        ({"app_private_key_file": str(key_file)}, "github.app_id"),
        ({"app_id": "twelve", "app_private_key_file": str(key_file)}, "github.app_id"),
        ({"app_id": "12", "app_private_key_file": str(not_pem)}, "github.app_private_key_file"),
        (
            {"app_id": "12", "app_private_key_file": str(tmp_path / "missing.pem")},
            "github.app_private_key_file",
        ),
        (
            {"app_id": "12", "app_private_key_file": str(key_file), "app_installation_id": "0"},
            "github.app_installation_id",
        ),
        (
            {"app_id": "12", "app_private_key_file": str(key_file), "token_file": str(key_file)},
            "github.token_file",
        ),
    ]
    for extra, key in cases:
        with pytest.raises(ConfigError) as raised:
            make_config({"org": ["acme"], **extra})
        assert raised.value.key == key, extra
        assert "ghp_definitelyNotAKey" not in str(raised.value)

    result = run_exporter_cli(
        ["--org", "acme", "--github.app-id", "12", "--github.app-private-key-file", str(not_pem)]
    )
    assert result.returncode == 2
    assert "github.app_private_key_file" in result.stderr
    assert "ghp_definitelyNotAKey" not in result.stderr + result.stdout


def test_file_settings_for_the_app(key_file: Path) -> None:
    github = {"app_id": 21, "app_private_key_file": str(key_file), "app_installation_id": 99}
    config = make_config({}, {"organizations": ["acme"], "github": github})
    assert (config.app_id, config.app_installation_id) == (21, 99)
    with pytest.raises(ConfigError) as raised:
        make_config({}, {"organizations": ["acme"], "github": {"app_key": "x"}})
    assert raised.value.key == "github.app_key"


# -- token file ----------------------------------------------------------------------------------------


def test_a_rotated_token_file_is_picked_up_without_a_restart(fake: ServedFake, tmp_path: Path) -> None:
    token_path = tmp_path / "token"
    token_path.write_text(TOKEN + "\n")
    config = make_config({"org": ["acme"], "api_url": fake.url, "token_file": str(token_path)})
    rotated = "ghp_ROTATEDtoken000000000000000000000000000"

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        assert value(await metrics(exporter), "github_copilot_up", source="seats", org="acme") == 1

        fake.app.token = rotated  # GitHub now only accepts the new token; the file still has the old
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert (
            value(
                parsed,
                "github_copilot_poll_failures_total",
                source="seats",
                org="acme",
                reason="unauthorized",
            )
            == 1
        )

        # Kubernetes swaps a symlink to a new file; the exporter notices the change on the next request.
        new = tmp_path / "token.new"
        new.write_text(rotated + "\n")
        os.replace(new, token_path)
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1

        token_path.unlink()  # a moment without the file keeps the last token
        await exporter.poller.poll_once()
        assert value(await metrics(exporter), "github_copilot_up", source="seats", org="acme") == 1

    run(fake, config, ManualClock(NOW.timestamp()), TokenFile(token_path), scenario)
    assert fake.app.requests[-1].headers["authorization"] == f"Bearer {rotated}"


# -- GitHub App ----------------------------------------------------------------------------------------


def test_app_installation_token_is_discovered_used_and_renewed_before_expiry(
    app_fake: ServedFake, key_file: Path, app_key: tuple[str, str], clock: ManualClock
) -> None:
    config = app_config(app_fake, key_file)
    tokens = AppInstallationTokens(app_fake.url, APP_ID, Secret(app_key[0]), clock=clock)

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        families = await metrics(exporter)
        assert value(families, "github_copilot_up", source="seats", org="acme") == 1
        assert len(app_fake.app.issued_tokens) == 1
        # The App's own requests go out as the client's do: counted, by endpoint template.
        requests = "github_copilot_api_requests_total"
        assert value(families, requests, endpoint="/orgs/{org}/installation", code="200") == 1
        assert (
            value(
                families, requests, endpoint="/app/installations/{installation_id}/access_tokens", code="201"
            )
            == 1
        )

        clock.advance(3000)  # 10 minutes left: still good
        await exporter.poller.poll_once()
        assert len(app_fake.app.issued_tokens) == 1

        clock.advance(400)  # less than 5 minutes left: renewed before GitHub would refuse it
        await exporter.poller.poll_once()
        assert value(await metrics(exporter), "github_copilot_up", source="seats", org="acme") == 1
        assert len(app_fake.app.issued_tokens) == 2

    run(app_fake, config, clock, tokens, scenario)
    assert len([r for r in app_fake.app.requests if r.path == "/orgs/acme/installation"]) == 1
    issued = [t.token for t in app_fake.app.issued_tokens]
    assert bearer_tokens(app_fake, "/orgs/acme/copilot") == set(issued)
    assert all(t.installation_id == 77 for t in app_fake.app.issued_tokens)
    assert not [r for r in app_fake.app.requests if r.status == 401]


def test_each_organization_and_enterprise_gets_its_installations_token(
    app_fake: ServedFake, key_file: Path, clock: ManualClock
) -> None:
    config = app_config(app_fake, key_file, org=["acme", "beta"], enterprise=["acme-corp"])

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert total(parsed, "github_copilot_up") == 3
        assert total(parsed, "github_copilot_seats", org="beta") == 1
        assert total(parsed, "github_copilot_seats", enterprise="acme-corp") == 4

    run(app_fake, config, clock, token_source(config), scenario)
    by_installation = {t.installation_id: t.token for t in app_fake.app.issued_tokens}
    assert set(by_installation) == {77, 78, 79}
    assert bearer_tokens(app_fake, "/orgs/acme/copilot") == {by_installation[77]}
    assert bearer_tokens(app_fake, "/orgs/beta/copilot") == {by_installation[78]}
    assert bearer_tokens(app_fake, "/enterprises/acme-corp/") == {by_installation[79]}


@pytest.mark.parametrize(
    ("setup", "reason", "hint"),
    [
        ("wrong-key", "unauthorized", "github.app_private_key_file holds a current private key"),
        ("wrong-app-id", "unauthorized", "check github.app_id"),
        ("not-installed", "not_found", "install it on the organization"),
        ("wrong-installation", "not_found", "github.app_installation_id"),
    ],
)
def test_app_problems_fail_the_poll_with_a_reason_and_what_to_fix(
    app_fake: ServedFake,
    key_file: Path,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    setup: str,
    reason: str,
    hint: str,
) -> None:
    flags: dict[str, Any] = {}
    if setup == "wrong-key":
        key_file.write_text(rsa_key_pair()[0])
    elif setup == "wrong-app-id":
        flags["app_id"] = "1"
    elif setup == "not-installed":
        assert app_fake.app.app is not None
        del app_fake.app.app.installations[77]
    else:
        flags["app_installation_id"] = "555"
    config = app_config(app_fake, key_file, **flags)

    async def scenario(exporter: Exporter) -> None:
        for _ in range(2):
            await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 0
        assert (
            value(parsed, "github_copilot_poll_failures_total", source="seats", org="acme", reason=reason)
            == 2
        )

    run(app_fake, config, clock, token_source(config), scenario)
    lines = [
        r
        for r in caplog.records
        if r.name == "exporter.poller" and r.levelno == logging.ERROR and getattr(r, "source", "") == "seats"
    ]
    assert len(lines) == 1
    assert hint in lines[0].error  # type: ignore[attr-defined]
    assert clock.slept == []  # refusals are not retried


def test_a_revoked_installation_token_is_replaced(
    app_fake: ServedFake, key_file: Path, clock: ManualClock
) -> None:
    config = app_config(app_fake, key_file)

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        app_fake.app.issued_tokens.clear()  # revoked: GitHub answers 401 to it
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert (
            value(
                parsed,
                "github_copilot_poll_failures_total",
                source="seats",
                org="acme",
                reason="unauthorized",
            )
            == 1
        )
        await exporter.poller.poll_once()
        assert value(await metrics(exporter), "github_copilot_up", source="seats", org="acme") == 1

    run(app_fake, config, clock, token_source(config), scenario)
    assert len(app_fake.app.issued_tokens) == 1  # the replacement


def test_a_reinstalled_app_is_found_again(app_fake: ServedFake, key_file: Path, clock: ManualClock) -> None:
    config = app_config(app_fake, key_file)
    assert app_fake.app.app is not None
    installations = app_fake.app.app.installations

    async def scenario(exporter: Exporter) -> None:
        await exporter.poller.poll_once()
        # Uninstalled and installed again: a new installation id, the old one's tokens revoked.
        del installations[77]
        installations[88] = "acme"
        app_fake.app.issued_tokens.clear()
        await exporter.poller.poll_once()
        parsed = await metrics(exporter)
        assert (
            value(
                parsed,
                "github_copilot_poll_failures_total",
                source="seats",
                org="acme",
                reason="unauthorized",
            )
            == 1
        )
        await exporter.poller.poll_once()
        assert value(await metrics(exporter), "github_copilot_up", source="seats", org="acme") == 1

    run(app_fake, config, clock, token_source(config), scenario)
    assert [t.installation_id for t in app_fake.app.issued_tokens] == [88]
    assert len([r for r in app_fake.app.requests if r.path == "/orgs/acme/installation"]) == 2


# -- nothing the exporter prints or serves holds a secret -------------------------------------------


def _secret_fragments(secret: str) -> list[str]:
    """The secret and every line of it (a PEM key could leak line by line)."""
    return [
        secret,
        *(line for line in secret.splitlines() if len(line) >= 16 and not line.startswith("-----")),
    ]


def test_no_secret_in_anything_the_exporter_prints_or_serves(
    app_fake: ServedFake, key_file: Path, app_key: tuple[str, str]
) -> None:
    args = [
        "--org",
        "acme",
        "--org",
        "ghost",  # not installed: a failure with its error message on the landing page
        "--enterprise",
        "acme-corp",
        "--github.api-url",
        app_fake.url,
        "--github.app-id",
        str(APP_ID),
        "--github.app-private-key-file",
        str(key_file),
        "--log.level",
        "debug",
    ]
    with start_exporter(args, {"GITHUB_TOKEN": TOKEN}, wait_ready=False) as running:
        wait_until(
            lambda: (
                total(parse_exposition(running.metrics()), "github_copilot_polls_total", source="seats") >= 3
            ),
            30,
            what="every target polled",
        )
        served = "".join(running.get(path).text for path in ("/", "/metrics", "/readyz", "/healthz"))
        parsed = parse_exposition(running.metrics())
        assert value(parsed, "github_copilot_up", source="seats", org="acme") == 1
        assert value(parsed, "github_copilot_up", source="seats", enterprise="acme-corp") == 1
        assert (
            value(
                parsed, "github_copilot_poll_failures_total", source="seats", org="ghost", reason="not_found"
            )
            == 1
        )
    output = running.log()
    assert "obtained a GitHub App installation token" in output
    assert "install it on the organization" in output  # ghost's failure, with what to do
    secrets = [app_key[0], TOKEN, *(t.token for t in app_fake.app.issued_tokens)]
    # Every credential that went over the wire, JWTs included.
    secrets += [
        r.headers["authorization"].split(" ", 1)[1]
        for r in app_fake.app.requests
        if "authorization" in r.headers
    ]
    assert len(app_fake.app.issued_tokens) == 2
    for secret in secrets:
        for fragment in _secret_fragments(secret):
            assert fragment not in output, "a secret is in the log"
            assert fragment not in served, "a secret is served over HTTP"


def test_no_token_in_anything_printed_with_a_token_file(fake: ServedFake, tmp_path: Path) -> None:
    token_path = tmp_path / "token"
    token_path.write_text(TOKEN)
    args = [
        "--org",
        "acme",
        "--org",
        "ghost",
        "--github.api-url",
        fake.url,
        "--github.token-file",
        str(token_path),
    ]
    with start_exporter([*args, "--log.level", "debug"], wait_ready=False) as running:
        wait_until(
            lambda: (
                total(parse_exposition(running.metrics()), "github_copilot_polls_total", source="seats") >= 2
            ),
            30,
            what="both targets polled",
        )
        served = "".join(running.get(path).text for path in ("/", "/metrics", "/readyz"))
    assert TOKEN not in running.log() + served
    assert "check the organization or enterprise name" in running.log()
