"""The lock files in requirements/ are in step with pyproject.toml: whatever
pyproject asks for is pinned there, to a version it allows, with hashes, so
scripts/python-env.sh's `pip install --require-hashes --no-deps` installs all
of it and nothing unpinned. When this fails, run scripts/lock."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = sorted(PYPROJECT["project"]["optional-dependencies"])
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<options>.*)$")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")


def lock_entries(path: Path) -> dict[str, tuple[Version, list[str]]]:
    """name -> (pinned version, hashes) of a pip requirements file written by scripts/lock."""
    text = re.sub(r"\\\n", " ", path.read_text())
    entries = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {line[:80]}"
        entries[canonicalize_name(match["name"])] = (Version(match["version"]), HASH.findall(match["options"]))
    return entries


def requirements_of(extra: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    return [Requirement(spec) for spec in project["dependencies"] + project["optional-dependencies"][extra]]


def assert_pinned_within(requirements: list[Requirement], lock: Path) -> None:
    entries = lock_entries(lock)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{requirement} is not in {lock.name}: run scripts/lock"
        version, _ = entries[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {name}=={version}, outside {requirement}: run scripts/lock"
        )


@pytest.mark.parametrize("extra", EXTRAS)
def test_every_dependency_of_an_extra_is_pinned_in_its_lock(extra):
    assert_pinned_within(requirements_of(extra), ROOT / "requirements" / f"{extra}.txt")


def test_the_build_tools_are_locked_too():
    build = [Requirement(spec) for spec in PYPROJECT["build-system"]["requires"]] + [Requirement("pip")]
    assert_pinned_within(build, ROOT / "requirements" / "build.txt")


@pytest.mark.parametrize("lock", ["build", *EXTRAS])
def test_every_locked_package_has_an_exact_version_and_hashes(lock):
    entries = lock_entries(ROOT / "requirements" / f"{lock}.txt")
    assert entries
    for name, (_, hashes) in entries.items():
        assert hashes, f"{lock}.txt: {name} has no hash"


def test_the_serve_lock_runs_the_versions_the_tests_ran():
    tested = lock_entries(ROOT / "requirements" / "test.txt")
    served = lock_entries(ROOT / "requirements" / "serve.txt")
    assert served.keys() <= tested.keys()
    assert {name: version for name, (version, _) in served.items()} == {
        name: tested[name][0] for name in served
    }
