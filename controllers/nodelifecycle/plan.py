"""
The node lifecycle controller's decisions: pure functions, no I/O, ``now`` passed in.

Node health (kube-controller-manager's ``monitorNodeHealth``)
    A node's *last probe* is the latest of its Lease's ``renewTime``, its
    ``Ready`` condition's ``lastHeartbeatTime`` and its creation time. When
    more than ``grace`` seconds pass since then (strictly: ``now - probe >
    grace``; default :data:`NODE_MONITOR_GRACE_PERIOD`), ``Ready``,
    ``MemoryPressure``, ``DiskPressure`` and ``PIDPressure`` become
    ``Unknown`` (reason ``NodeStatusUnknown``; a condition the kubelet never
    posted is added with reason ``NodeStatusNeverUpdated``, as Kubernetes
    does). :func:`node_health` also says when to look again, so the
    controller requeues for exactly that instant instead of polling.

Taints (the ``NoExecute`` tainting pass and ``TaintNodesByCondition``)
    :func:`desired_taints` owns the ``node.kubernetes.io/*`` taints listed in
    :data:`MANAGED_TAINTS`: ``Ready=False`` gives ``not-ready`` and
    ``Ready=Unknown`` gives ``unreachable``, each with both ``NoExecute`` and
    ``NoSchedule`` (Kubernetes adds the ``NoSchedule`` twin too, which keeps
    the scheduler off the node); pressure conditions give their ``NoSchedule``
    taints; ``spec.unschedulable`` gives ``unschedulable:NoSchedule``. Added
    taints carry ``timeAdded = now``; kept ones keep theirs. Other taints are
    kept, except that a ``NoExecute`` taint without ``timeAdded`` gets one
    (``kubectl taint`` sets it; stamping it here makes eviction level-based:
    the taint itself records since when it is tolerated).

Eviction (``pkg/controller/tainteviction``)
    For each ``NoExecute`` taint the pod's *first* matching toleration counts
    (as ``GetMatchingTolerations``). A taint no toleration matches evicts at
    once. Otherwise the pod may stay ``tolerationSeconds`` (negative counts
    as 0) from when the taint applied to it, ``max(timeAdded, pod creation)``,
    and it is evicted at the earliest such deadline (Kubernetes takes the
    minimum ``tolerationSeconds`` from when it first saw the pod on the
    tainted node; the taint's ``timeAdded`` replaces that in-memory
    timestamp here). Tolerations without ``tolerationSeconds`` tolerate forever.

Pods
    :func:`pod_not_ready` is ``MarkPodsNotReady``; :func:`is_orphaned` is the
    pod garbage collector's test for pods bound to a node that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable

import attrs

from controllers.api.core import (
    NODE_LEASE_NAMESPACE,
    Node,
    NodeCondition,
    NodeStatus,
    Pod,
    PodStatus,
)
from controllers.api.scheduling import Taint
from controllers.scheduler.snapshot import tolerates
from reconcile import Lease

__all__ = [
    "CONDITION_TAINTS",
    "LEASE_NAMESPACE",
    "MANAGED_TAINTS",
    "MONITORED_CONDITIONS",
    "NODE_MONITOR_GRACE_PERIOD",
    "TAINT_NOT_READY",
    "TAINT_UNREACHABLE",
    "TAINT_UNSCHEDULABLE",
    "Evict",
    "NodeHealth",
    "desired_taints",
    "eviction",
    "is_orphaned",
    "last_probe",
    "no_execute_taints",
    "node_health",
    "node_ready",
    "pod_not_ready",
    "tolerates",
]

NODE_MONITOR_GRACE_PERIOD = 50.0
"""
Seconds without a heartbeat before a node's conditions become ``Unknown``.

Kubernetes' ``--node-monitor-grace-period`` default since 1.32 (it was 40 s
before); it must exceed the kubelet's lease duration (40 s).
"""

LEASE_NAMESPACE = NODE_LEASE_NAMESPACE
"""Where each node's heartbeat Lease lives, named like the node."""

READY = "Ready"
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
"""The conditions set to ``Unknown`` when the kubelet stops posting."""

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"

CONDITION_TAINTS: tuple[tuple[str, str, str, str], ...] = (
    (READY, "False", TAINT_NOT_READY, NO_EXECUTE),
    (READY, "Unknown", TAINT_UNREACHABLE, NO_EXECUTE),
    (READY, "False", TAINT_NOT_READY, NO_SCHEDULE),
    (READY, "Unknown", TAINT_UNREACHABLE, NO_SCHEDULE),
    ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable", NO_SCHEDULE),
)
"""``(condition type, status, taint key, effect)``: a condition in that status implies the taint."""

MANAGED_TAINTS: frozenset[tuple[str, str]] = frozenset(
    {(key, effect) for _, _, key, effect in CONDITION_TAINTS} | {(TAINT_UNSCHEDULABLE, NO_SCHEDULE)}
)
"""``(key, effect)`` of every taint :func:`desired_taints` adds and removes."""

_UNKNOWN_REASON = "NodeStatusUnknown"
_UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
_NEVER_REASON = "NodeStatusNeverUpdated"
_NEVER_MESSAGE = "Kubelet never posted node status."


# -- node health --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NodeHealth:
    """
    What :func:`node_health` decided.

    Attributes:
        status: The node's new status, or ``None`` when it stays as it is.
        recheck_at: When the decision may change without any new event
            (the node turns stale strictly after this instant), or ``None``.
    """

    status: NodeStatus | None = None
    recheck_at: dt.datetime | None = None


