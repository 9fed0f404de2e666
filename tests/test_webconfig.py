"""``--web.config.file``: the exporter-toolkit file of every Go exporter locks the endpoint down here too.

Certificates are generated per test run; ``promtool check web-config`` judges the same files as the
exporter, and a real Prometheus scrapes the exporter over TLS with basic auth.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
import yaml

from exporter.config.web import WebConfig, load_web_config
from exporter.errors import ConfigError
from exporter.web.security import SecuredApp
from tests.inprocess import make_config
from tests.pki import Issued, issue, make_ca
from tests.support import (
    TOKEN,
    RunningExporter,
    ServedFake,
    exporter_command,
    free_port,
    need_binary,
    run_exporter_cli,
    wait_until,
)

PASSWORD = "s3cret-scrape-password"


# -- certificates --------------------------------------------------------------------------------------


@dataclass
class PKI:
    directory: Path
    ca: Issued
    server: Issued
    client: Issued
    #: A client certificate from a CA the exporter does not trust.
    stranger: Issued


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    with tempfile.TemporaryDirectory(prefix="webconfig-pki-") as tmp:
        directory = Path(tmp)
        ca = make_ca(directory, "test-ca")
        other_ca = make_ca(directory, "other-ca")
        yield PKI(
            directory,
            ca[0],
            issue(directory, "server", ca, server=True),
            issue(directory, "client", ca, server=False),
            issue(directory, "stranger", other_ca, server=False),
        )


@pytest.fixture(scope="module")
def password_hash() -> str:
    # htpasswd -nB writes $2y$; Go's bcrypt and Python's both read it.
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


def write_web_config(directory: Path, data: dict[str, Any], name: str = "web.yml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data))
    return path


def tls_section(pki: PKI, **extra: str) -> dict[str, str]:
    # Relative paths: resolved against the web config file's directory, as by the toolkit.
    return {"cert_file": pki.server.cert.name, "key_file": pki.server.key.name, **extra}


# -- promtool and the exporter agree on what a valid file is ---------------------------------------


def valid_configs(pki: PKI, password_hash: str) -> dict[str, dict[str, Any]]:
    return {
        "basic-auth-only": {"basic_auth_users": {"prometheus": password_hash}},
        "tls-only": {"tls_server_config": tls_section(pki)},
        "everything": {
            "tls_server_config": tls_section(
                pki,
                client_auth_type="RequireAndVerifyClientCert",
                client_ca_file=pki.ca.cert.name,
                min_version="TLS13",
            ),
            "http_server_config": {
                "headers": {
                    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
                    "X-Frame-Options": "deny",
                    "X-Content-Type-Options": "nosniff",
                },
                "http2": False,
            },
            "basic_auth_users": {"prometheus": password_hash, "grafana-agent": password_hash},
        },
        "optional-client-cert": {
            "tls_server_config": tls_section(
                pki,
                client_auth_type="VerifyClientCertIfGiven",
                client_ca_file=pki.ca.cert.name,
                max_version="TLS12",
            )
        },
    }


def invalid_configs(pki: PKI, password_hash: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Files promtool rejects, with the key the exporter's error names."""
    return {
        "unknown-key": ({"tls_config": {}}, "tls_config"),
        "unknown-tls-key": (
            {"tls_server_config": {**tls_section(pki), "cert_path": "x"}},
            "tls_server_config.cert_path",
        ),
        "missing-key-file": (
            {"tls_server_config": {"cert_file": pki.server.cert.name}},
            "tls_server_config.key_file",
        ),
        "missing-cert-file": (
            {"tls_server_config": {**tls_section(pki), "cert_file": "nope.crt"}},
            "tls_server_config.cert_file",
        ),
        "bad-min-version": (
            {"tls_server_config": tls_section(pki, min_version="TLS14")},
            "tls_server_config.min_version",
        ),
        "bad-client-auth": (
            {"tls_server_config": tls_section(pki, client_auth_type="Sometimes")},
            "tls_server_config.client_auth_type",
        ),
        "header-not-allowed": (
            {"http_server_config": {"headers": {"Set-Cookie": "a=b"}}},
            "http_server_config.headers.Set-Cookie",
        ),
        "bad-frame-option": (
            {"http_server_config": {"headers": {"X-Frame-Options": "allow"}}},
            "http_server_config.headers.X-Frame-Options",
        ),
    }


