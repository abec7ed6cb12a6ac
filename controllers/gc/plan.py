"""
The garbage collector's pure planner: owner-reference graph in, frozen ``Plan`` out.

No I/O and no clock: :func:`plan` reads a :class:`Graph` (a snapshot, or the
informer caches behind the same Protocol) and decides, for each target object,
what kube-controller-manager's garbage collector would do.

Each owner reference of a dependent resolves to one of four states:

* ``SOLID``: the owner exists (same uid) and is not being deleted in the
  foreground. An owner deleted with the ``orphan`` finalizer stays solid
  until it has released its dependents, so they are never collected by mistake.
* ``WAITING``: the owner exists, is being deleted, and holds ``foregroundDeletion``.
* ``DANGLING``: no object of that kind and name with that uid exists where the
  owner must live (the dependent's namespace, or cluster scope for a
  cluster-scoped owner kind). An owner that never existed, or one in another
  namespace, is dangling: cross-namespace references are invalid.
* ``UNVERIFIABLE``: the owner's kind is not watched, or a cluster-scoped
  dependent names a namespaced owner kind. As in Kubernetes such a reference
  keeps the dependent (it counts as solid) and is never removed.

Decisions for a dependent that is not itself being deleted:

* some ``SOLID``/``UNVERIFIABLE`` owner: keep it, and remove its ``DANGLING`` and
  ``WAITING`` references (so a foreground owner does not wait for a dependent
  that another owner keeps);
* otherwise, some ``WAITING`` owner: delete it, in the foreground when it has
  dependents of its own (the chain is deleted bottom-up);
* otherwise (all ``DANGLING``): delete it with the propagation its own
  finalizers ask for, background by default.

A dependent being deleted in the foreground that (transitively) owns one of
its own ``WAITING`` owners is in an ownership cycle where each waits for the
other: it drops its references to those owners, which breaks the cycle
(Kubernetes unblocks such references instead, and detects cycles more coarsely).

Decisions for an owner being deleted: with ``orphan``, remove its references
from every dependent, then the finalizer; with ``foregroundDeletion``, remove
the finalizer once no dependent with ``blockOwnerDeletion`` remains.
Every delete carries the uid precondition of the object it was planned for.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from controllers.planted import GC_DELETES_ORPHANED_DEPENDENTS
from reconcile import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    ObjectKey,
    OwnerReference,
    Propagation,
    Resource,
    Uid,
    kind_of,
    planted,
)

__all__ = [
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "Action",
    "Delete",
    "Graph",
    "OwnerState",
    "Plan",
    "RemoveFinalizer",
    "RemoveOwnerReferences",
    "Snapshot",
    "owner_state",
    "plan",
]


class OwnerState(enum.Enum):
    """What one owner reference resolves to (see the module docstring)."""

    SOLID = "solid"
    WAITING = "waiting"
    DANGLING = "dangling"
    UNVERIFIABLE = "unverifiable"


@attrs.frozen(kw_only=True)
class Delete:
    """Delete one object, only if it still has ``uid``."""

    kind: type[Resource]
    key: ObjectKey
    uid: Uid
    propagation: Propagation


@attrs.frozen(kw_only=True)
class RemoveOwnerReferences:
    """Remove the references to ``owners`` from the object with ``uid``."""

    kind: type[Resource]
    key: ObjectKey
    uid: Uid
    owners: frozenset[Uid]


@attrs.frozen(kw_only=True)
class RemoveFinalizer:
    """Remove ``finalizer`` from the object with ``uid``."""

    kind: type[Resource]
    key: ObjectKey
    uid: Uid
    finalizer: str


Action = Delete | RemoveOwnerReferences | RemoveFinalizer


@attrs.frozen(kw_only=True)
class Plan:
    """Actions in the order they must be applied (reference removals before finalizers)."""

    actions: tuple[Action, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.actions)


class Graph(Protocol):
    """**Protocol:** the owner graph the planner reads."""

    def kind_for(self, api_version: str, kind: str) -> type[Resource] | None:
        """The watched kind an owner reference names (any version of its group), or ``None``."""
        ...

    def get(self, kind: type[Resource], key: ObjectKey) -> Resource | None:
        """The object of ``kind`` at ``key``, or ``None``."""
        ...

    def dependents(self, uid: Uid) -> Iterable[Resource]:
        """Every object with an owner reference to ``uid`` (valid or not)."""
        ...


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


@attrs.frozen
class Snapshot:
    """A :class:`Graph` over a fixed collection of objects of the given kinds."""

    kinds: Mapping[tuple[str, str], type[Resource]]
    objects: Mapping[tuple[type[Resource], ObjectKey], Resource]
    by_owner: Mapping[Uid, tuple[Resource, ...]]

    @classmethod
    def of(cls, kinds: Iterable[type[Resource]], objects: Iterable[Resource]) -> Snapshot:
        by_owner: dict[Uid, list[Resource]] = {}
        stored: dict[tuple[type[Resource], ObjectKey], Resource] = {}
        for obj in objects:
            stored[type(obj), obj.metadata.key] = obj
            for uid in dict.fromkeys(ref.uid for ref in obj.metadata.owner_references):
                by_owner.setdefault(uid, []).append(obj)
        table = {(kind_of(k).group, kind_of(k).kind): k for k in kinds}
        return cls(table, stored, {uid: tuple(objs) for uid, objs in by_owner.items()})

    def kind_for(self, api_version: str, kind: str) -> type[Resource] | None:
        return self.kinds.get((_group(api_version), kind))

    def get(self, kind: type[Resource], key: ObjectKey) -> Resource | None:
        return self.objects.get((kind, key))

    def dependents(self, uid: Uid) -> Iterable[Resource]:
        return self.by_owner.get(uid, ())


def owner_key(graph: Graph, dependent: Resource, ref: OwnerReference) -> ObjectKey | None:
    """Where ``ref``'s owner must live, or ``None`` when that cannot be checked."""
    owner_kind = graph.kind_for(ref.api_version, ref.kind)
    if owner_kind is None:
        return None
    if not kind_of(owner_kind).namespaced:
        return ObjectKey(namespace="", name=ref.name)
    if not kind_of(type(dependent)).namespaced:
        return None  # a cluster-scoped dependent cannot have a namespaced owner
    return ObjectKey(namespace=dependent.metadata.namespace, name=ref.name)


