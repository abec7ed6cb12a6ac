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

from collections.abc import Sequence

import reconcile
from controllers.gc.plan import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    Delete,
    Plan,
    RemoveFinalizer,
    RemoveOwnerReferences,
    Snapshot,
    plan,
)
from controllers.gc.reconciler import Collector, StoreGraph, apply, related_keys

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
    "plan",
    "setup",
]


def setup(
    manager: reconcile.Manager, kinds: Sequence[type[reconcile.Resource]]
) -> list[reconcile.Controller[reconcile.Resource]]:
    """Add one garbage-collecting controller per kind in ``kinds`` to ``manager``."""
    kinds = list(dict.fromkeys(kinds))
    graph = StoreGraph({k: manager.store(k) for k in kinds})
    controllers = []
    for kind in kinds:

        def related(
            obj: reconcile.Resource, kind: type[reconcile.Resource] = kind
        ) -> list[reconcile.ObjectKey]:
            return related_keys(graph, kind, obj)

        watches = [
            reconcile.Watch(kind=source, mapper=reconcile.enqueue_mapped(related))
            for source in kinds
        ]
        controller: reconcile.Controller[reconcile.Resource] = reconcile.Controller(
            name=f"garbage-collector/{reconcile.kind_of(kind).resource}",
            reconciler=Collector(manager.client, kind, graph),
            for_=kind,
            watches=watches,
        )
        controllers.append(manager.add(controller))
    return controllers