def promtool_check(path: Path) -> subprocess.CompletedProcess[str]:
    promtool = need_binary("promtool")
    return subprocess.run(
        [promtool, "check", "web-config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.e2e  # runs kubectl / promtool
def test_promtool_and_the_exporter_accept_the_same_files(pki: PKI, password_hash: str) -> None:
    for name, data in valid_configs(pki, password_hash).items():
        path = write_web_config(pki.directory, data, f"{name}.yml")
        result = promtool_check(path)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
        loaded = load_web_config(path)
        assert loaded.secured
    everything = load_web_config(pki.directory / "everything.yml")
    assert everything.tls is not None
    assert everything.tls.client_auth_type == "RequireAndVerifyClientCert"
    assert everything.tls.cert_file == pki.server.cert
    assert set(everything.basic_auth_users) == {"prometheus", "grafana-agent"}
    assert everything.headers["X-Frame-Options"] == "deny"
    assert password_hash not in repr(everything)


@pytest.mark.e2e  # runs kubectl / promtool
def test_promtool_and_the_exporter_reject_the_same_files(pki: PKI, password_hash: str) -> None:
    for name, (data, key) in invalid_configs(pki, password_hash).items():
        path = write_web_config(pki.directory, data, f"bad-{name}.yml")
        result = promtool_check(path)
        assert result.returncode != 0, (name, result.stdout)
        with pytest.raises(ConfigError) as raised:
            load_web_config(path)
        assert raised.value.key == f"web.config_file: {key}", name


def test_a_bad_web_config_stops_the_exporter_with_status_2(pki: PKI) -> None:
    path = write_web_config(
        pki.directory, {"basic_auth_users": {"prometheus": "plaintext-password"}}, "plain.yml"
    )
    result = run_exporter_cli(["--demo", "--web.config.file", str(path)])
    assert result.returncode == 2
    assert "web.config_file: basic_auth_users.prometheus" in result.stderr
    assert "plaintext-password" not in result.stderr
    missing = run_exporter_cli(["--demo", "--web.config.file", str(pki.directory / "missing.yml")])
    assert missing.returncode == 2
    assert "web.config_file" in missing.stderr


# -- the exporter behind TLS and basic auth --------------------------------------------------------


@contextlib.contextmanager
def secured_exporter(fake: ServedFake, web_config: Path) -> Iterator[RunningExporter]:
    """The console script with a web config; start_exporter's readiness probe speaks plain HTTP."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GITHUB_API_URL")}
    env["GITHUB_TOKEN"] = TOKEN
    log_dir = Path(tempfile.mkdtemp(prefix="exporter-log-"))
    log_path = log_dir / "exporter.log"
    args = ["--org", "acme", "--github.api-url", fake.url, "--web.config.file", str(web_config)]
    args.append("--usage.enabled=false")  # the fake has no usage reports
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*exporter_command(), "--web.listen-address", f"127.0.0.1:{port}", *args],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    running = RunningExporter(process, f"https://127.0.0.1:{port}", log_path, port)

    def listening() -> bool:
        if process.poll() is not None:
            return True
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    try:
        wait_until(listening, 30, what="exporter to listen")
        assert process.poll() is None, running.log()
        yield running
    finally:
        running.stop()


def client(
    pki: PKI, *, cert: Issued | None = None, max_version: ssl.TLSVersion | None = None
) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    if cert is not None:
        context.load_cert_chain(cert.cert, cert.key)
    if max_version is not None:
        context.maximum_version = max_version
    return httpx.Client(verify=context, timeout=10)


def test_tls_and_basic_auth(fake: ServedFake, pki: PKI, password_hash: str) -> None:
    hsts = "max-age=31536000"
    path = write_web_config(
        pki.directory,
        {
            "tls_server_config": tls_section(pki),
            "basic_auth_users": {"prometheus": password_hash},
            "http_server_config": {"headers": {"Strict-Transport-Security": hsts}},
        },
        "tls-basic.yml",
    )
    with secured_exporter(fake, path) as running, client(pki) as https:
        plain_url = running.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):
            httpx.get(plain_url + "/metrics", timeout=10)

        anonymous = https.get(running.url + "/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        assert anonymous.headers["strict-transport-security"] == hsts
        assert "github_copilot" not in anonymous.text
        assert https.get(running.url + "/metrics", auth=("prometheus", "wrong")).status_code == 401
        assert https.get(running.url + "/metrics", auth=("nobody", PASSWORD)).status_code == 401
        assert https.get(running.url + "/", auth=("prometheus", "wrong")).status_code == 401

        def ready() -> bool:
            return https.get(running.url + "/readyz", auth=("prometheus", PASSWORD)).status_code == 200

        wait_until(ready, 30, what="the first poll")
        ok = https.get(running.url + "/metrics", auth=("prometheus", PASSWORD))
        assert ok.status_code == 200
        assert ok.headers["strict-transport-security"] == hsts
        assert 'github_copilot_up{enterprise="",org="acme",source="seats"} 1.0' in ok.text
    log = running.log()
    assert "tls=true" in log
    assert "basic_auth=true" in log
    assert PASSWORD not in log
    assert password_hash not in log


def test_client_certificate_required_when_configured(fake: ServedFake, pki: PKI) -> None:
    path = write_web_config(
        pki.directory,
        {
            "tls_server_config": tls_section(
                pki, client_auth_type="RequireAndVerifyClientCert", client_ca_file=pki.ca.cert.name
            )
        },
        "mtls.yml",
    )
    with secured_exporter(fake, path) as running:
        with client(pki) as anonymous, pytest.raises(httpx.HTTPError):
            anonymous.get(running.url + "/healthz")
        with client(pki, cert=pki.stranger) as stranger, pytest.raises(httpx.HTTPError):
            stranger.get(running.url + "/healthz")
        with client(pki, cert=pki.client) as trusted:
            assert trusted.get(running.url + "/healthz").status_code == 200


def test_min_version_is_enforced(fake: ServedFake, pki: PKI) -> None:
    path = write_web_config(
        pki.directory, {"tls_server_config": tls_section(pki, min_version="TLS13")}, "tls13.yml"
    )
    with secured_exporter(fake, path) as running:
        with client(pki, max_version=ssl.TLSVersion.TLSv1_2) as old, pytest.raises(httpx.HTTPError):
            old.get(running.url + "/healthz")
        with client(pki) as current:
            response = current.get(running.url + "/healthz")
            assert response.status_code == 200


# -- a real Prometheus scrapes it --------------------------------------------------------------------


def test_prometheus_scrapes_over_tls_with_basic_auth(fake: ServedFake, pki: PKI, password_hash: str) -> None:
    binary = need_binary("prometheus")
    web = write_web_config(
        pki.directory,
        {"tls_server_config": tls_section(pki), "basic_auth_users": {"prometheus": password_hash}},
        "prometheus-scraped.yml",
    )
    with secured_exporter(fake, web) as running, tempfile.TemporaryDirectory(prefix="prometheus-") as workdir:
        target = f"127.0.0.1:{running.port}"

        def job(name: str, password: str) -> dict[str, Any]:
            return {
                "job_name": name,
                "scheme": "https",
                "tls_config": {"ca_file": str(pki.ca.cert)},
                "basic_auth": {"username": "prometheus", "password": password},
                "static_configs": [{"targets": [target]}],
            }

        config = {
            "global": {"scrape_interval": "1s"},
            "scrape_configs": [job("copilot", PASSWORD), job("copilot-wrong-password", "guess")],
        }
        config_path = Path(workdir) / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        promtool = need_binary("promtool")
        checked = subprocess.run(
            [promtool, "check", "config", str(config_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        port = free_port()
        log_path = Path(workdir) / "prometheus.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={workdir}/data",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}"

            def query(expr: str) -> dict[str, float]:
                body = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
                return {r["metric"].get("job", ""): float(r["value"][1]) for r in body["data"]["result"]}

            wait_until(
                lambda: query('github_copilot_up{org="acme"}').get("copilot") == 1.0,
                60,
                interval=0.5,
                what=f"Prometheus scraping the exporter\n{log_path.read_text()}",
            )
            wait_until(lambda: len(query("up")) == 2, 30, interval=0.5, what="both jobs scraped")
            assert query("up") == {"copilot": 1.0, "copilot-wrong-password": 0.0}
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


# -- the middleware on its own -------------------------------------------------------------------------


async def _ok_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.anyio
async def test_successful_checks_are_cached_and_unknown_users_cost_a_hash_too(
    password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secured = SecuredApp(
        _ok_app, WebConfig(path=Path("web.yml"), basic_auth_users={"prometheus": password_hash.encode()})
    )
    calls: list[bytes] = []
    checkpw = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    transport = httpx.ASGITransport(secured)
    async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as http:
        for _ in range(5):
            assert (await http.get("/", auth=("prometheus", PASSWORD))).status_code == 200
        assert len(calls) == 1
        assert (await http.get("/", auth=("prometheus", PASSWORD + "x"))).status_code == 401
        assert (await http.get("/", auth=("mallory", PASSWORD))).status_code == 401
        assert len(calls) == 3  # wrong passwords and unknown users are never cached, and always hashed
        garbage = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}
        assert (await http.get("/", headers=garbage)).status_code == 401
        assert (await http.get("/", headers={"Authorization": "Basic !!!"})).status_code == 401
        assert (await http.get("/", headers={"Authorization": "Bearer abc"})).status_code == 401
        head = await http.head("/")
        assert head.status_code == 401
        assert head.content == b""
    assert not any(PASSWORD.encode() in key for key in secured._verified)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- reloading, as Go exporters do -----------------------------------------------------------------


def test_rotated_certificates_and_passwords_apply_without_a_restart(
    fake: ServedFake, pki: PKI, password_hash: str, tmp_path: Path
) -> None:
    serving = tmp_path / "serving"
    serving.mkdir()
    (serving / "tls.crt").write_bytes(pki.server.cert.read_bytes())
    (serving / "tls.key").write_bytes(pki.server.key.read_bytes())
    tls = {"cert_file": "tls.crt", "key_file": "tls.key"}
    path = write_web_config(
        serving, {"tls_server_config": tls, "basic_auth_users": {"prometheus": password_hash}}
    )
    new_password = "rotated-" + PASSWORD
    new_hash = bcrypt.hashpw(new_password.encode(), bcrypt.gensalt(4)).decode()
    rotated_ca = make_ca(tmp_path, "rotated-ca")
    rotated = issue(tmp_path, "rotated-server", rotated_ca, server=True)
    rotated_pki = PKI(tmp_path, rotated_ca[0], rotated, pki.client, pki.stranger)

    with secured_exporter(fake, path) as running:
        with client(pki) as old:
            assert old.get(running.url + "/healthz", auth=("prometheus", PASSWORD)).status_code == 200

        # cert-manager renews the certificate (from another CA here, to tell them apart) and the
        # password changes; the files are replaced the way Kubernetes does, by renaming.
        for source, name in ((rotated.cert, "tls.crt"), (rotated.key, "tls.key")):
            staged = serving / f".{name}.new"
            staged.write_bytes(source.read_bytes())
            os.replace(staged, serving / name)
        write_web_config(serving, {"tls_server_config": tls, "basic_auth_users": {"prometheus": new_hash}})

        with client(rotated_pki) as new, client(pki) as old:

            def rotated_in() -> bool:
                # A request (over a connection made with the old certificate) notices the change; a
                # timer would too, a few seconds later.
                with contextlib.suppress(httpx.HTTPError):
                    old.get(running.url + "/healthz")
                return new.get(running.url + "/healthz", auth=("prometheus", new_password)).status_code == 200

            wait_until(rotated_in, 20, interval=0.5, what="the rotated certificate and password")
            assert new.get(running.url + "/healthz", auth=("prometheus", PASSWORD)).status_code == 401
            with client(pki) as fresh, pytest.raises(httpx.HTTPError):
                fresh.get(running.url + "/healthz")

            # A broken edit is refused, and the running configuration stays.
            write_web_config(serving, {"tls_server_config": {**tls, "min_version": "TLS99"}})
            wait_until(
                lambda: (
                    new.get(running.url + "/healthz").status_code == 401
                    and "does not load; keeping the previous one" in running.log()
                ),
                20,
                interval=0.5,
                what="the broken file to be refused",
            )
            assert new.get(running.url + "/healthz", auth=("prometheus", new_password)).status_code == 200
    assert "web configuration reloaded" in running.log()


def test_the_web_config_file_can_be_named_in_the_config_file_and_the_flag_wins(
    pki: PKI, password_hash: str
) -> None:
    basic = write_web_config(pki.directory, {"basic_auth_users": {"prometheus": password_hash}}, "basic.yml")
    tls = write_web_config(pki.directory, {"tls_server_config": tls_section(pki)}, "tls.yml")
    from_file = make_config({"org": ["acme"]}, {"web": {"config_file": str(basic)}})
    assert from_file.web_config is not None
    assert from_file.web_config.path == basic
    flagged = make_config(
        {"org": ["acme"], "web_config_file": str(tls)}, {"web": {"config_file": str(basic)}}
    )
    assert flagged.web_config is not None
    assert flagged.web_config.tls is not None
    assert not flagged.web_config.basic_auth_users
