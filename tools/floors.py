"""The lowest version pyproject.toml allows of each runtime dependency, as pip constraints.

    python tools/floors.py              # name==floor, one a line, for `pip install -c`
    python tools/floors.py --installed  # fails unless this interpreter has exactly those versions

`make test-floors` installs the package under these constraints and runs the test suite there, so a
lower bound that stops working fails the build instead of a user's install. Standard library only:
it runs with the system interpreter before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<specifiers>[^;]*)")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def floor(requirement: str) -> tuple[str, str]:
    """The name (without extras) and the ``>=`` bound of a requirement; ValueError if it has none.

    A floor must be a plain release number: it is installed as such, and compared as such.
    """
    match = _REQUIREMENT.fullmatch(requirement.strip())
    if match is None:
        raise ValueError(f"{requirement!r}: cannot read this requirement (environment markers?)")
    bounds = [s.strip()[2:].strip() for s in match["specifiers"].split(",") if s.strip().startswith(">=")]
    if len(bounds) != 1 or not _RELEASE.fullmatch(bounds[0]):
        raise ValueError(f"{requirement!r}: needs exactly one lower bound '>=N.N' that the tests can install")
    return match["name"], bounds[0]


def floors(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """Name -> lowest allowed version for every entry of ``[project].dependencies``."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return dict(floor(requirement) for requirement in dependencies)


def same_release(a: str, b: str) -> bool:
    """Whether two plain release numbers name the same version (``2.8`` is ``2.8.0``)."""
    if not (_RELEASE.fullmatch(a) and _RELEASE.fullmatch(b)):
        return False
    parts_a, parts_b = ([int(p) for p in v.split(".")] for v in (a, b))
    width = max(len(parts_a), len(parts_b))
    return parts_a + [0] * (width - len(parts_a)) == parts_b + [0] * (width - len(parts_b))


def check_installed(pins: dict[str, str]) -> list[str]:
    """One line per pin saying what is installed; lines starting with ``!`` are mismatches."""
    lines = []
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "missing"
        mark = " " if same_release(installed, version) else "!"
        lines.append(f"{mark} {name} {installed} (floor {version})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--installed", action="store_true", help="check this interpreter's versions")
    args = parser.parse_args()
    try:
        pins = floors()
    except ValueError as exc:
        print(f"pyproject.toml: {exc}", file=sys.stderr)
        return 1
    if not args.installed:
        print("".join(f"{name}=={version}\n" for name, version in pins.items()), end="")
        return 0
    lines = check_installed(pins)
    print("\n".join(lines))
    return 1 if any(line.startswith("!") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
