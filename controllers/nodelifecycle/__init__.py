"""
The node lifecycle controller: node health, condition taints, taint eviction, pod GC; and drain.

Like kube-controller-manager's ``node-lifecycle-controller``,
``taint-eviction-controller`` and ``pod-garbage-collector`` together.
Decisions are pure and live in :mod:`controllers.nodelifecycle.plan` (no
I/O, ``now`` passed in); :mod:`controllers.nodelifecycle.reconciler` applies
them; :mod:`controllers.nodelifecycle.drain` holds ``kubectl cordon``,
``uncordon`` and ``drain`` as functions over a client.

Heartbeats are the kubelet's: Lease ``kube-node-lease/<node>`` renewals and
the Node's ``Ready`` ``lastHeartbeatTime``. Time comes only from
``manager.clock``; the controllers requeue for the next instant a decision
can change (``Result.after``) and never poll.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    nodelifecycle.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="node-controller", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import attrs

import reconcile
from controllers.api.core import Node, Pod
from controllers.nodelifecycle.drain import (
    MIRROR_ANNOTATION,
    cordon,
    drain,
    pods_to_drain,
    uncordon,
)
from controllers.nodelifecycle.plan import (
    LEASE_NAMESPACE,
    MANAGED_TAINTS,
    NODE_MONITOR_GRACE_PERIOD,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    Evict,
    NodeHealth,
    desired_taints,
    eviction,
    is_orphaned,
    no_execute_taints,
    node_health,
    node_ready,
    pod_not_ready,
    tolerates,
)
from controllers.nodelifecycle.reconciler import (
    INDEX_NODE_NAME,
    NodeLifecycle,
    PodGarbageCollector,
    TaintEviction,
)

__all__ = [
    "INDEX_NODE_NAME",
    "LEASE_NAMESPACE",
    "MANAGED_TAINTS",
    "MIRROR_ANNOTATION",
    "NODE_MONITOR_GRACE_PERIOD",
    "TAINT_NOT_READY",
    "TAINT_UNREACHABLE",
    "TAINT_UNSCHEDULABLE",
    "Controllers",
    "Evict",
    "NodeHealth",
    "NodeLifecycle",
    "PodGarbageCollector",
    "TaintEviction",
    "cordon",
    "desired_taints",
    "drain",
    "eviction",
    "is_orphaned",
    "node_health",
    "pod_not_ready",
    "pods_to_drain",
    "setup",
    "tolerates",
    "uncordon",
]


@attrs.frozen(kw_only=True)
class Controllers:
    """The three controllers :func:`setup` adds."""

    node_lifecycle: reconcile.Controller[Node]
    taint_eviction: reconcile.Controller[Pod]
    pod_gc: reconcile.Controller[Pod]


def _node_pods_indexer(pod: Pod) -> Iterable[str]:
    return (pod.spec.node_name,) if pod.spec.node_name else ()


def _taints_changed(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    """Node events that can change an eviction: adds, deletes and taint changes."""
    if not isinstance(old, Node) or not isinstance(new, Node):
        return True
    return old.spec.taints != new.spec.taints


def _placement_changed(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    """
    Pod events that can change an eviction or orphan a pod: bound pods
    appearing, binding, tolerations and the deletion mark (status writes
    and unbound pods cannot).
    """
    if new is None:
        return False  # a pod that is gone needs neither eviction nor collection
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        return isinstance(new, Pod) and bool(new.spec.node_name)  # only bound pods matter
    return (
        old.spec.node_name != new.spec.node_name
        or old.spec.tolerations != new.spec.tolerations
        or old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
    )


def _added_or_gone(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    """Node events that can orphan or adopt pods: a node appearing or disappearing."""
    return old is None or new is None


def setup(
    manager: reconcile.Manager,
    *,
    recorder: reconcile.EventRecorder | None = None,
    grace: float = NODE_MONITOR_GRACE_PERIOD,
) -> Controllers:
    """
    Add the node lifecycle, taint eviction and pod GC controllers to ``manager``.

    ``grace`` is the node monitor grace period in seconds. ``recorder``
    (Kubernetes uses component ``node-controller``) receives the
    ``NodeNotReady`` events on nodes and pods and the ``TaintManagerEviction``
    events on pods; without one, none are recorded. The Pod cache gets an
    index by ``spec.nodeName`` (:data:`INDEX_NODE_NAME`).
    """
    nodes = manager.store(Node)
    pods = manager.store(Pod)
    leases = manager.store(reconcile.Lease)
    with contextlib.suppress(ValueError):  # already added by an earlier setup
        manager.informers.get(Pod).add_indexer(INDEX_NODE_NAME, _node_pods_indexer)

    def lease_node(obj: reconcile.Resource) -> list[reconcile.ObjectKey]:
        """
        The node of a heartbeat Lease, when that node is not Ready.

        A Ready node needs no reconcile per renewal: the controller looks again
        when the node would go stale, and sees the renewal then. A node that
        is not Ready must react to its first heartbeat at once.
        """
        if obj.metadata.namespace != LEASE_NAMESPACE:
            return []
        key = reconcile.ObjectKey(namespace="", name=obj.metadata.name)
        node = nodes.get(key)
        return [] if node is not None and node_ready(node) == "True" else [key]

    def ready_pod_node(obj: reconcile.Resource) -> list[reconcile.ObjectKey]:
        """A Ready pod's node, when that node is not ready (so the pod gets marked)."""
        if not isinstance(obj, Pod) or not obj.spec.node_name:
            return []
        key = reconcile.ObjectKey(namespace="", name=obj.spec.node_name)
        node = nodes.get(key)
        if node is None or node_ready(node) not in ("False", "Unknown"):
            return []  # the common case, decided without building the pod's new status
        return [key] if pod_not_ready(obj, now=manager.clock.now()) is not None else []

    def node_pods(obj: reconcile.Resource) -> list[reconcile.ObjectKey]:
        return pods.index_keys(INDEX_NODE_NAME, obj.metadata.name)

    def node_of(pod: reconcile.Resource | None) -> Node | None:
        assert isinstance(pod, Pod)
        return nodes.get(reconcile.ObjectKey(namespace="", name=pod.spec.node_name))

    # Each controller acts on a pod only in one situation of its node, so the
    # pod event is let through only then. The node's own events cover the
    # other order (see ``_taints_changed`` and ``_added_or_gone``): whichever
    # of the two caches is updated last sees both changes.
    def on_tainted_node(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
        """Pods whose node has a ``NoExecute`` taint (the only ones that can be evicted)."""
        if not _placement_changed(old, new):
            return False
        node = node_of(new)
        return node is not None and bool(no_execute_taints(node))

    def on_missing_node(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
        """Pods bound to a node the cache does not have (the only ones pod GC collects)."""
        return _placement_changed(old, new) and node_of(new) is None

    node_lifecycle: reconcile.Controller[Node] = reconcile.Controller(
        name="node-lifecycle-controller",
        reconciler=NodeLifecycle(
            manager.client,
            nodes=nodes,
            leases=leases,
            pods=pods,
            clock=manager.clock,
            recorder=recorder,
            grace=grace,
        ),
        for_=Node,
        watches=[
            reconcile.Watch(kind=reconcile.Lease, mapper=reconcile.enqueue_mapped(lease_node)),
            reconcile.Watch(kind=Pod, mapper=reconcile.enqueue_mapped(ready_pod_node)),
        ],
    )
    taint_eviction: reconcile.Controller[Pod] = reconcile.Controller(
        name="taint-eviction-controller",
        reconciler=TaintEviction(
            manager.client, pods=pods, nodes=nodes, clock=manager.clock, recorder=recorder
        ),
        for_=Pod,
        predicates=(on_tainted_node,),
        watches=[
            reconcile.Watch(
                kind=Node, mapper=reconcile.enqueue_mapped(node_pods), predicates=(_taints_changed,)
            )
        ],
    )
    pod_gc: reconcile.Controller[Pod] = reconcile.Controller(
        name="pod-garbage-collector",
        reconciler=PodGarbageCollector(manager.client, pods=pods, nodes=nodes),
        for_=Pod,
        predicates=(on_missing_node,),
        watches=[
            reconcile.Watch(
                kind=Node, mapper=reconcile.enqueue_mapped(node_pods), predicates=(_added_or_gone,)
            )
        ],
    )
    return Controllers(
        node_lifecycle=manager.add(node_lifecycle),
        taint_eviction=manager.add(taint_eviction),
        pod_gc=manager.add(pod_gc),
    )