def _condition(node: Node, type_: str) -> NodeCondition | None:
    for c in node.status.conditions:
        if c.type == type_:
            return c
    return None


def node_ready(node: Node) -> str:
    """The ``Ready`` condition's status (``True``, ``False``, ``Unknown``), ``""`` if absent."""
    ready = _condition(node, READY)
    return "" if ready is None else ready.status


def last_probe(node: Node, lease: Lease | None) -> dt.datetime | None:
    """The latest of the lease renewal, the Ready heartbeat and the node's creation."""
    ready = _condition(node, READY)
    times = [
        node.metadata.creation_timestamp,
        None if ready is None else ready.last_heartbeat_time,
        None if lease is None else lease.spec.renew_time,
    ]
    present = [t for t in times if t is not None]
    return max(present) if present else None


def _unknown(node: Node, *, now: dt.datetime) -> tuple[NodeCondition, ...]:
    conditions = list(node.status.conditions)
    for type_ in MONITORED_CONDITIONS:
        current = _condition(node, type_)
        if current is None:
            conditions.append(
                NodeCondition(
                    type=type_,
                    status="Unknown",
                    reason=_NEVER_REASON,
                    message=_NEVER_MESSAGE,
                    last_heartbeat_time=node.metadata.creation_timestamp,
                    last_transition_time=now,
                )
            )
        elif current.status != "Unknown":
            conditions[conditions.index(current)] = attrs.evolve(
                current,
                status="Unknown",
                reason=_UNKNOWN_REASON,
                message=_UNKNOWN_MESSAGE,
                last_transition_time=now,
            )
    return tuple(conditions)


def node_health(
    node: Node,
    lease: Lease | None,
    *,
    now: dt.datetime,
    grace: float = NODE_MONITOR_GRACE_PERIOD,
) -> NodeHealth:
    """Mark the node's conditions ``Unknown`` once its heartbeats are older than ``grace``."""
    probe = last_probe(node, lease)
    if probe is None:
        return NodeHealth()
    deadline = probe + dt.timedelta(seconds=grace)
    conditions = _unknown(node, now=now)
    if conditions == node.status.conditions:
        return NodeHealth()
    if now <= deadline:
        return NodeHealth(recheck_at=deadline)
    return NodeHealth(status=attrs.evolve(node.status, conditions=conditions))


# -- taints -------------------------------------------------------------------------------


def _implied(node: Node) -> list[tuple[str, str]]:
    statuses = {c.type: c.status for c in node.status.conditions}
    implied = [
        (key, effect)
        for type_, status, key, effect in CONDITION_TAINTS
        if statuses.get(type_) == status
    ]
    if node.spec.unschedulable:
        implied.append((TAINT_UNSCHEDULABLE, NO_SCHEDULE))
    return implied


def desired_taints(node: Node, *, now: dt.datetime) -> tuple[Taint, ...] | None:
    """The node's taints as the conditions and ``spec.unschedulable`` imply, or ``None`` if same."""
    implied = _implied(node)
    taints: list[Taint] = []
    for taint in node.spec.taints:
        pair = (taint.key, taint.effect)
        if pair in MANAGED_TAINTS and pair not in implied:
            continue
        stamp = taint.effect == NO_EXECUTE and taint.time_added is None
        taints.append(attrs.evolve(taint, time_added=now) if stamp else taint)
    present = {(t.key, t.effect) for t in taints}
    taints.extend(
        Taint(key=key, effect=effect, time_added=now)
        for key, effect in implied
        if (key, effect) not in present
    )
    result = tuple(taints)
    return None if result == node.spec.taints else result


# -- eviction -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Evict:
    """When a pod must leave its node: ``at`` (possibly already past), or never (``None``)."""

    at: dt.datetime | None = None


def no_execute_taints(node: Node) -> tuple[Taint, ...]:
    """The node's ``NoExecute`` taints."""
    return tuple(t for t in node.spec.taints if t.effect == NO_EXECUTE)


def eviction(pod: Pod, taints: Iterable[Taint], *, now: dt.datetime) -> Evict:
    """When ``pod`` must be evicted from a node with these taints (only ``NoExecute`` count)."""
    deadlines: list[dt.datetime] = []
    created = pod.metadata.creation_timestamp
    for taint in taints:
        if taint.effect != NO_EXECUTE:
            continue
        match = next((t for t in pod.spec.tolerations if tolerates(t, taint)), None)
        if match is None:
            return Evict(at=now)
        if match.toleration_seconds is None:
            continue
        start = now if taint.time_added is None else taint.time_added
        if created is not None:
            start = max(start, created)
        deadlines.append(start + dt.timedelta(seconds=max(match.toleration_seconds, 0)))
    return Evict(at=min(deadlines) if deadlines else None)


# -- pods ---------------------------------------------------------------------------------


def pod_not_ready(pod: Pod, *, now: dt.datetime) -> PodStatus | None:
    """The pod's status with its ``Ready`` condition ``False``, or ``None`` if no change."""
    conditions = list(pod.status.conditions)
    for i, c in enumerate(conditions):
        if c.type == READY:
            if c.status == "False":
                return None
            conditions[i] = attrs.evolve(c, status="False", last_transition_time=now)
            return attrs.evolve(pod.status, conditions=tuple(conditions))
    return None


def is_orphaned(pod: Pod, nodes: Container[str]) -> bool:
    """Whether ``pod`` is bound to a node whose name is not in ``nodes``."""
    return bool(pod.spec.node_name) and pod.spec.node_name not in nodes
