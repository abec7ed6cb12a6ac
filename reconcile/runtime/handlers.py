"""
Mapping changes of watched objects to the keys of the controller's kind.

A :data:`Mapper` turns one object into the keys to reconcile. Three cover
most needs, as in controller-runtime:

* :func:`enqueue_self`: the object's own key (for the primary kind);
* :func:`enqueue_owner`: the key of its owner of a given kind (for owned
  children; by default only the controlling owner);
* :func:`enqueue_mapped`: any function of the object (for related kinds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ObjectKey

__all__ = ["Mapper", "enqueue_mapped", "enqueue_owner", "enqueue_self"]

Mapper = Callable[[Resource], Iterable[ObjectKey]]


def _own_key(obj: Resource) -> Iterable[ObjectKey]:
    return (obj.metadata.key,)


def enqueue_self() -> Mapper:
    """Map an object to its own key."""
    return _own_key


def is_enqueue_self(mapper: Mapper) -> bool:
    """Whether ``mapper`` is :func:`enqueue_self`'s (lets the engine skip the call)."""
    return mapper is _own_key


def enqueue_owner(owner: type[Resource], *, only_controller: bool = True) -> Mapper:
    """
    Map an object to the keys of its owners of kind ``owner``.

    Args:
        owner: The owner kind to look for in ``metadata.ownerReferences``.
        only_controller: Follow only the reference with ``controller: true``.
    """
    k = kind_of(owner)
    group = k.group
    namespaced = k.namespaced

    def owners(obj: Resource) -> Iterable[ObjectKey]:
        meta = obj.metadata
        keys = []
        for ref in meta.owner_references:
            if ref.kind != k.kind or (only_controller and not ref.controller):
                continue
            ref_group = ref.api_version.rpartition("/")[0]
            if ref_group != group:
                continue
            keys.append(ObjectKey(namespace=meta.namespace if namespaced else "", name=ref.name))
        return keys

    return owners


def enqueue_mapped(fn: Callable[[Resource], Iterable[ObjectKey]]) -> Mapper:
    """Map an object with ``fn`` (for example, every Widget that selects this Node)."""
    return fn
