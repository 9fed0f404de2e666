"""Start the installed console script on demo data, scrape /metrics once, stop it.

    python tools/smoke.py   # with the interpreter of the virtualenv to check

`make test-floors` runs it in a virtualenv holding only the runtime dependencies at their floors, before
any test tool is installed there: a dependency that imports a package nobody declared (as the yanked
prometheus-client 0.23.0 did with ``packaging``) fails here, as it would on a user's clean install.
Standard library only, so that it adds nothing to the environment it checks.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

#: Always exposed, and the demo's seats once its first poll is published.
EXPECTED = ("github_copilot_exporter_build_info", "github_copilot_seats{")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def smoke(script: Path, timeout: float) -> tuple[list[str], str]:
    """What is wrong with the exporter ``script`` runs, one line each (none when it served its metrics),
    and its log."""
    base = f"http://127.0.0.1:{free_port()}"
    command = [str(script), "--demo", "--web.listen-address", base.removeprefix("http://")]
    problems: list[str] = []
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if get(f"{base}/readyz")[0] == 200:
                        break
                except OSError:  # not listening yet
                    pass
                time.sleep(0.2)
            if process.poll() is not None:
                problems.append(f"{' '.join(command)} exited with {process.returncode}")
            else:
                status, body = get(f"{base}/metrics")
                problems += [] if status == 200 else [f"/metrics answered {status}"]
                problems += [f"/metrics has no {name}" for name in EXPECTED if name not in body]
        except OSError as exc:
            problems.append(f"{base}: {exc}")
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.seek(0)
        return problems, log.read().decode(errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(sys.executable).with_name("github-copilot-exporter")
    parser.add_argument("--script", type=Path, default=default, help=f"default {default}")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for readiness")
    args = parser.parse_args()
    problems, output = smoke(args.script, args.timeout)
    if problems:
        print(output, file=sys.stderr, end="")
    for problem in problems:
        print(f"smoke: {problem}", file=sys.stderr)
    if not problems:
        print(f"smoke: {args.script} --demo served /metrics")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
