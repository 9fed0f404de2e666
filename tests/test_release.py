"""Releases: the workflow that publishes the image (checked by actionlint), and the CHANGELOG it follows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import __version__
from tests.support import REPO
from tests.test_deployment import KUSTOMIZE_DIR, tool

WORKFLOWS = REPO / ".github" / "workflows"
RELEASE = WORKFLOWS / "release.yml"
CHANGELOG = REPO / "CHANGELOG.md"
#: An exact release (v1.2.3) or a commit: never a moving major tag or a branch.
PINNED = re.compile(r"[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})")


def workflow(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def actionlint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("actionlint"), "-no-color", "-oneline", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


@pytest.mark.e2e
def test_every_workflow_passes_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert RELEASE in files
    result = actionlint(*map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr
    # The linter really reads what it is given: an injectable expression in a script fails it.
    bad = "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
    bad += "      - run: echo ${{ github.head_ref }}\n"
    refused = actionlint("-", stdin=bad)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "untrusted" in refused.stdout


def test_release_publishes_the_image_the_kustomization_pulls_on_a_version_tag() -> None:
    release = workflow(RELEASE)
    # PyYAML reads the key `on` as the boolean True.
    assert release[True] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {"contents": "read"}
    (job,) = release["jobs"].values()
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    steps = job["steps"]
    uses = [step["uses"] for step in steps if "uses" in step]
    for action in uses:
        assert PINNED.fullmatch(action), f"{action}: pin an exact release"
    names = [action.partition("@")[0] for action in uses]
    assert {"docker/login-action", "docker/build-push-action"} <= set(names)
    login = next(s for s in steps if s.get("uses", "").startswith("docker/login-action@"))
    assert login["with"]["registry"] == "ghcr.io"
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"
    build = next(s for s in steps if s.get("uses", "").startswith("docker/build-push-action@"))
    assert build["with"]["file"] == "Dockerfile"
    assert build["with"]["push"] is True
    assert "VERSION=${{ steps.version.outputs.version }}" in build["with"]["build-args"]
    # The version check runs before anything is pushed.
    check = next(i for i, s in enumerate(steps) if s.get("id") == "version")
    assert check < steps.index(build)
    assert "exporter/__init__.py" in steps[check]["run"]
    assert "GITHUB_REF_NAME" in steps[check]["run"]
    kustomization = yaml.safe_load((KUSTOMIZE_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    (image,) = kustomization["images"]
    assert release["env"]["IMAGE"] == image["name"]
    assert image["newTag"] == __version__


@pytest.mark.e2e
def test_the_version_check_of_the_release_accepts_only_the_package_version(tmp_path: Path) -> None:
    (job,) = workflow(RELEASE)["jobs"].values()
    script = next(s for s in job["steps"] if s.get("id") == "version")["run"]
    (tmp_path / "exporter").mkdir()
    (tmp_path / "exporter" / "__init__.py").write_text('"""Doc."""\n\n__version__ = "1.2.3"\n')
    output = tmp_path / "output"

    def run(tag: str) -> subprocess.CompletedProcess[str]:
        env = {"GITHUB_REF_NAME": tag, "GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    assert run("v1.2.3").returncode == 0
    assert output.read_text().splitlines() == ["version=1.2.3", "minor=1.2"]
    refused = run("v1.2.4")
    assert refused.returncode == 1
    assert "exporter/__init__.py says 1.2.3" in refused.stdout


def test_changelog_keeps_a_changelog_with_an_unreleased_section_and_the_package_version() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert "https://keepachangelog.com/" in text
    assert "https://semver.org/" in text
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?", text, flags=re.MULTILINE)
    assert headings[0] == ("Unreleased", "")
    versions = [v for v, _ in headings[1:]]
    assert __version__ in versions, f"CHANGELOG.md has no section for {__version__}"
    for version, day in headings[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        assert day, f"{version} has no release date"
    sections = set(re.findall(r"^### (\w+)", text, flags=re.MULTILINE))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, sections
