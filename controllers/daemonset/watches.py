"""
What Pod and Node events mean for DaemonSets: owners, relevant changes, expectations.

Everything here runs inside the informers, synchronously, once per event:
the mapping of a pod to the DaemonSets that care (:func:`daemonset_of`,
orphans to every DaemonSet of the namespace selecting them), the filter that
drops pod changes no sync would notice (:func:`pod_changed`), the
:class:`ExpectationsObserver`, and :class:`NodeHandler`, which sends a node
event only to the DaemonSets whose verdict on that node it changes.

Kubernetes: ``addPod``/``updatePod``/``deletePod`` and
``addNode``/``updateNode``/``deleteNode`` in pkg/controller/daemon/daemon_controller.go.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from controllers.api.apps import DaemonSet
from controllers.api.core import Node, Pod
from controllers.daemonset.nodes import eligibility
from controllers.replicaset.pods import ready_time
from reconcile import Expectations, ObjectKey, Resource, Store, controller_of

__all__ = [
    "ExpectationsObserver",
    "NodeHandler",
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
class NodeHandler:
    """
    The Node informer handler that enqueues the DaemonSets a node event concerns.

    * A new node: the DaemonSets that should run a pod there.
    * A changed node (labels or taints; heartbeats are skipped at once): the
      DaemonSets whose verdict on it changed, ``should_run`` or
      ``should_continue_running``.
    * A removed node: every DaemonSet (unbound pods pinned to it must go).

    Kubernetes: ``addNode``, ``updateNode`` and ``deleteNode``.
    """

    daemonsets: Store[DaemonSet]
    enqueue: Callable[[ObjectKey], None]

    def on_add(self, obj: Node) -> None:
        for ds in self.daemonsets.list():
            if eligibility(ds)(obj).should_run:
                self.enqueue(ds.metadata.key)

    def on_update(self, old: Node, new: Node) -> None:
        if not node_changed(old, new):
            return
        for ds in self.daemonsets.list():
            judge = eligibility(ds)
            if judge(old) != judge(new):
                self.enqueue(ds.metadata.key)

    def on_delete(self, obj: Node) -> None:
        for key in self.daemonsets.keys():  # noqa: SIM118  # a Store is not a mapping
            self.enqueue(key)


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
