"""The shape of the imports, read from the source (ast) and from a fresh
interpreter: the libraries under `signing/`, `search/` and `storage/` stand
on their own (they are used by docsvc, never the other way round), and
importing the package `docsvc` or its error types loads no framework, so the
CLI's error line and the parse children stay light."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("signing", "search", "storage")
# What `import docsvc` must not pull in: the web framework, the database,
# the task queue, the signing stack and the PDF engines.
HEAVY = ("flask", "werkzeug", "sqlalchemy", "celery", "kombu", "pyhanko", "pikepdf", "pypdfium2")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (also inside functions), relative imports resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


def library_files() -> list[Path]:
    return sorted(path for library in LIBRARIES for path in (ROOT / library).rglob("*.py"))


def test_the_contract_sees_every_library_module():
    names = {module_name(path) for path in library_files()}
    assert {"signing.verify", "search.elastic", "storage.minio_store"} <= names


@pytest.mark.parametrize("path", library_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_libraries_never_import_docsvc(path):
    offending = sorted(name for name in imported_modules(path) if name == "docsvc" or name.startswith("docsvc."))
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}; signing/, search/ and storage/ stand alone"


def test_relative_imports_are_resolved_to_the_package(tmp_path, monkeypatch):
    # The reader must not miss `from .. import x`: a relative import is read as its absolute name.
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    module = tmp_path / "signing" / "sub" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("from . import a\nfrom ..b import c\nimport docsvc.errors\n")
    assert imported_modules(module) == {"signing.sub", "signing.b", "docsvc.errors"}


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize("statement", ["import docsvc", "import docsvc.errors"])
def test_importing_docsvc_loads_nothing_heavy(statement):
    heavy_loaded = sorted(modules_loaded_by(statement) & set(HEAVY))
    assert not heavy_loaded, f"`{statement}` loads {heavy_loaded}"


def test_the_application_factory_is_still_reachable_from_the_package():
    # `flask --app docsvc` looks for `create_app` on the package.
    assert "flask" in modules_loaded_by("import docsvc; docsvc.create_app")


# --- domain packages -------------------------------------------------------------

from docsvc.web.blueprints import DOMAINS  # noqa: E402  (the list the application registers)

# What another package may reach inside a domain for: the view models of its
# part of the document page, which docsvc.web.document_page puts together.
SHARED_INSIDE = frozenset({"views"})


def reached_modules(path: Path) -> set[str]:
    """Like imported_modules, but `from docsvc.incoming import handling`
    counts as reaching docsvc.incoming.handling, not the face."""
    found = set()
    for name in imported_modules(path):
        found.add(name)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            folder = ROOT.joinpath(*node.module.split("."))
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir())
    return found


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "docsvc" and parts[1] in DOMAINS else None


def service_files() -> list[Path]:
    return sorted((ROOT / "docsvc").rglob("*.py"))


def test_every_domain_has_a_face_and_its_routes():
    for domain in DOMAINS:
        folder = ROOT / "docsvc" / domain
        assert (folder / "__init__.py").read_text().strip(), f"{domain} has no public face"
        assert (folder / "api.py").exists() and (folder / "pages.py").exists(), f"{domain} keeps its routes elsewhere"


@pytest.mark.parametrize("path", service_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_domains_use_each_other_only_through_their_faces(path):
    own = domain_of(module_name(path))
    offending = sorted(
        name for name in reached_modules(path)
        if domain_of(name) not in (None, own) and len(name.split(".")) > 2 and name.split(".")[2] not in SHARED_INSIDE
    )
    assert not offending, (f"{path.relative_to(ROOT)} reaches inside {offending}; "
                           "import the package's face (docsvc/<domain>/__init__.py) instead")


# The entry points stand on top of every domain; presenters turns any domain's
# rows into the JSON the API and the command line answer with.
ON_TOP = frozenset({"cli", "tasks", "app", "server", "wsgi", "presenters"})


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "docsvc").glob("*.py") if p.stem not in ON_TOP),
                         ids=lambda path: path.name)
def test_platform_modules_import_no_domain(path):
    offending = sorted(name for name in reached_modules(path) if domain_of(name))
    assert not offending, f"{path.relative_to(ROOT)} is platform but imports {offending}"
