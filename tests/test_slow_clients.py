"""Clients that hold connections in every phase: bodies trickled after the answer, silent TLS clients,
readers that never read, and loops on ``/seats.csv``. Raw sockets against the running exporter.

Each test configures short web timeouts (1-2 s) and waits a generous, bounded time for the exporter to
close the connection: what is checked is that it closes, not how fast.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from exporter.errors import ConfigError
from exporter.web.guarded_app import has_body
from exporter.wiring import build_config
from tests.fakegithub.serving import exporter_command, free_port
from tests.support import (
    TOKEN,
    RunningExporter,
    ServedFake,
    exporter_env,
    serve_fake,
    standard_dataset,
    start_exporter,
    stop_process,
    wait_until,
)
from tests.test_webconfig import PKI, pki, tls_section, write_web_config  # noqa: F401 - pki: a fixture

#: Short deadlines, so that a test waits seconds; the defaults are 10 s and 1 m.
WEB = {"read_header_timeout": "1s", "write_timeout": "2s"}


def config_file(directory: Path, fake: ServedFake, **extra: object) -> Path:
    path = directory / "config.yml"
    data = {"organizations": ["acme"], "github": {"api_url": fake.url}, "web": WEB, **extra}
    path.write_text(yaml.safe_dump(data))
    return path


@contextlib.contextmanager
def guarded_exporter(fake: ServedFake, tmp_path: Path, **extra: object) -> Iterator[RunningExporter]:
    args = ["--config", str(config_file(tmp_path, fake, **extra))]
    with start_exporter(args, {"GITHUB_TOKEN": TOKEN}) as running:
        yield running


TCP_ESTABLISHED = 1


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed or aborted ``sock``, without reading what it sent: the TCP state
    (``struct tcp_info`` starts with it) leaves ESTABLISHED for CLOSE_WAIT on a FIN, CLOSE on a reset."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED


def read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


# -- 1. request bodies ------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    "request_head",
    [
        pytest.param(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", id="post"),
        pytest.param(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", id="get"),
        pytest.param(b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", id="chunked"),
    ],
)
def test_a_request_with_a_body_gets_413_and_the_connection_closed(
    fake: ServedFake, tmp_path: Path, request_head: bytes
) -> None:
    with guarded_exporter(fake, tmp_path) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock:
            sock.sendall(request_head)
            answer = read_until_closed(sock)  # returns once the server closed the connection
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"connection: close" in answer.lower()
        assert running.get("/healthz").status_code == 200


@pytest.mark.e2e
def test_a_body_trickled_after_the_answer_does_not_hold_the_connection(
    fake: ServedFake, tmp_path: Path
) -> None:
    """The issue's client: a huge Content-Length, then ``x\\n\\n`` once the answer is in, then nothing."""
    with guarded_exporter(fake, tmp_path) as running:
        socks = []
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", running.port), timeout=30)
            sock.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
            assert sock.recv(12).startswith(b"HTTP/1.1 413")
            with contextlib.suppress(OSError):
                sock.sendall(b"x\n\n")
            socks.append(sock)
        try:
            wait_until(lambda: all(closed_by_server(s) for s in socks), 30, what="the connections to close")
        finally:
            for sock in socks:
                sock.close()
        assert "Traceback" not in running.log()


@pytest.mark.e2e
def test_a_connection_idle_after_its_answer_and_trickling_is_closed(fake: ServedFake, tmp_path: Path) -> None:
    """Any byte cancels uvicorn's keep-alive timer; the header deadline from the answer's end still holds."""
    with (
        guarded_exporter(fake, tmp_path) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock,
    ):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")

        def trickle_until_closed() -> bool:
            with contextlib.suppress(OSError):
                sock.sendall(b"a")  # a byte every 0.2 s: uvicorn's keep-alive timer never fires
            return closed_by_server(sock)

        wait_until(trickle_until_closed, 30, interval=0.2, what="the connection to be closed")


# -- 2. TLS handshakes ------------------------------------------------------------------------------


@contextlib.contextmanager
def tls_exporter(fake: ServedFake, certs: PKI, tmp_path: Path, nofile: int) -> Iterator[RunningExporter]:
    """The console script with TLS on and ``ulimit -n nofile``, once it accepts HTTPS."""
    web = write_web_config(certs.directory, {"tls_server_config": tls_section(certs)}, "tls-only.yml")
    config = config_file(tmp_path, fake, usage={"enabled": False})
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="exporter-log-")) / "exporter.log"
    command = [*exporter_command(), "--config", str(config), "--web.config.file", str(web)]
    command += ["--web.listen-address", f"127.0.0.1:{port}"]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            ["bash", "-c", f'ulimit -n {nofile} && exec "$@"', "exporter", *command],
            env=exporter_env({"GITHUB_TOKEN": TOKEN}),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    running = RunningExporter(process, f"https://127.0.0.1:{port}", log_path, port)
    try:
        with https_client(certs) as client:
            wait_until(lambda: client.get(running.url + "/healthz").status_code == 200, 30, what="HTTPS")
        assert process.poll() is None, running.log()
        yield running
    finally:
        stop_process(process)


