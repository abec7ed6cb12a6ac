"""
What Pod events mean for ReplicaSets: owners, orphans, relevant changes, expectations.

Everything here runs inside the Pod informer, synchronously, once per event:
the :data:`INDEX_ORPHANS` indexer, the mapping of a pod to the ReplicaSets
that care (:func:`replicaset_of`), the filter that drops changes no sync
would notice (:func:`pod_counts_changed`) and the
:class:`ExpectationsObserver`. Each is O(1) per event, except that an
orphan's event looks at the ReplicaSets of its namespace.
"""

from __future__ import annotations

from collections.abc import Callable

from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.podcontrol import PodExpectationsObserver, owner_key
from controllers.replicaset.pods import is_pod_active, ready_time
from reconcile import Expectations, ObjectKey, Resource, Store, controller_of

__all__ = [
    "INDEX_ORPHANS",
    "ExpectationsObserver",
    "orphan_namespaces",
    "pod_counts_changed",
    "replicaset_of",
    "with_matching",
]

INDEX_ORPHANS = "replicaset.orphans"
"""The Pod cache index of pods without a controller, by namespace (added by ``setup``)."""


def orphan_namespaces(pod: Pod) -> tuple[str, ...]:
    """The :data:`INDEX_ORPHANS` indexer: a pod without a controller, under its namespace."""
    return () if controller_of(pod.metadata) is not None else (pod.metadata.namespace,)


def replicaset_of(pod: Pod) -> ObjectKey | None:
    """The key of the ReplicaSet that controls ``pod`` (by its owner reference), if any."""
    return owner_key(pod, kind="ReplicaSet", group="apps")


def with_matching(
    mapper: Callable[[Resource], list[ObjectKey]], replicasets: Store[ReplicaSet]
) -> Callable[[Resource], list[ObjectKey]]:
    """
    ``mapper``, plus every ReplicaSet whose selector matches the pod, whoever controls it.

    Only the planted bug ``replicaset.adopts-owned-pods`` maps pods this way:
    a pod another controller owns concerns no ReplicaSet.
    """

    def mapped(obj: Resource) -> list[ObjectKey]:
        keys = mapper(obj)
        if isinstance(obj, Pod):
            labels = obj.metadata.labels
            for rs in replicasets.list(namespace=obj.metadata.namespace):
                selector, key = rs.spec.selector, rs.metadata.key
                if selector is not None and selector.matches(labels) and key not in keys:
                    keys.append(key)
        return keys

    return mapped


def pod_counts_changed(old: Resource | None, new: Resource | None) -> bool:
    """
    Pod events that can change a sync: adds, deletes, and updates of what it counts.

    Labels and owner references decide ownership; the deletion mark and a
    finished phase decide activity; the Ready condition decides readiness
    and availability. Scheduling, ``Pending`` → ``Running`` and container
    restarts only matter for the deletion order, which a scale-down reads
    from the cache when it happens.
    """
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        return True
    o, n = old.metadata, new.metadata
    return (
        o.labels != n.labels
        or o.owner_references != n.owner_references
        or is_pod_active(old) != is_pod_active(new)
        or ready_time(old) != ready_time(new)
    )


class ExpectationsObserver(PodExpectationsObserver[ReplicaSet]):
    """
    The Pod informer handler that tells :class:`reconcile.Expectations` what was observed.

    A :class:`~controllers.podcontrol.PodExpectationsObserver` of the pods of
    cached ReplicaSets. Kubernetes: ``addPod``/``updatePod``/``deletePod`` in
    pkg/controller/replicaset/replica_set.go.
    """

    def __init__(self, expectations: Expectations, replicasets: Store[ReplicaSet]) -> None:
        super().__init__(expectations, replicasets, replicaset_of)
