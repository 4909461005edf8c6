"""Architecture checks: the domain stays free of I/O and backends; registries name importable code."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import tactful
import tactful.domain

SRC = Path(tactful.__file__).parent
FORBIDDEN_IN_DOMAIN = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "httpx",
    "redis",
    "nats",
    "psycopg",
    "tactful.store",
    "tactful.api",
    "tactful.bus",
    "tactful.engine",
    "sqlite3",
    "requests",
)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_domain_imports_no_backend_or_io_library() -> None:
    for path in (SRC / "domain").glob("*.py"):
        bad = [m for m in imports_of(path) if m.startswith(FORBIDDEN_IN_DOMAIN)]
        assert not bad, f"{path.name} imports {bad}"


def test_policy_evaluation_imports_no_store_or_web() -> None:
    for name in ("types.py",):
        bad = [m for m in imports_of(SRC / "policy" / name) if m.startswith(("sqlalchemy", "fastapi"))]
        assert not bad


def test_every_module_imports() -> None:
    for info in pkgutil.walk_packages([str(SRC)], prefix="tactful."):
        if ".migrations" in info.name:
            continue  # alembic env modules run only under alembic
        importlib.import_module(info.name)


def test_domain_all_is_curated() -> None:
    exported = set(tactful.domain.__all__)
    assert exported == {name for name in dir(tactful.domain) if not name.startswith("_")} - {
        "channels",
        "customer",
        "decision",
        "events",
        "ids",
        "intents",
        "message",
        "outcome",
        "signals",
        "timestamps",
        "tone",
    }


def test_store_and_bus_registries_open_every_scheme(tmp_path: Path) -> None:
    from tactful.bus import open_bus
    from tactful.errors import InputRejected
    from tactful.store import open_store

    open_bus("memory://").close()
    open_store(f"sqlite:///{tmp_path / 'x.db'}").close()
    for bad in ("mysql://x", "nosuch"):
        try:
            open_store(bad)
        except InputRejected as exc:
            assert exc.code == "unsupported_store_url"
        else:
            raise AssertionError(f"{bad} accepted")
