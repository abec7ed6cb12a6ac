"""The public façade is curated: explicit, sorted, complete and importable."""

from __future__ import annotations

import ast
from pathlib import Path

import reconcile

INIT = Path(reconcile.__file__)


def _isort_order(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_unique() -> None:
    """`__all__` lists each name once, in sorted order."""
    assert sorted(set(reconcile.__all__), key=_isort_order) == list(reconcile.__all__)


def test_all_matches_the_names_imported() -> None:
    """Every re-exported name is in `__all__` and every `__all__` name is re-exported."""
    tree = ast.parse(INIT.read_text())
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reconcile")
        for alias in node.names
    }
    assert imported == set(reconcile.__all__)


def test_init_only_reexports() -> None:
    """`reconcile/__init__.py` defines nothing of its own."""
    tree = ast.parse(INIT.read_text())
    defined = [
        type(node).__name__
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert [] == defined


def test_every_public_name_resolves() -> None:
    """Each name in `__all__` is an attribute of the package."""
    missing = [name for name in reconcile.__all__ if not hasattr(reconcile, name)]
    assert [] == missing
