"""The package's shape: layers imported downwards only, no import cycle, small modules, no HTTP
transport of its own, no private APIs."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "exporter"
#: "Modules under about 400 lines": a little slack, so that a docstring does not force a split.
MAX_LINES = 420


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``path`` imports when it is loaded (``if TYPE_CHECKING:`` blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    # Importing a module imports the packages above it: a package's __init__ importing a submodule
    # that imports the package is how re-exports work, not a cycle of the design.
    for name, edges in graph.items():
        graph[name] = {e for e in edges if not name.startswith(e + ".") and e != name}
    return graph


#: The layers, lowest first: a module imports from its own layer and the ones below, never above. A
#: module belongs to the layer of the longest prefix that names it; a new module must be placed here.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "exporter",
            "exporter.errors",
            "exporter.secrets",
            "exporter.redaction",
            "exporter.stamps",
            "exporter.caching",
            "exporter.logs",
            "exporter.malloc",
            "exporter.gc_tuning",
            # Processes to parse in, for any source's reading: lines in, plain values out.
            "exporter.workers",
            # Leaves used on both sides of the sources: prometheus_client families to bytes, ASGI types.
            "exporter.exposition",
            "exporter.web.asgi",
        ),
    ),
    ("config", ("exporter.config",)),
    ("github", ("exporter.github", "exporter.privacy")),
    # What the poller publishes: snapshots by (source, target), read by the sources' routes too.
    ("state", ("exporter.state",)),
    ("sources", ("exporter.sources",)),
    (
        "running",
        (
            "exporter.collector",
            "exporter.poller",
            "exporter.health",
            "exporter.backfill",
            "exporter.reclaim",
            "exporter.demo",
        ),
    ),
    # The composition root: builds the client and the registered sources for the server and commands.
    ("wiring", ("exporter.wiring",)),
    ("serving", ("exporter.web", "exporter.commands")),
    ("cli", ("exporter.cli", "exporter.__main__")),
)


def _layer(module: str) -> int | None:
    """The rank of the layer whose longest prefix names ``module`` ("exporter" alone: only its __init__)."""
    matches = [
        (len(prefix), rank)
        for rank, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or (prefix != "exporter" and module.startswith(prefix + "."))
    ]
    return max(matches)[1] if matches else None


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imports in sorted(graph.items()):
        here = _layer(module)
        for imported in sorted(imports):
            there = _layer(imported)
            if here is not None and there is not None and there > here:
                found.append(f"{module} ({LAYERS[here][0]}) imports {imported} ({LAYERS[there][0]})")
    return found


def _forbidden(graph: dict[str, set[str]], importer: str, banned: tuple[str, ...]) -> list[str]:
    """Imports by ``importer`` and the modules below it of any module under one of ``banned``."""
    return [
        f"{module} imports {imported}"
        for module, imports in sorted(graph.items())
        if module == importer or module.startswith(importer + ".")
        for imported in sorted(imports)
        if any(imported == b or imported.startswith(b + ".") for b in banned)
    ]


def test_every_module_has_a_layer() -> None:
    assert not [name for name in _modules() if _layer(name) is None]


def test_the_layers_are_imported_downwards_only() -> None:
    # config -> github -> sources -> collector/poller/state -> web/commands -> cli
    assert not _upward_imports(_graph())


def test_the_layer_check_finds_an_upward_import() -> None:
    graph = {"exporter.github.client": {"exporter.web.app"}, "exporter.web.app": {"exporter.config.model"}}
    assert _upward_imports(graph) == ["exporter.github.client (github) imports exporter.web.app (serving)"]


def test_a_source_imports_nothing_of_another_source_the_web_layer_or_the_commands() -> None:
    graph = _graph()
    sources = sorted(
        {
            name.split(".")[2]
            for name in graph
            if name.count(".") >= 2 and name.startswith("exporter.sources.")
        }
    )
    # What every source shares (the protocol, the spec type) and the registry that lists them all.
    shared = ("base", "spec", "registry")
    found = []
    for source in sources:
        if source in shared:
            continue
        others = tuple(f"exporter.sources.{o}" for o in sources if o not in (source, *shared))
        found += _forbidden(
            graph,
            f"exporter.sources.{source}",
            (*others, "exporter.sources.registry", "exporter.web", "exporter.commands"),
        )
    assert sources
    assert not found


def test_the_import_checks_find_a_forbidden_import() -> None:
    graph = {"exporter.sources.usage.fetch": {"exporter.sources.seats.model", "exporter.sources.base"}}
    banned = ("exporter.sources.seats", "exporter.web")
    assert _forbidden(graph, "exporter.sources.usage", banned) == [
        "exporter.sources.usage.fetch imports exporter.sources.seats.model"
    ]


def test_the_github_layer_imports_no_config_loader_logs_sources_or_web() -> None:
    # "exporter.config" is the package, whose __init__ loads the loader; its model modules are fine.
    graph = _graph()
    banned = ("exporter.config.loader", "exporter.logs", "exporter.sources", "exporter.web")
    found = _forbidden(graph, "exporter.github", banned)
    found += [
        f"{m} imports exporter.config"
        for m, i in graph.items()
        if m.startswith("exporter.github") and "exporter.config" in i
    ]
    assert not found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_is_over_about_400_lines() -> None:
    long = {
        name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long


def test_no_module_defines_an_http_transport() -> None:
    # httpx moves the bytes; a parser of our own on the path of a bearer token is not wanted.
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "AsyncBaseTransport)" not in text, path
        assert "asyncio.open_connection" not in text, path


def test_no_private_attribute_of_a_dependency_is_used() -> None:
    dependencies = ("uvicorn", "httpx", "prometheus_client", "httpcore", "asyncio", "ssl", "bcrypt", "jwt")
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in dependencies:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path}: imports {private} from {node.module}"
                assert not any(part.startswith("_") for part in node.module.split(".")), path
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                assert not any(b.startswith(("uvicorn.", "httpx.")) for b in bases), f"{path}: {node.name}"


#: What only the test suite's fake GitHub (tests/fakegithub) does: faults, recorded requests, App JWT
#: checks, latency and secondary-limit emulation, hostile download hosts.
TEST_MACHINERY = re.compile(
    r"class \w*Fault\b|jwt_problem|record_requests|RecordedRequest|jwt\.decode|secondary_limit"
    r"|\.faults\b|\.latency\b|fail_status|\.rewrite\b"
)
#: Lines the demo world and its read-only answerer may take: room for the reports GitHub adds, not for
#: a fault-injecting fake (which was 2,400 lines here).
DEMO_BUDGET = 2_600


def _test_machinery(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{path.name}: {m[0]}" for m in TEST_MACHINERY.finditer(text)]


def test_the_package_holds_no_test_machinery() -> None:
    assert not [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _test_machinery(path)]
    assert not _imports_of_tests(), "the installed package imports the test suite"


def _imports_of_tests() -> list[str]:
    return [
        f"{name}: {module}"
        for name, path in _modules().items()
        for module in _imports(path, _modules())
        if module == "tests" or module.startswith("tests.")
    ]


def test_the_machinery_check_finds_the_test_fake() -> None:
    fake = PACKAGE.parent / "tests" / "fakegithub"
    found = {hit.split(": ")[1] for path in fake.rglob("*.py") for hit in _test_machinery(path)}
    assert {"class Fault", "jwt_problem", "record_requests", "fail_status", "secondary_limit"} <= found


def test_the_demo_stays_a_world_and_a_read_only_answerer() -> None:
    demo = PACKAGE / "demo"
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in demo.rglob("*.py"))
    assert lines <= DEMO_BUDGET, (
        f"exporter/demo has {lines} lines: does test machinery belong in tests/fakegithub?"
    )
    # Demo mode answers reads only: nothing in it takes a request body.
    assert not [p for p in demo.rglob("*.py") if re.search(r'"(POST|DELETE|PATCH|PUT)"', p.read_text())]


@pytest.mark.e2e
def test_the_wheel_holds_no_test_machinery(tmp_path: Path) -> None:
    # Built from a copy: setuptools' build/ directory would otherwise land in the checkout, and a stale
    # one adds files to the wheel that the source no longer has.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PACKAGE.parent / name, source / name)
    shutil.copytree(PACKAGE, source / "exporter", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(tmp_path)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "exporter/demo/world.py" in names  # the demo mode's world ships
    assert not [n for n in names if n.startswith("tests/") or "fakegithub" in n]
    moved = (
        "fake_github",
        "fake_apps",
        "fake_seat_writes",
        "fake_recorded_usage",
        "serving",
        "fake_downloads",
    )
    assert not [n for n in names if Path(n).stem in moved]
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    assert not [hit for path in sorted(unpacked.rglob("*.py")) for hit in _test_machinery(path)]
