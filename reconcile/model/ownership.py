"""
Owner references and finalizers: who an object belongs to, and what holds its deletion.

Ownership
    An object may list many owners but at most one *controller*: the owner
    reference with ``controller=True`` names the one controller responsible
    for it (``metav1.GetControllerOf``). :func:`set_controller_reference`
    follows ``controllerutil.SetControllerReference``: it refuses with
    :class:`AlreadyOwnedError` when a different controller is set, and
    otherwise replaces any reference to the same owner (same ``uid``) in place
    or appends a new one. References are matched by ``uid``: an owner deleted
    and recreated under the same name is a different owner.

    The kind registry lives elsewhere, so :func:`owner_reference_to` takes the
    owner's ``api_version`` and ``kind`` as arguments rather than looking them up.

Finalizers
    A finalizer is a name in ``metadata.finalizers``; while any remain, a
    deleted object stays visible with ``deletion_timestamp`` set. The helpers
    here only edit the list. Rules the API server enforces (no new finalizers
    once deletion has started) belong to the cluster backend.

Every helper is pure and returns the very ``ObjectMeta`` it was given when
nothing changes, so ``new is old`` is a cheap "skip the update" test.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from reconcile.model.kinds import kind_of
from reconcile.model.meta import ObjectMeta, OwnerReference, Uid

__all__ = [
    "AlreadyOwnedError",
    "HasMetadata",
    "add_finalizer",
    "controller_of",
    "has_finalizer",
    "is_controlled_by",
    "owner_reference_to",
    "remove_finalizer",
    "remove_owner_reference",
    "set_controller_reference",
]


class HasMetadata(Protocol):
    """**Protocol:** anything with ``metadata`` (every resource kind)."""

    @property
    def metadata(self) -> ObjectMeta:
        """The object's metadata."""
        ...


class AlreadyOwnedError(ValueError):
    """
    An object already has a different controller.

    Attributes:
        meta: The object's metadata.
        owner: The controller reference it already has.
    """

    def __init__(self, meta: ObjectMeta, owner: OwnerReference) -> None:
        self.meta = meta
        self.owner = owner
        super().__init__(
            f"object {meta.key} is already controlled by {owner.kind} {owner.name!r} "
            f"(uid {owner.uid})"
        )


def owner_reference_to(
    owner: HasMetadata,
    *,
    api_version: str | None = None,
    kind: str | None = None,
    controller: bool = True,
    block_owner_deletion: bool = True,
) -> OwnerReference:
    """
    A reference from a dependent to ``owner`` (``metav1.NewControllerRef`` by default).

    Args:
        owner: The owning object; it must have been created (have a ``uid``).
        api_version: The owner's ``apiVersion`` (``apps/v1``); taken from the
            owner's declared kind when omitted.
        kind: The owner's kind (``ReplicaSet``); likewise.
        controller: Whether the owner is the dependent's controller.
        block_owner_deletion: Whether foreground deletion of the owner waits
            for the dependent.

    Raises:
        ValueError: if the owner has no name or no ``uid`` yet.
    """
    if api_version is None or kind is None:
        declared = kind_of(owner)  # type: ignore[arg-type]
        api_version = api_version or declared.api_version
        kind = kind or declared.kind
    meta = owner.metadata
    if not meta.uid:
        raise ValueError(f"owner {kind} {meta.name!r} has no uid; create it first")
    if not meta.name:
        raise ValueError(f"owner {kind} with uid {meta.uid} has no name")
    return OwnerReference(
        api_version=api_version,
        kind=kind,
        name=meta.name,
        uid=meta.uid,
        controller=controller,
        block_owner_deletion=block_owner_deletion,
    )


def controller_of(meta: ObjectMeta) -> OwnerReference | None:
    """The owner reference marked ``controller``, or ``None``."""
    for ref in meta.owner_references:
        if ref.controller:
            return ref
    return None


def is_controlled_by(meta: ObjectMeta, owner_uid: Uid) -> bool:
    """Whether the controller of ``meta`` is the owner with ``owner_uid``."""
    ref = controller_of(meta)
    return ref is not None and ref.uid == owner_uid


def set_controller_reference(meta: ObjectMeta, ref: OwnerReference) -> ObjectMeta:
    """
    ``meta`` with ``ref`` as its controller reference.

    Args:
        meta: The dependent's metadata.
        ref: A reference with ``controller=True`` (see :func:`owner_reference_to`).

    Returns:
        ``meta`` with any reference of the same ``uid`` replaced in place, or
        with ``ref`` appended; ``meta`` itself if it already holds ``ref``.

    Raises:
        AlreadyOwnedError: if another owner is already the controller.
        ValueError: if ``ref`` is not a controller reference.
    """
    if not ref.controller:
        raise ValueError(f"owner reference to {ref.kind} {ref.name!r} must have controller=True")
    current = controller_of(meta)
    if current is not None and current.uid != ref.uid:
        raise AlreadyOwnedError(meta, current)
    refs = meta.owner_references
    for i, existing in enumerate(refs):
        if existing.uid == ref.uid:
            if existing == ref:
                return meta
            return attrs.evolve(meta, owner_references=(*refs[:i], ref, *refs[i + 1 :]))
    return attrs.evolve(meta, owner_references=(*refs, ref))


def remove_owner_reference(meta: ObjectMeta, uid: Uid) -> ObjectMeta:
    """``meta`` without references to the owner with ``uid`` (``meta`` itself if none)."""
    kept = tuple(ref for ref in meta.owner_references if ref.uid != uid)
    if len(kept) == len(meta.owner_references):
        return meta
    return attrs.evolve(meta, owner_references=kept)


def has_finalizer(meta: ObjectMeta, name: str) -> bool:
    """Whether ``name`` is among the finalizers of ``meta``."""
    return name in meta.finalizers


def add_finalizer(meta: ObjectMeta, name: str) -> ObjectMeta:
    """
    ``meta`` with finalizer ``name`` appended (``meta`` itself if already present).

    Raises:
        ValueError: if ``name`` is empty.
    """
    if not name:
        raise ValueError("finalizer name must be non-empty")
    if name in meta.finalizers:
        return meta
    return attrs.evolve(meta, finalizers=(*meta.finalizers, name))


def remove_finalizer(meta: ObjectMeta, name: str) -> ObjectMeta:
    """``meta`` without finalizer ``name`` (``meta`` itself if absent)."""
    if name not in meta.finalizers:
        return meta
    return attrs.evolve(meta, finalizers=tuple(f for f in meta.finalizers if f != name))
