"""
A kind-agnostic garbage collector, like kube-controller-manager's.

It follows owner references between objects of the kinds it is given and
implements Background, Foreground and Orphan propagation (see
:mod:`controllers.gc.plan` for the decisions, :mod:`controllers.gc.reconciler`
for how they are applied). Only the public ``reconcile`` API is used.
Namespace deletion is not handled here.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    gc.setup(manager, [Deployment, ReplicaSet, Pod])
    async with manager: ...
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import reconcile
from controllers.gc.plan import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    Delete,
    OwnerState,
    Plan,
    RemoveFinalizer,
    RemoveOwnerReferences,
    Snapshot,
    owner_key,
    owner_state,
    plan,
)
from controllers.gc.reconciler import Collector, StoreGraph, apply

__all__ = [
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "Collector",
    "Delete",
    "Plan",
    "RemoveFinalizer",
    "RemoveOwnerReferences",
    "Snapshot",
    "StoreGraph",
    "apply",
    "ownership_changed",
    "plan",
    "setup",
]


def ownership_changed(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    """
    The events the collector acts on: deletes, adds of objects with owners,
    finalizers or a deletion mark, and updates of owner references,
    finalizers or the deletion timestamp.

    Other updates (a Lease renewal, a status write) cannot change what is
    garbage, so they are not worth a reconcile of every related object.
    """
    if new is None:
        return True
    if old is None:
        # A new object matters only if it names owners or is on its way out:
        # its dependents, if any, were checked against the API when they came.
        meta = new.metadata
        return bool(meta.owner_references or meta.finalizers or meta.deletion_timestamp)
    a, b = old.metadata, new.metadata
    return (
        a.owner_references != b.owner_references
        or a.finalizers != b.finalizers
        or a.deletion_timestamp != b.deletion_timestamp
        or a.uid != b.uid
    )


def setup(
    manager: reconcile.Manager, kinds: Sequence[type[reconcile.Resource]]
) -> list[reconcile.Controller[reconcile.Resource]]:
    """Add one garbage-collecting controller per kind in ``kinds`` to ``manager``."""
    kinds = list(dict.fromkeys(kinds))
    graph = StoreGraph({k: manager.store(k) for k in kinds})
    by_kind: dict[type[reconcile.Resource], reconcile.Controller[reconcile.Resource]] = {}

    def fan_out(
        obj: reconcile.Resource, source: type[reconcile.Resource]
    ) -> list[reconcile.ObjectKey]:
        """
        Enqueue what a change of ``obj`` (of kind ``source``) concerns in every kind.

        One handler per source kind, instead of one per pair of kinds: a
        write then costs one dispatch, however many kinds are collected.
        Keys of ``source`` itself are returned; the others are enqueued on
        their kind's controller directly.
        """
        own: list[reconcile.ObjectKey] = []
        uid = obj.metadata.uid
        for target, store in graph.stores.items():
            # Dependents of ``obj`` in ``target``: usually none, a cheap look-up.
            keys = store.index_keys(reconcile.INDEX_OWNER, uid)
            if target is source:
                own = keys
            else:
                for key in keys:
                    by_kind[target].enqueue(key)
        for ref in obj.metadata.owner_references:  # its owners, each in its own kind
            owner_kind = graph.kind_for(ref.api_version, ref.kind)
            owner = owner_key(graph, obj, ref) if owner_kind is not None else None
            if owner_kind is None or owner is None:
                continue
            if owner_kind is source:
                if owner not in own:
                    own.append(owner)
            else:
                by_kind[owner_kind].enqueue(owner)
        return own

    def worth_a_look(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
        """
        :func:`ownership_changed`, but a new object whose owners are all there is no news.

        Such an object is not garbage and frees nobody: there is nothing for
        its collector or its owners' to do. If an owner goes later, the
        owner's deletion wakes it (its informer has the object by then).
        """
        if old is None and new is not None:
            meta = new.metadata
            if meta.finalizers or meta.deletion_timestamp is not None:
                return True
            return not all(
                owner_state(graph, new, ref) is OwnerState.SOLID for ref in meta.owner_references
            )
        return ownership_changed(old, new)

    controllers = []
    for kind in kinds:
        controller: reconcile.Controller[reconcile.Resource] = reconcile.Controller(
            name=f"garbage-collector/{reconcile.kind_of(kind).resource}",
            reconciler=Collector(manager.client, kind, graph),
            for_=kind,
            watches=[
                reconcile.Watch(
                    kind=kind,
                    mapper=reconcile.enqueue_mapped(functools.partial(fan_out, source=kind)),
                    predicates=(worth_a_look,),
                )
            ],
            predicates=(worth_a_look,),
        )
        by_kind[kind] = controller
        controllers.append(manager.add(controller))
    return controllers
