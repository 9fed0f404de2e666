"""Hostile clients and hostile configuration: the exporter as a process keeps serving and stays quiet.

Slow request headers and connection floods over raw sockets, long basic-auth passwords, and settings
that hold a token under the wrong key or values no setting can mean.
"""

from __future__ import annotations

import base64
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest
import yaml

from tests.support import TOKEN, ServedFake, run_exporter_cli, start_exporter, wait_until
from tests.test_webconfig import secured_exporter

ARGS = ["--org", "acme"]
INCOMPLETE_REQUEST = b"GET /metrics HTTP/1.1\r\nHost: exporter\r\nUser-Agent: slow"


def exporter_args(fake: ServedFake, *extra: str) -> list[str]:
    return [*ARGS, "--github.api-url", fake.url, *extra]


@contextlib.contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that each send part of a request's headers, and never the rest."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(INCOMPLETE_REQUEST)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset: the server aborted the connection
        return True


# -- slow headers and connection floods ------------------------------------------------------------


@pytest.mark.e2e
def test_slow_header_clients_beyond_the_descriptor_limit_leave_scrapes_working(fake: ServedFake) -> None:
    """With ``ulimit -n 256``, 400 connections that never finish their headers: scrapes still answer.

    The exporter keeps at most half its descriptor limit of connections, closing the ones that waited
    longest for their headers, and closes every one that has not sent them within the header timeout.
    """
    with start_exporter(exporter_args(fake), {"GITHUB_TOKEN": TOKEN}, nofile=256) as running:
        with slow_clients(running.port, 400) as sockets:
            assert running.get("/healthz").status_code == 200
            assert "github_copilot_up" in running.metrics()
            evicted = sum(closed_by_server(sock) for sock in sockets)
            assert evicted >= 400 - 128
            wait_until(lambda: all(closed_by_server(sock) for sock in sockets), 30, what="header timeout")
            assert running.get("/healthz").status_code == 200
        log = running.log()
    assert log.count("connection limit reached") == 1
    assert "out of system resource" not in log
    assert "Traceback" not in log


@pytest.mark.e2e
def test_running_out_of_descriptors_logs_one_line_per_episode(fake: ServedFake) -> None:
    """``ulimit -n 32`` is too little for even the connection cap: accept() fails, quietly, then recovers."""
    with start_exporter(exporter_args(fake), {"GITHUB_TOKEN": TOKEN}, nofile=32) as running:
        with slow_clients(running.port, 64):
            wait_until(lambda: "cannot accept connections" in running.log(), 30, what="accept to fail")
        wait_until(
            lambda: (
                running.get("/healthz").status_code == 200 and "accepting connections again" in running.log()
            ),
            60,
            what="accepting again",
        )
        log = running.log()
    assert log.count("cannot accept connections") == 1
    assert "out of system resource" not in log
    assert len(log.splitlines()) < 30


@pytest.mark.e2e
def test_a_kept_alive_connection_trickling_its_next_request_is_closed(fake: ServedFake) -> None:
    with start_exporter(exporter_args(fake), {"GITHUB_TOKEN": TOKEN}) as running:
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=30)
        with sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: exporter\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")

            def trickle_until_closed() -> bool:
                try:
                    sock.sendall(b"X")
                    return closed_by_server(sock)
                finally:
                    sock.setblocking(True)

            wait_until(trickle_until_closed, 30, interval=1.0, what="the connection to be closed")


@pytest.mark.e2e
def test_oversized_request_headers_get_400_and_one_log_line(fake: ServedFake) -> None:
    with start_exporter(exporter_args(fake), {"GITHUB_TOKEN": TOKEN}) as running:
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: exporter\r\n")
                with contextlib.suppress(OSError):  # the server may close before all is sent
                    for _ in range(100):
                        sock.sendall(b"X-Padding: " + b"a" * 10_000 + b"\r\n")
                assert sock.recv(100).startswith(b"HTTP/1.1 400")
        assert running.get("/healthz").status_code == 200
        log = running.log()
    assert log.count("Invalid HTTP request received.") == 1


