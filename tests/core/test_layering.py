"""Imports flow one way: core <- features <- models <- (training, service), and inside service,
from the rooms that decide (trust, batch, scoring, analysts) up to the doors (api, web, cli)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "trueclout": {"features", "models", "training", "service"},
    "features": {"models", "training", "service"},
    "models": {"training", "service"},
    "training": {"service"},
    "service": {"training"},
}
# The CLI root is the one place that composes everything.
EXEMPT = set((ROOT / "trueclout" / "cli").rglob("*.py"))

# Rooms of service (folders under service/) and the rooms each must not import.  The doors
# (api, web, cli) call the rooms; a room that imported a door would tie its logic to HTTP,
# HTML or a terminal.  db is the floor: every room stores through it, it serves none of them.
DOORS = {"api", "web", "cli"}
SERVICE_FORBIDDEN = {
    "trust": DOORS,
    "batch": DOORS,
    "scoring": DOORS,
    "analysts": DOORS,
    # The JSON API and the pages are separate doors; the app (runtime) mounts both.
    "api": {"web", "cli"},
    "db": {"trust", "batch", "scoring", "analysts", "runtime", *DOORS},
}
# Commands are entry points: only service/cli itself (and the CLI root) may import them.
CLI_ONLY = "trueclout.service.cli"
# (file, imported module) pairs that break a rule today and are left to the code's owners;
# each rule still holds for every other file.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


@cache
def _package_dirs() -> dict[Path, str]:
    """Folder -> dotted package, from ``package-dir`` in pyproject.toml."""
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {ROOT / folder: pkg for pkg, folder in cfg["package-dir"].items()}


def _module_of(path: Path) -> str:
    """The dotted module a source file is imported as."""
    for folder, pkg in _package_dirs().items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            return ".".join([pkg, *parts])
    raise ValueError(f"{path} is in no package")


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every module a file may import, lazily or not, in every spelling.

    ``from trueclout.service import api`` and ``from trueclout import service``
    import subpackages by name, so each imported name is recorded as
    ``module.name`` too (an attribute recorded that way is harmless: rules
    match packages); relative imports are resolved against the file's own
    package.
    """
    tree = ast.parse(path.read_text() if source is None else source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                package = _module_of(path).split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names if a.name != "*"}
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations(paths: list[Path], forbidden: set[str]) -> list[str]:
    bad = set()
    for path in paths:
        rel = str(path.relative_to(ROOT))
        for name in _imports(path):
            hit = next((f for f in forbidden if _within(name, f)), None)
            if hit and (rel, hit) not in KNOWN_EXCEPTIONS:
                bad.add(f"{rel} imports {hit} ({name})")
    return sorted(bad)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    paths = [p for p in (ROOT / package).rglob("*.py") if p not in EXEMPT]
    forbidden = {f"trueclout.{p}" for p in FORBIDDEN[package]}
    bad = _violations(paths, forbidden)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("room", sorted(SERVICE_FORBIDDEN))
def test_service_rooms_do_not_import_the_rooms_above_them(room: str) -> None:
    paths = sorted((ROOT / "service" / room).rglob("*.py"))
    assert paths, f"service/{room}/ is gone: update SERVICE_FORBIDDEN"
    forbidden = {f"trueclout.service.{r}" for r in SERVICE_FORBIDDEN[room]}
    bad = _violations(paths, forbidden)
    assert not bad, "\n".join(bad)


def test_only_service_cli_imports_service_cli() -> None:
    own = set((ROOT / "service" / "cli").rglob("*.py"))
    paths = [p for pkg in ("trueclout", *FORBIDDEN) for p in (ROOT / pkg).rglob("*.py")
             if p not in own and p not in EXEMPT]
    bad = _violations(sorted(set(paths)), {CLI_ONLY})
    assert not bad, "\n".join(bad)


def test_every_known_exception_still_exists() -> None:
    """A fixed violation must leave KNOWN_EXCEPTIONS, so the rule covers that file again."""
    stale = [(rel, hit) for rel, hit in sorted(KNOWN_EXCEPTIONS)
             if not any(_within(n, hit) for n in _imports(ROOT / rel))]
    assert not stale, f"no longer imported, remove from KNOWN_EXCEPTIONS: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from trueclout import service", "trueclout.service"),
        ("from trueclout.service import api", "trueclout.service.api"),
        ("from trueclout.service import web as pages", "trueclout.service.web"),
        ("import trueclout.service.cli.batch", "trueclout.service.cli.batch"),
        ("def f():\n    from trueclout.service.api.deps import X", "trueclout.service.api.deps"),
        ("from ..api import deps", "trueclout.service.api.deps"),
        ("from .. import web", "trueclout.service.web"),
    ],
)
def test_every_spelling_of_an_import_is_seen(source: str, expected: str) -> None:
    """As if written in service/scoring/: a rule is only as good as the imports it sees."""
    assert expected in _imports(ROOT / "service" / "scoring" / "example.py", source)


def test_every_subpackage_is_installed() -> None:
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(cfg["packages"])
    mapping = {v: k for k, v in cfg["package-dir"].items()}
    found = set()
    for folder, pkg in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([pkg, *rel.parts]) if rel.parts else pkg)
    assert found <= declared, f"add to pyproject packages: {sorted(found - declared)}"
