"""The pure-core rule: pure packages never import I/O layers or I/O libraries.

Pure modules get time and randomness as arguments and never touch a database,
network, subprocess or the clock; this test reads every module's imports (the
AST, so imports inside functions count too) and fails on a forbidden one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "gatewatch"

# Packages (or single modules) that must stay pure, relative to src/gatewatch.
PURE = [
    "domain",
    "ingest",
    "query",
    "analyse",
    "gate/plan.py",
    "gate/plan_process.py",
    "gate/plan_queue.py",
    "gate/plan_json.py",
    "gate/jobs.py",
    "gate/sim",
    "notify/render.py",
]
# I/O edges inside pure packages: allowed to do I/O.
IO_EDGES = ["ingest/sources"]

FORBIDDEN_OURS = (
    "gatewatch.store",
    "gatewatch.services",
    "gatewatch.cli",
    "gatewatch.web",
    "gatewatch.config",
)
FORBIDDEN_LIBS = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "httpx",
    "requests",
    "urllib.request",
    "smtplib",
    "subprocess",
    "socket",
    "shutil",
    "tempfile",
    "rich",
    "click",
    "fastapi",
)


def _pure_modules() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        path = SRC / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
    edges = [SRC / e for e in IO_EDGES]
    return [f for f in files if not any(f.is_relative_to(e) for e in edges)]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _is_forbidden(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_imports_no_io(path: Path) -> None:
    bad = [
        f"{path.relative_to(SRC)}:{line} imports {name}"
        for line, name in _imports(path)
        if _is_forbidden(name, FORBIDDEN_OURS + FORBIDDEN_LIBS)
    ]
    assert not bad, "pure module does I/O:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "path", sorted((SRC / "domain").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_domain_imports_nothing_else_of_ours(path: Path) -> None:
    bad = [
        name
        for _, name in _imports(path)
        if name.startswith("gatewatch.") and not name.startswith("gatewatch.domain")
    ]
    assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_only_store_imports_sqlalchemy() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "store"):
            continue
        offenders += [
            f"{path.relative_to(SRC)}:{line}"
            for line, name in _imports(path)
            if _is_forbidden(name, ("sqlalchemy", "alembic"))
        ]
    assert not offenders, "SQLAlchemy outside store/: " + ", ".join(offenders)


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import subprocess\n    from gatewatch.store import x\n")
    names = [n for _, n in _imports(bad)]
    assert _is_forbidden(names[0], FORBIDDEN_LIBS)
    assert _is_forbidden(names[1], FORBIDDEN_OURS)
