"""The floors `make test-floors` installs: each lower bound of pyproject.toml, exactly, as pip takes it.

tools/floors.py reads them with a small parser of its own (it runs before any virtualenv exists);
here packaging, pip's own parser, reads pyproject.toml independently.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import REPO
from tools.floors import floor, floors, same_release
from tools.smoke import smoke

SCRIPT = REPO / "tools" / "floors.py"
DEPENDENCIES = [
    Requirement(r)
    for r in tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
]


def test_every_runtime_dependency_is_pinned_at_its_lower_bound() -> None:
    pins = floors()
    assert [canonicalize_name(n) for n in pins] == [canonicalize_name(r.name) for r in DEPENDENCIES]
    for requirement in DEPENDENCIES:
        (lower,) = [s.version for s in requirement.specifier if s.operator == ">="]
        pinned = pins[requirement.name]
        assert Version(pinned) == Version(lower), requirement
        assert requirement.specifier.contains(pinned), f"{requirement} excludes its own floor"


def test_the_script_prints_constraints_pip_accepts() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True)
    constraints = [Requirement(line) for line in result.stdout.splitlines()]
    assert len(constraints) == len(DEPENDENCIES)
    for constraint in constraints:
        # pip refuses extras and markers in a constraints file; only an exact version pins.
        assert not constraint.extras, constraint
        assert constraint.marker is None, constraint
        assert [s.operator for s in constraint.specifier] == ["=="], constraint


@pytest.mark.parametrize(
    "requirement",
    [
        "httpx<1",  # no floor: the oldest release ever published would be allowed
        "httpx>=0.27,>=0.28",
        "httpx>=0.27rc1",  # not a plain release number
        "httpx>=0.27; python_version < '3.12'",
    ],
)
def test_a_requirement_without_one_installable_floor_is_refused(requirement: str) -> None:
    with pytest.raises(ValueError, match="httpx"):
        floor(requirement)


def test_extras_are_dropped_from_the_pin() -> None:
    assert floor("PyJWT[crypto] >= 2.8, <3") == ("PyJWT", "2.8")


def test_releases_compare_with_zero_padding() -> None:
    assert same_release("2.8.0", "2.8")
    assert same_release("42", "42.0.0")
    assert not same_release("2.8.1", "2.8")
    assert not same_release("2.8.0rc1", "2.8")


# Releases PyPI has yanked, each for a reason that breaks or endangers the exporter: a floor must be
# past them (pip still installs a yanked release when pinned exactly, with a mere warning).
YANKED = {
    "prometheus-client": {"0.23.0"},  # imports packaging without declaring it: dies at import
    "bcrypt": {"4.1.0"},
}


def test_no_floor_is_a_yanked_release() -> None:
    pins = {canonicalize_name(name): version for name, version in floors().items()}
    for name, versions in YANKED.items():
        assert Version(pins[canonicalize_name(name)]) > max(Version(v) for v in versions), name


def test_the_floors_check_runs_the_exporter_before_the_test_tools_go_in() -> None:
    """make test-floors: the runtime dependencies alone, the console script serving /metrics (smoke.py),
    then the test tools, which bring packages (packaging, ...) that could hide an undeclared import."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    runtime = re.search(r"^\$\(FLOORS_VENV\)/\.runtime:.*?\n((?:\t.*\n)+)", makefile, re.M)
    installed = re.search(
        r"^\$\(FLOORS_VENV\)/\.installed: \$\(FLOORS_VENV\)/\.runtime\n((?:\t.*\n)+)", makefile, re.M
    )
    assert runtime, "the floors targets moved: update this test"
    assert installed, "the floors targets moved: update this test"
    recipe = runtime.group(1)
    assert "-e .\n" in recipe
    assert "[dev]" not in recipe
    assert recipe.index("-e .\n") < recipe.index("tools/smoke.py")
    assert "-e '.[dev]'" in installed.group(1)


@pytest.mark.e2e
def test_the_smoke_check_reports_a_script_that_dies_at_import(tmp_path: Path) -> None:
    script = tmp_path / "github-copilot-exporter"
    script.write_text(f"#!{sys.executable}\nimport packaging_that_nobody_declared\n")
    script.chmod(0o755)
    problems, log = smoke(script, timeout=30)
    assert problems == [f"{script} --demo --web.listen-address {problems[0].split()[3]} exited with 1"]
    assert "ModuleNotFoundError: No module named 'packaging_that_nobody_declared'" in log


@pytest.mark.e2e
def test_the_smoke_check_passes_on_the_installed_exporter() -> None:
    script = Path(sys.executable).with_name("github-copilot-exporter")
    if not script.exists():
        pytest.skip("the console script is not installed beside this interpreter")
    problems, log = smoke(script, timeout=60)
    assert problems == [], log
