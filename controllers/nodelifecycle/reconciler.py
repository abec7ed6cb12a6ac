"""
The node lifecycle I/O half: read the caches, call :mod:`~controllers.nodelifecycle.plan`, apply.

Three reconcilers, one per concern, as kube-controller-manager splits them:

* :class:`NodeLifecycle` (Nodes): marks a silent node's conditions
  ``Unknown`` (``update_status``, a ``NodeNotReady`` event), keeps the
  condition taints in step (``update``), and marks the pods of a node that is
  not ready ``Ready=False`` (``MarkPodsNotReady``, a ``NodeNotReady`` Warning
  on each pod). It requeues itself for the instant the node would turn
  stale (``Result.after``); every Lease renewal enqueues the node again, so
  the deadline moves with the heartbeats.
* :class:`TaintEviction` (Pods): deletes a pod whose ``NoExecute`` taints it
  no longer tolerates, with a uid precondition and the pod's default grace
  period, after a ``TaintManagerEviction`` event; before that instant it
  requeues the pod for it. Node changes enqueue the node's pods.
* :class:`PodGarbageCollector` (Pods): force-deletes (grace 0) pods bound to
  a node that does not exist. Absence is confirmed with a live ``get``
  because the Node and Pod caches are not synchronised with each other.

Writes carry the cached resource version; a ``ConflictError`` makes the
engine retry at once with fresh caches. A pod that vanished meanwhile
(``NotFoundError``) or was replaced (uid conflict) needs nothing more.
"""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.core import Node, Pod
from controllers.nodelifecycle.plan import (
    LEASE_NAMESPACE,
    NODE_MONITOR_GRACE_PERIOD,
    desired_taints,
    eviction,
    is_orphaned,
    no_execute_taints,
    node_health,
    node_ready,
    pod_not_ready,
)
from reconcile import (
    Client,
    Clock,
    EventRecorder,
    Lease,
    NotFoundError,
    ObjectKey,
    Request,
    Result,
    Store,
    delete_by_uid,
)

__all__ = [
    "INDEX_NODE_NAME",
    "NodeLifecycle",
    "PodGarbageCollector",
    "TaintEviction",
    "requeue_at",
]

INDEX_NODE_NAME = "nodelifecycle.spec.nodeName"
"""The Pod cache index by ``spec.nodeName`` that :func:`~controllers.nodelifecycle.setup` adds."""

_SLACK = 0.001
"""Seconds added to a requeue so the wake-up lands just after its deadline, not on it."""


def requeue_at(at: dt.datetime, now: dt.datetime) -> Result:
    """Reconcile again just after ``at``."""
    return Result.after(max((at - now).total_seconds(), 0.0) + _SLACK)


class NodeLifecycle:
    """Node health, condition taints and ``MarkPodsNotReady`` (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        *,
        nodes: Store[Node],
        leases: Store[Lease],
        pods: Store[Pod],
        clock: Clock,
        recorder: EventRecorder | None = None,
        grace: float = NODE_MONITOR_GRACE_PERIOD,
    ) -> None:
        self._client = client
        self._nodes = nodes
        self._leases = leases
        self._pods = pods
        self._clock = clock
        self._recorder = recorder
        self._grace = grace

    async def reconcile(self, request: Request) -> Result:
        node = self._nodes.get(request)
        if node is None:
            return Result.done()
        name = node.metadata.name
        lease = self._leases.get(ObjectKey(namespace=LEASE_NAMESPACE, name=name))
        now = self._clock.now()
        health = node_health(node, lease, now=now, grace=self._grace)
        if health.status is not None:
            was_ready = node_ready(node) == "True"
            node = await self._client.update_status(attrs.evolve(node, status=health.status))
            if was_ready and self._recorder is not None:
                await self._recorder.normal(
                    node, reason="NodeNotReady", message=f"Node {name} status is now: NodeNotReady"
                )
        taints = desired_taints(node, now=now)
        if taints is not None:
            node = await self._client.update(
                attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints))
            )
        if node_ready(node) in ("False", "Unknown"):
            await self._mark_pods_not_ready(name, now)
        return Result.done() if health.recheck_at is None else requeue_at(health.recheck_at, now)

    async def _mark_pods_not_ready(self, node_name: str, now: dt.datetime) -> None:
        for pod in self._pods.by_index(INDEX_NODE_NAME, node_name):
            status = pod_not_ready(pod, now=now)
            if status is None:
                continue
            try:
                await self._client.update_status(attrs.evolve(pod, status=status))
            except NotFoundError:
                continue
            if self._recorder is not None:
                await self._recorder.warning(
                    pod, reason="NodeNotReady", message="Node is not ready"
                )


class TaintEviction:
    """Deletes pods that do not tolerate their node's ``NoExecute`` taints (long enough)."""

    def __init__(
        self,
        client: Client,
        *,
        pods: Store[Pod],
        nodes: Store[Node],
        clock: Clock,
        recorder: EventRecorder | None = None,
    ) -> None:
        self._client = client
        self._pods = pods
        self._nodes = nodes
        self._clock = clock
        self._recorder = recorder

    async def reconcile(self, request: Request) -> Result:
        pod = self._pods.get(request)
        if pod is None or not pod.spec.node_name or pod.metadata.deletion_timestamp is not None:
            return Result.done()
        node = self._nodes.get(ObjectKey(namespace="", name=pod.spec.node_name))
        if node is None:
            return Result.done()
        now = self._clock.now()
        at = eviction(pod, no_execute_taints(node), now=now).at
        if at is None:
            return Result.done()
        if at > now:
            return requeue_at(at, now)
        if self._recorder is not None:
            await self._recorder.normal(
                pod,
                reason="TaintManagerEviction",
                message=f"Marking for deletion Pod {pod.metadata.namespace}/{pod.metadata.name}",
            )
        # Gone or replaced: the pod planned for is not there any more.
        await delete_by_uid(self._client, Pod, pod.key, pod.metadata.uid)
        return Result.done()


class PodGarbageCollector:
    """Force-deletes pods bound to nodes that do not exist."""

    def __init__(self, client: Client, *, pods: Store[Pod], nodes: Store[Node]) -> None:
        self._client = client
        self._pods = pods
        self._nodes = nodes

    async def reconcile(self, request: Request) -> Result:
        pod = self._pods.get(request)
        if pod is None:
            return Result.done()
        if not is_orphaned(pod, _NodeNames(self._nodes)):
            return Result.done()
        try:
            await self._client.get(Node, _node_key(pod))
        except NotFoundError:
            pass
        else:
            return Result.done()  # the node cache lags; the node's events requeue the pod
        await delete_by_uid(self._client, Pod, pod.key, pod.metadata.uid, grace_period_seconds=0)
        return Result.done()


def _node_key(pod: Pod) -> ObjectKey:
    return ObjectKey(namespace="", name=pod.spec.node_name)


@attrs.frozen
class _NodeNames:
    """The names of the cached nodes, as a container."""

    nodes: Store[Node]

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str) and self.nodes.get(ObjectKey(namespace="", name=name)) is not None
        )
