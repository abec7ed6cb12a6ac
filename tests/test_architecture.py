"""The layering rules of the tree, enforced by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import reconcile
import reconcile.testing
import reconcile.verify

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["model", "primitives", "cluster", "runtime", "verify"]
# Top-level modules of `reconcile` and the lowest layer each may sit beside.
TOP_LEVEL = {"errors": -1, "planted": -1, "logs": 1, "testing": 99, "__init__": 99}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "reconcile" or len(parts) < 2:
        return None
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return TOP_LEVEL.get(parts[1])


@pytest.mark.parametrize("path", _modules("reconcile"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_upward_imports(path: Path) -> None:
    """A layer imports only from itself and the layers below it."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    own = _layer_of(module)
    assert own is not None
    upward = sorted(
        name
        for name in _imports(path)
        if (layer := _layer_of(name)) is not None and layer > own and layer != 99
    )
    assert [] == upward


@pytest.mark.parametrize(
    "path", _modules("reconcile/model"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_model_never_imports_asyncio(path: Path) -> None:
    """Values are pure: the model layer has no event loop."""
    assert "asyncio" not in {name.split(".")[0] for name in _imports(path)}


@pytest.mark.parametrize("path", _modules("reconcile"), ids=lambda p: str(p.relative_to(ROOT)))
def test_framework_never_imports_controllers_or_examples(path: Path) -> None:
    """`reconcile` is kind-agnostic: it knows nothing of the built-in controllers."""
    roots = {name.split(".")[0] for name in _imports(path)}
    assert set() == roots & {"controllers", "examples", "tests", "benchmarks"}


@pytest.mark.parametrize("path", _modules("controllers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_controllers_use_only_the_public_api(path: Path) -> None:
    """Built-in controllers import `reconcile` only through its curated façade."""
    public = {f"reconcile.{name}" for name in reconcile.__all__}
    # The verification harness also builds on reconcile's test-time façades.
    if path.relative_to(ROOT).parts[:2] == ("controllers", "verify"):
        for facade in (reconcile.verify, reconcile.testing):
            public |= {facade.__name__} | {f"{facade.__name__}.{n}" for n in facade.__all__}
    private = sorted(
        name for name in _imports(path) if name.startswith("reconcile.") and name not in public
    )
    assert [] == private


WALL_CLOCK_CALLS = {
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "sleep"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def _wall_clock_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = (
                owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            )
            if (owner_name, node.func.attr) in WALL_CLOCK_CALLS:
                found.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} {owner_name}.{node.func.attr}"
                )
    return found


def test_library_code_never_reads_the_wall_clock() -> None:
    """Only `SystemClock` reads the host's clocks; everything else asks an injected Clock."""
    offenders = [
        call
        for path in _modules("reconcile")
        if path.name != "clock.py"
        for call in _wall_clock_calls(path)
    ]
    assert [] == offenders