def owner_state(graph: Graph, dependent: Resource, ref: OwnerReference) -> OwnerState:
    """What ``ref`` (one of ``dependent``'s owner references) resolves to."""
    key = owner_key(graph, dependent, ref)
    owner_kind = graph.kind_for(ref.api_version, ref.kind)
    if key is None or owner_kind is None:
        return OwnerState.UNVERIFIABLE
    owner = graph.get(owner_kind, key)
    if owner is None or owner.metadata.uid != ref.uid:
        return OwnerState.DANGLING
    meta = owner.metadata
    if meta.deleting and FINALIZER_FOREGROUND in meta.finalizers:
        return OwnerState.WAITING
    return OwnerState.SOLID


def valid_dependents(graph: Graph, owner: Resource) -> list[tuple[Resource, OwnerReference]]:
    """Each dependent whose reference really resolves to ``owner``, with that reference."""
    uid = owner.metadata.uid
    found = []
    for dep in graph.dependents(uid):
        for ref in dep.metadata.owner_references:
            if ref.uid != uid:
                continue
            key = owner_key(graph, dep, ref)
            if key == owner.metadata.key and graph.kind_for(ref.api_version, ref.kind) is type(
                owner
            ):
                found.append((dep, ref))
                break
    return found


def _own_propagation(obj: Resource) -> Propagation:
    finalizers = obj.metadata.finalizers
    if FINALIZER_ORPHAN in finalizers:
        return Propagation.ORPHAN
    if FINALIZER_FOREGROUND in finalizers:
        return Propagation.FOREGROUND
    return Propagation.BACKGROUND