def https_client(certs: PKI) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(certs.ca.cert)), timeout=20)


@pytest.mark.e2e
def test_silent_tls_clients_beyond_the_descriptor_limit_leave_https_scrapes_working(
    fake: ServedFake,
    pki: PKI,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """``ulimit -n 64`` and 300 TCP connections that never send a ClientHello: HTTPS scrapes answer.

    They are counted from accept (the cap is 32 here, closing the longest-waiting first) and closed
    when the header timeout, which covers the handshake, runs out.
    """
    with tls_exporter(fake, pki, tmp_path, nofile=64) as running, https_client(pki) as client:
        silent = []
        try:
            for _ in range(300):
                silent.append(socket.create_connection(("127.0.0.1", running.port), timeout=30))
            for _ in range(5):
                assert client.get(running.url + "/healthz").status_code == 200
            assert "github_copilot_up" in client.get(running.url + "/metrics").text
            wait_until(lambda: all(closed_by_server(s) for s in silent), 30, what="the handshake timeout")
        finally:
            for sock in silent:
                sock.close()
        log = running.log()
    assert "out of system resource" not in log
    assert "Traceback" not in log
    assert "Uvicorn running on https://" in log


# -- 4. slow readers --------------------------------------------------------------------------------


def big_poll(fake: ServedFake) -> dict[str, object]:
    return {
        "github": {"api_url": fake.url, "requests_per_minute": 900, "max_concurrency": 8},
        "seat_metrics": {"max_series": 20_000},
        "usage": {"enabled": False},
    }


@pytest.mark.e2e
def test_a_reader_that_never_reads_is_cut_off_and_scrapes_keep_working(tmp_path: Path) -> None:
    # About 7 MB of /metrics: more than loopback's socket buffers hold, so a reader that never reads
    # keeps the response in flight.
    fake = serve_fake(standard_dataset(org_seats=16_000).app(per_minute_per_endpoint=100_000))
    with fake as served, guarded_exporter(served, tmp_path, **big_poll(served)) as running:
        assert len(running.get("/metrics", headers={"accept-encoding": "identity"}).content) > 5_000_000
        readers = []
        try:
            for _ in range(3):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny window, never read
                sock.connect(("127.0.0.1", running.port))
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
                readers.append(sock)
            wait_until(lambda: all(closed_by_server(s) for s in readers), 60, what="the write timeout")
        finally:
            for sock in readers:
                sock.close()
        assert running.get("/healthz").status_code == 200
        log = running.log()
    assert "Traceback" not in log
    assert "level=error" not in log


# -- 7. /seats.csv ----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_seats_csv_is_built_once_per_snapshot_however_many_ask(fake: ServedFake, tmp_path: Path) -> None:
    config = config_file(tmp_path, fake, usage={"enabled": False}, log={"level": "debug"})
    with start_exporter(["--config", str(config)], {"GITHUB_TOKEN": TOKEN}) as running:
        with ThreadPoolExecutor(6) as pool:
            bodies = list(pool.map(lambda _: running.get("/seats.csv").content, range(24)))
        json_body = running.get("/seats.json").content
        log = running.log()
    assert len(set(bodies)) == 1
    assert bodies[0].count(b"\n") == 251  # header and 250 seats
    assert json.loads(json_body)
    built = [line for line in log.splitlines() if 'msg="seat report built"' in line]
    assert len(built) == 2, built  # one CSV, one JSON


# -- settings ---------------------------------------------------------------------------------------


def test_web_timeouts_default_and_are_bounded() -> None:
    flags = {"org": ["acme"]}
    config = build_config(flags, {}, {"GITHUB_TOKEN": TOKEN})
    assert (config.web_read_header_timeout, config.web_write_timeout) == (10.0, 60.0)
    config = build_config(
        flags, {"web": {"read_header_timeout": "2s", "write_timeout": "5m"}}, {"GITHUB_TOKEN": TOKEN}
    )
    assert (config.web_read_header_timeout, config.web_write_timeout) == (2.0, 300.0)
    for key, value in [("read_header_timeout", "0s"), ("write_timeout", "2h"), ("write_timeout", "soon")]:
        with pytest.raises(ConfigError) as raised:
            build_config(flags, {"web": {key: value}}, {"GITHUB_TOKEN": TOKEN})
        assert raised.value.key == f"web.{key}"


def test_what_counts_as_a_request_body() -> None:
    assert not has_body([(b"host", b"x")])
    assert not has_body([(b"content-length", b"0")])
    assert not has_body([(b"content-length", b"000")])
    assert has_body([(b"content-length", b"1")])
    assert has_body([(b"transfer-encoding", b"chunked")])