# -- basic auth -------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_basic_auth_passwords_longer_than_bcrypt_reads_get_401_and_no_log(
    fake: ServedFake, tmp_path: Path
) -> None:
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"prometheus": hashed}}))
    with secured_exporter(fake, web) as running:
        url = running.url.replace("https://", "http://")
        wait_until(lambda: httpx.get(url + "/healthz").status_code == 401, 30, what="the exporter to answer")
        for user in ("prometheus", "nobody"):
            credentials = base64.b64encode(f"{user}:{'p' * 100}".encode()).decode()
            for _ in range(3):
                response = httpx.get(url + "/metrics", headers={"Authorization": f"Basic {credentials}"})
                assert response.status_code == 401
        assert httpx.get(url + "/healthz", auth=("prometheus", "right")).status_code == 200
        log = running.log()
    assert "Traceback" not in log
    assert "ValueError" not in log
    assert "level=error" not in log


def test_a_bcrypt_hash_that_can_never_match_is_refused_at_start(tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(4)).decode()
    unreadable = "$2y$03$" + hashed[7:]  # cost 3: bcrypt raises on every check
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"prometheus": unreadable}}))
    result = run_exporter_cli([*ARGS, "--web.config.file", str(web)], {"GITHUB_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "basic_auth_users.prometheus: must be a bcrypt hash" in result.stderr
    assert unreadable not in result.stderr


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"github": {"token_file": TOKEN}}, id="token-as-token-file"),
        pytest.param({"github": {"api_url": TOKEN}}, id="token-as-api-url"),
        pytest.param({"web": {"listen_address": TOKEN}}, id="token-as-listen-address"),
        pytest.param({"log": {"level": TOKEN}}, id="token-as-log-level"),
        pytest.param({"poll_interval": TOKEN}, id="token-as-poll-interval"),
        pytest.param({"github": {"app_id": TOKEN}}, id="token-as-app-id"),
        pytest.param({"activity_windows": [TOKEN]}, id="token-as-activity-window"),
        pytest.param({"seat_prices_usd": {"business": TOKEN}}, id="token-as-seat-price"),
        pytest.param({"seat_metrics": {"mode": TOKEN}}, id="token-as-seat-metrics-mode"),
        pytest.param({"billing": {"ai_credits_per_seat": {"business": TOKEN}}}, id="token-as-ai-credits"),
        pytest.param({"repositories": {"top_n": TOKEN}}, id="token-as-repositories-top-n"),
    ],
)
def test_a_token_under_a_wrong_key_is_never_echoed(tmp_path: Path, settings: dict[str, object]) -> None:
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"organizations": ["acme"], **settings}))
    result = run_exporter_cli(["--config", str(config)], {"GITHUB_TOKEN": "another-token-0123456789"})
    assert result.returncode == 2
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN[:12] not in result.stderr
    assert "could be a secret" in result.stderr


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        pytest.param({"seat_prices_usd": {"business": float("nan")}}, "seat_prices_usd.business", id="nan"),
        pytest.param(
            {"seat_prices_usd": {"enterprise": float("inf")}}, "seat_prices_usd.enterprise", id="inf"
        ),
        pytest.param({"github": {"request_timeout": "1000000000y"}}, "github.request_timeout", id="timeout"),
        pytest.param({"github": {"request_timeout": "1h"}}, "github.request_timeout", id="timeout-1h"),
        pytest.param({"poll_interval": "999999999999d"}, "poll_interval", id="poll-interval"),
        pytest.param({"web": {"telemetry_path": "/met\nrics"}}, "web.telemetry_path", id="newline-in-path"),
        pytest.param({"web": {"telemetry_path": "/a b"}}, "web.telemetry_path", id="space-in-path"),
    ],
)
def test_values_no_setting_can_mean_exit_2_naming_the_key(
    tmp_path: Path, settings: dict[str, object], key: str
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"organizations": ["acme"], **settings}))
    result = run_exporter_cli(["--config", str(config)], {"GITHUB_TOKEN": TOKEN})
    assert result.returncode == 2
    assert f"configuration error: {key}:" in result.stderr


# -- log masking --------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_very_short_token_is_masked_only_as_a_whole_word(fake: ServedFake) -> None:
    with start_exporter(exporter_args(fake), {"GITHUB_TOKEN": "x"}, wait_ready=False) as running:
        wait_until(lambda: "poll failed" in running.log(), 30, what="the poll to fail")
        log = running.log()
    assert "logger=exporter" in log
    assert "e********porter" not in log