def _reaches(graph: Graph, start: Resource, target: Uid) -> bool:
    """Whether ``target`` is ``start``'s dependent, directly or through other dependents."""
    seen: set[Uid] = set()
    todo = [start]
    while todo:
        for dep, _ in valid_dependents(graph, todo.pop()):
            uid = dep.metadata.uid
            if uid == target:
                return True
            if uid not in seen:
                seen.add(uid)
                todo.append(dep)
    return False


def _break_cycles(graph: Graph, obj: Resource) -> list[Action]:
    """Drop references to foreground owners that wait for ``obj`` while it waits for them."""
    meta = obj.metadata
    if FINALIZER_FOREGROUND not in meta.finalizers:
        return []
    cyclic = frozenset(
        ref.uid
        for ref in meta.owner_references
        if owner_state(graph, obj, ref) is OwnerState.WAITING and _reaches(graph, obj, ref.uid)
    )
    if not cyclic:
        return []
    return [RemoveOwnerReferences(kind=type(obj), key=meta.key, uid=meta.uid, owners=cyclic)]


def _as_dependent(graph: Graph, obj: Resource) -> list[Action]:
    meta = obj.metadata
    if meta.deleting:
        return _break_cycles(graph, obj)
    if not meta.owner_references:
        return []
    states = {ref.uid: owner_state(graph, obj, ref) for ref in meta.owner_references}
    kept = {OwnerState.SOLID, OwnerState.UNVERIFIABLE}
    kind, key, uid = type(obj), meta.key, meta.uid
    if any(state in kept for state in states.values()):
        gone = frozenset(u for u, state in states.items() if state not in kept)
        return [RemoveOwnerReferences(kind=kind, key=key, uid=uid, owners=gone)] if gone else []
    if OwnerState.WAITING in states.values():
        has_dependents = bool(valid_dependents(graph, obj))
        propagation = Propagation.FOREGROUND if has_dependents else Propagation.BACKGROUND
        return [Delete(kind=kind, key=key, uid=uid, propagation=propagation)]
    return [Delete(kind=kind, key=key, uid=uid, propagation=_own_propagation(obj))]


def _as_owner(graph: Graph, obj: Resource) -> list[Action]:
    meta = obj.metadata
    if not meta.deleting:
        return []
    actions: list[Action] = []
    kind, key, uid = type(obj), meta.key, meta.uid
    if FINALIZER_ORPHAN in meta.finalizers:
        orphaning = not planted(GC_DELETES_ORPHANED_DEPENDENTS)
        for dep, _ in valid_dependents(graph, obj):
            if not orphaning:  # collects what the owner's deletion asked to keep
                d = dep.metadata
                background = Propagation.BACKGROUND
                actions.append(Delete(kind=type(dep), key=d.key, uid=d.uid, propagation=background))
                continue
            actions.append(
                RemoveOwnerReferences(
                    kind=type(dep),
                    key=dep.metadata.key,
                    uid=dep.metadata.uid,
                    owners=frozenset({meta.uid}),
                )
            )
        actions.append(RemoveFinalizer(kind=kind, key=key, uid=uid, finalizer=FINALIZER_ORPHAN))
    if FINALIZER_FOREGROUND in meta.finalizers:
        blocking = [dep for dep, ref in valid_dependents(graph, obj) if ref.block_owner_deletion]
        if not blocking:
            finalizer = FINALIZER_FOREGROUND
            actions.append(RemoveFinalizer(kind=kind, key=key, uid=uid, finalizer=finalizer))
    return actions


def plan(graph: Graph, targets: Sequence[Resource]) -> Plan:
    """What the collector does for ``targets``, each as a dependent and as an owner."""
    actions: dict[Action, None] = {}
    for obj in targets:
        for action in (*_as_dependent(graph, obj), *_as_owner(graph, obj)):
            actions[action] = None
    return Plan(actions=tuple(actions))
