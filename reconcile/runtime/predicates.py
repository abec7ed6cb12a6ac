"""
Predicates: which changes are worth a reconcile.

A predicate sees an informer notification (``old`` is ``None`` for adds,
``new`` is ``None`` for deletes) and says whether to enqueue. They filter
noise only; a level-triggered reconciler must stay correct if every event
got through. Combine them with :func:`and_`, :func:`or_` and :func:`not_`.
"""

from __future__ import annotations

from collections.abc import Callable

from reconcile.model.kinds import Resource

__all__ = [
    "Predicate",
    "and_",
    "annotations_changed",
    "generation_changed",
    "labels_changed",
    "not_",
    "or_",
    "resource_version_changed",
]

Predicate = Callable[[Resource | None, Resource | None], bool]


def generation_changed(old: Resource | None, new: Resource | None) -> bool:
    """Adds, deletes, and updates that changed ``metadata.generation`` (the spec)."""
    if old is None or new is None:
        return True
    return old.metadata.generation != new.metadata.generation


def resource_version_changed(old: Resource | None, new: Resource | None) -> bool:
    """Everything except resyncs that delivered the same version again."""
    if old is None or new is None:
        return True
    return old.metadata.resource_version != new.metadata.resource_version


def labels_changed(old: Resource | None, new: Resource | None) -> bool:
    """Adds, deletes, and updates that changed labels."""
    if old is None or new is None:
        return True
    return old.metadata.labels != new.metadata.labels


def annotations_changed(old: Resource | None, new: Resource | None) -> bool:
    """Adds, deletes, and updates that changed annotations."""
    if old is None or new is None:
        return True
    return old.metadata.annotations != new.metadata.annotations


def and_(*predicates: Predicate) -> Predicate:
    """True when every predicate is."""
    return lambda old, new: all(p(old, new) for p in predicates)


def or_(*predicates: Predicate) -> Predicate:
    """True when any predicate is."""
    return lambda old, new: any(p(old, new) for p in predicates)


def not_(predicate: Predicate) -> Predicate:
    """The negation of ``predicate``."""
    return lambda old, new: not predicate(old, new)
