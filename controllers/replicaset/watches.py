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

import attrs

from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.replicaset.pods import is_pod_active, ready_time
from reconcile import Expectations, ObjectKey, Resource, Store, controller_of

__all__ = [
    "INDEX_ORPHANS",
    "ExpectationsObserver",
    "orphan_namespaces",
    "pod_counts_changed",
    "replicaset_of",
]

INDEX_ORPHANS = "replicaset.orphans"
"""The Pod cache index of pods without a controller, by namespace (added by ``setup``)."""


def orphan_namespaces(pod: Pod) -> tuple[str, ...]:
    """The :data:`INDEX_ORPHANS` indexer: a pod without a controller, under its namespace."""
    return () if controller_of(pod.metadata) is not None else (pod.metadata.namespace,)


def replicaset_of(pod: Pod) -> ObjectKey | None:
    """The key of the ReplicaSet that controls ``pod`` (by its owner reference), if any."""
    ref = controller_of(pod.metadata)
    if ref is None or ref.kind != "ReplicaSet" or not ref.api_version.startswith("apps/"):
        return None
    return ObjectKey(namespace=pod.metadata.namespace, name=ref.name)


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


@attrs.frozen
class ExpectationsObserver:
    """
    The Pod informer handler that tells :class:`reconcile.Expectations` what was observed.

    A pod controlled by a cached ReplicaSet (same uid) that appears is a
    creation; one that gets a deletion timestamp or leaves the cache is a
    deletion (counted once per uid). Kubernetes: ``addPod``/``updatePod``/
    ``deletePod`` in pkg/controller/replicaset/replica_set.go.
    """

    expectations: Expectations
    replicasets: Store[ReplicaSet]

    def _owner(self, pod: Pod) -> ObjectKey | None:
        key = replicaset_of(pod)
        if key is None:
            return None
        rs = self.replicasets.get(key)
        ref = controller_of(pod.metadata)
        if rs is None or ref is None or rs.metadata.uid != ref.uid:
            return None
        return key

    def on_add(self, obj: Pod) -> None:
        key = self._owner(obj)
        if key is None:
            return
        if obj.metadata.deletion_timestamp is not None:
            self.expectations.deletion_observed(key, obj.metadata.uid)
        else:
            self.expectations.creation_observed(key)

    def on_update(self, old: Pod, new: Pod) -> None:
        if new.metadata.deletion_timestamp is None:
            return
        key = self._owner(new)
        if key is not None:
            self.expectations.deletion_observed(key, new.metadata.uid)

    def on_delete(self, obj: Pod) -> None:
        key = self._owner(obj)
        if key is not None:
            self.expectations.deletion_observed(key, obj.metadata.uid)
