"""
What Pod and Node events mean for DaemonSets: owners, relevant changes, expectations.

Everything here runs inside the informers, synchronously, once per event:
the mapping of a pod to the DaemonSets that care (:func:`daemonset_of`,
orphans to every DaemonSet of the namespace selecting them), the filter that
drops pod changes no sync would notice (:func:`pod_changed`), the
:class:`ExpectationsObserver`, and :class:`NodeMapper`, which sends a node
event only to the DaemonSets whose verdict on that node it can change.

Kubernetes: ``addPod``/``updatePod``/``deletePod`` and
``addNode``/``updateNode``/``deleteNode`` in pkg/controller/daemon/daemon_controller.go.
"""

from __future__ import annotations

import attrs

from controllers.api.apps import DaemonSet
from controllers.api.core import Node, Pod
from controllers.replicaset.pods import ready_time
from reconcile import Expectations, ObjectKey, Resource, Store, controller_of

__all__ = [
    "ExpectationsObserver",
    "NodeMapper",
    "daemonset_of",
    "node_changed",
    "pod_changed",
]


def daemonset_of(pod: Pod) -> ObjectKey | None:
    """The key of the DaemonSet that controls ``pod`` (by its owner reference), if any."""
    ref = controller_of(pod.metadata)
    if ref is None or ref.kind != "DaemonSet" or not ref.api_version.startswith("apps/"):
        return None
    return ObjectKey(namespace=pod.metadata.namespace, name=ref.name)


def pod_changed(old: Resource | None, new: Resource | None) -> bool:
    """
    Pod events that can change a sync: adds, deletes, and updates of what it reads.

    Labels and owner references decide ownership; the deletion mark and the
    phase decide what is deleted (failed, succeeded pods) and what is
    counted; the Ready condition decides readiness and availability.
    Binding does not move a daemon pod: it is grouped by the node its
    affinity names from the start.
    """
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        return True
    o, n = old.metadata, new.metadata
    return (
        o.labels != n.labels
        or o.owner_references != n.owner_references
        or o.deletion_timestamp != n.deletion_timestamp
        or old.status.phase != new.status.phase
        or ready_time(old) != ready_time(new)
    )


def node_changed(old: Resource | None, new: Resource | None) -> bool:
    """
    Node events that can change where daemon pods run: adds, deletes, labels, taints.

    Heartbeats and status updates change nothing the controller reads.
    """
    if not isinstance(old, Node) or not isinstance(new, Node):
        return True
    return old.metadata.labels != new.metadata.labels or old.spec.taints != new.spec.taints


@attrs.frozen
class NodeMapper:
    """
    The DaemonSets a node event concerns (an ``enqueue_mapped`` function): all of them.

    Only events that pass :func:`node_changed` get here, so heartbeats cost
    nothing; an added, removed, relabelled or retainted node can change any
    DaemonSet's verdict on it, and a sync judges every node anyway.
    """

    daemonsets: Store[DaemonSet]

    def __call__(self, obj: Resource) -> list[ObjectKey]:
        if not isinstance(obj, Node):
            return []
        return self.daemonsets.keys()


@attrs.frozen
class ExpectationsObserver:
    """
    The Pod informer handler that tells :class:`reconcile.Expectations` what was observed.

    A pod controlled by a cached DaemonSet (same uid) that appears is a
    creation; one that gets a deletion timestamp or leaves the cache is a
    deletion (counted once per uid).
    """

    expectations: Expectations
    daemonsets: Store[DaemonSet]

    def _owner(self, pod: Pod) -> ObjectKey | None:
        key = daemonset_of(pod)
        if key is None:
            return None
        ds = self.daemonsets.get(key)
        ref = controller_of(pod.metadata)
        if ds is None or ref is None or ds.metadata.uid != ref.uid:
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
