"""Every file or folder the code names at module level beside its own source
(`Path(__file__)...`) exists in the checkout. Moving a module into a package
changes what `parent` means; this catches the path that was left behind
before a user reaches the page that reads it."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("docsvc", "signing", "search", "storage")


def modules_naming_their_own_files() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__file__" in path.read_text():
                parts = list(path.relative_to(ROOT).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                names.append(".".join(parts))
    return names


@pytest.mark.parametrize("name", modules_naming_their_own_files())
def test_module_level_paths_exist(name: str) -> None:
    module = importlib.import_module(name)
    paths = {attr: value for attr, value in vars(module).items() if isinstance(value, Path)}
    missing = {attr: str(value) for attr, value in paths.items() if not value.exists()}
    assert not missing, f"{name} names files that are not there: {missing}"


def test_the_scan_found_the_modules_that_name_files() -> None:
    # If the scan found nothing, the test above would pass by checking nothing.
    assert {"docsvc.documents.thumbnails", "docsvc.migrate"} <= set(modules_naming_their_own_files())
