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
from controllers.podcontrol import PodExpectationsObserver, owner_key
from controllers.replicaset.pods import ready_time
from reconcile import Expectations, ObjectKey, Resource, Store

__all__ = [
    "ExpectationsObserver",
    "NodeHandler",
    "daemonset_of",
    "node_changed",
    "pod_changed",
]


def daemonset_of(pod: Pod) -> ObjectKey | None:
    """The key of the DaemonSet that controls ``pod`` (by its owner reference), if any."""
    return owner_key(pod, kind="DaemonSet", group="apps")


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


class ExpectationsObserver(PodExpectationsObserver[DaemonSet]):
    """
    The Pod informer handler that tells :class:`reconcile.Expectations` what was observed.

    A :class:`~controllers.podcontrol.PodExpectationsObserver` of the pods of
    cached DaemonSets.
    """

    def __init__(self, expectations: Expectations, daemonsets: Store[DaemonSet]) -> None:
        super().__init__(expectations, daemonsets, daemonset_of)
