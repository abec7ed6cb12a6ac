"""
Planted bugs: deliberate defects a test suite switches on to prove its checks bite.

A controller marks the spot where a known mistake would go with
:func:`planted`, which is false unless a test has switched that bug on::

    surge = max_surge(spec)
    if reconcile.planted("deployment.surge-rounded-down"):
        surge = math.floor(...)   # the mistake, kept next to the correct code

Bugs are declared once with :func:`declare` (a name, the component and what
goes wrong), so a harness can list the catalogue and assert that it detects
every entry. Nothing is switched on by default and nothing outside a test
switches one on: :func:`plant` is a context manager that restores the
previous set on exit.

The check is one set lookup: cheap enough for hot paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import attrs

__all__ = ["PlantedBug", "catalogue", "declare", "plant", "planted"]


@attrs.frozen(kw_only=True)
class PlantedBug:
    """A declared defect: its ``name`` (``component.what``), owner and effect."""

    name: str
    component: str
    description: str


_DECLARED: dict[str, PlantedBug] = {}
_ACTIVE: set[str] = set()


def declare(name: str, *, component: str, description: str) -> PlantedBug:
    """
    Declare a planted bug (idempotent for an identical declaration).

    Raises:
        ValueError: ``name`` is declared already with a different meaning.
    """
    bug = PlantedBug(name=name, component=component, description=description)
    known = _DECLARED.setdefault(name, bug)
    if known != bug:
        raise ValueError(f"planted bug {name!r} is already declared as {known!r}")
    return bug


def catalogue() -> tuple[PlantedBug, ...]:
    """Every declared bug, sorted by name."""
    return tuple(sorted(_DECLARED.values(), key=lambda b: b.name))


def planted(name: str) -> bool:
    """Whether the bug ``name`` is switched on (never, outside a test that plants it)."""
    return name in _ACTIVE


@contextlib.contextmanager
def plant(*names: str) -> Iterator[None]:
    """
    Switch the named bugs on for the duration of the block.

    Raises:
        KeyError: a name was never declared (a typo would silently test nothing).
    """
    unknown = [name for name in names if name not in _DECLARED]
    if unknown:
        raise KeyError(f"undeclared planted bug(s): {', '.join(unknown)}")
    before = set(_ACTIVE)
    _ACTIVE.update(names)
    try:
        yield
    finally:
        _ACTIVE.clear()
        _ACTIVE.update(before)
