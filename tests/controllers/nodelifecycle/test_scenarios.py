"""
Scenarios for the node lifecycle controllers on a MemoryCluster with admission, in virtual time.

The kubelet is simulated here: :func:`_heartbeats` renews a node's Lease
every 10 s until cancelled, and :func:`_kubelet_posts_ready` writes the
node's ``Ready=True`` status as a recovering kubelet would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import attrs

import reconcile
from controllers import nodelifecycle
from controllers.api import install_admission
from controllers.api.core import Node, Pod, Taint
from controllers.nodelifecycle import TAINT_UNREACHABLE
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.nodelifecycle.builders import (
    healthy_conditions,
    lease,
    node,
    pod,
    tolerate,
)

Scenario = Callable[[MemoryCluster, VirtualClock], Awaitable[object]]


def _with_controllers(body: Scenario) -> object:
    """Run ``body`` on a fresh cluster with admission while a manager runs the controllers."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=7)
        install_admission(cluster.admission)
        manager = reconcile.Manager(cluster, clock=clock)
        recorder = reconcile.EventRecorder(cluster, component="node-controller", clock=clock)
        nodelifecycle.setup(manager, recorder=recorder)
        async with manager:
            return await body(cluster, clock)

    return run(scenario)


async def _add_node(cluster: MemoryCluster, clock: VirtualClock, name: str = "n1") -> Node:
    """Register a healthy node and its lease, as a starting kubelet does."""
    created = await cluster.create(node(name))
    await cluster.create(lease(name, renewed=clock.now()))
    status = attrs.evolve(created.status, conditions=healthy_conditions(clock.now()))
    return await cluster.update_status(attrs.evolve(created, status=status))


async def _add_pod(cluster: MemoryCluster, p: Pod) -> Pod:
    """Create ``p`` (bound) and mark it ``Ready=True`` as its kubelet would."""
    created = await cluster.create(p)
    ready = pod(is_ready=True).status
    return await cluster.update_status(attrs.evolve(created, status=ready))


@contextlib.asynccontextmanager
async def _heartbeats(
    cluster: MemoryCluster, clock: VirtualClock, name: str = "n1"
) -> AsyncIterator[None]:
    """Renew the node's lease every 10 s while the block runs."""

    async def renew() -> None:
        key = reconcile.ObjectKey(namespace=nodelifecycle.LEASE_NAMESPACE, name=name)
        while True:
            await clock.sleep(10)
            current = cluster.get_nowait(reconcile.Lease, key)
            spec = attrs.evolve(current.spec, renew_time=clock.now())
            await cluster.update(attrs.evolve(current, spec=spec))

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _kubelet_posts_ready(cluster: MemoryCluster, clock: VirtualClock) -> None:
    current = _node(cluster)
    status = attrs.evolve(current.status, conditions=healthy_conditions(clock.now()))
    await cluster.update_status(attrs.evolve(current, status=status))


def _node(cluster: MemoryCluster, name: str = "n1") -> Node:
    return cluster.get_nowait(Node, reconcile.ObjectKey(namespace="", name=name))


def _ready(cluster: MemoryCluster) -> str:
    return next(c.status for c in _node(cluster).status.conditions if c.type == "Ready")


def _taints(cluster: MemoryCluster) -> list[tuple[str, str]]:
    return sorted((t.key, t.effect) for t in _node(cluster).spec.taints)


def _pods(cluster: MemoryCluster) -> dict[str, str]:
    """Each pod's state: ``terminating`` or ``running``."""
    return {
        p.metadata.name: "terminating" if p.metadata.deletion_timestamp else "running"
        for p in cluster.list_nowait(Pod).items
    }


def _pod_ready(cluster: MemoryCluster, name: str) -> str:
    p = cluster.get_nowait(Pod, reconcile.ObjectKey(namespace="default", name=name))
    return next(c.status for c in p.status.conditions if c.type == "Ready")


def _events(cluster: MemoryCluster) -> list[tuple[str, str, str]]:
    return [
        (e.involved_object.name, e.reason, e.message)
        for e in cluster.list_nowait(reconcile.Event).items
    ]


UNREACHABLE = [(TAINT_UNREACHABLE, "NoExecute"), (TAINT_UNREACHABLE, "NoSchedule")]


def test_healthy_node_is_left_alone() -> None:
    """While the lease is renewed, the controller writes nothing to the node."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        before = _node(cluster).metadata.resource_version
        async with _heartbeats(cluster, clock):
            await clock.advance(600)
        return _ready(cluster), _node(cluster).metadata.resource_version == before

    assert ("True", True) == _with_controllers(body)


def test_silent_node_is_not_polled() -> None:
    """Without events the controllers wake only at deadlines: a few reconciles in an hour."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=7)
        install_admission(cluster.admission)
        manager = reconcile.Manager(cluster, clock=clock)
        controllers = nodelifecycle.setup(manager)
        async with manager:
            await _add_node(cluster, clock)
            await _add_pod(cluster, pod("p"))
            await clock.advance(3600)
        return (
            controllers.node_lifecycle.statistics().reconciles <= 10,
            controllers.taint_eviction.statistics().reconciles <= 10,
            _ready(cluster),
            _pods(cluster),
        )

    assert (True, True, "Unknown", {"p": "terminating"}) == run(scenario)


def test_node_without_heartbeats_becomes_unknown_after_grace_period() -> None:
    """50 s after the last lease renewal the node is Unknown, tainted unreachable, and told."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        async with _heartbeats(cluster, clock):
            await clock.advance(105)  # last renewal at 100 s
        await clock.advance(44)
        before = _ready(cluster), _taints(cluster)
        await clock.advance(2)
        reasons = {c.type: c.reason for c in _node(cluster).status.conditions}
        return before, _ready(cluster), reasons, _taints(cluster), _events(cluster)

    assert (
        ("True", []),
        "Unknown",
        {
            "Ready": "NodeStatusUnknown",
            "MemoryPressure": "NodeStatusUnknown",
            "DiskPressure": "NodeStatusUnknown",
            "PIDPressure": "NodeStatusUnknown",
        },
        UNREACHABLE,
        [("n1", "NodeNotReady", "Node n1 status is now: NodeNotReady")],
    ) == _with_controllers(body)


def test_unreachable_node_marks_its_pods_not_ready() -> None:
    """Pods of a node that went Unknown get Ready=False and a NodeNotReady warning."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        await _add_pod(cluster, pod("p"))
        await clock.advance(45)
        before = _pod_ready(cluster, "p")
        await clock.advance(10)
        return (
            before,
            _pod_ready(cluster, "p"),
            ("p", "NodeNotReady", "Node is not ready") in (_events(cluster)),
        )

    assert ("True", "False", True) == _with_controllers(body)


def test_unreachable_node_evicts_pods_after_toleration_seconds() -> None:
    """Default tolerations keep pods 300 s after the unreachable taint; forever means forever."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        await _add_pod(cluster, pod("default-tolerations"))
        await _add_pod(cluster, pod("forever", tolerations=[tolerate(TAINT_UNREACHABLE)]))
        await clock.advance(55)  # Unknown and tainted just after 50 s
        tainted = _taints(cluster)
        await clock.advance(293)  # 348 s
        before = _pods(cluster)
        await clock.advance(5)  # 353 s
        after = _pods(cluster)
        await clock.advance(3600)
        evictions = [e for e in _events(cluster) if e[1] == "TaintManagerEviction"]
        return tainted, before, after, _pods(cluster), evictions

    assert (
        UNREACHABLE,
        {"default-tolerations": "running", "forever": "running"},
        {"default-tolerations": "terminating", "forever": "running"},
        {"default-tolerations": "terminating", "forever": "running"},
        [
            (
                "default-tolerations",
                "TaintManagerEviction",
                "Marking for deletion Pod default/default-tolerations",
            )
        ],
    ) == _with_controllers(body)


def test_recovered_node_loses_unreachable_taint() -> None:
    """When the kubelet comes back, the taint goes and tolerating pods stay."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        await _add_pod(cluster, pod("p"))
        await clock.advance(100)
        down = _ready(cluster), _taints(cluster)
        async with _heartbeats(cluster, clock):
            await _kubelet_posts_ready(cluster, clock)
            await clock.advance(1)
            up = _ready(cluster), _taints(cluster)
            await clock.advance(600)
        return down, up, _ready(cluster), _pods(cluster)

    assert (
        ("Unknown", UNREACHABLE),
        ("True", []),
        "True",
        {"p": "running"},
    ) == _with_controllers(body)


def test_user_noexecute_taint_evicts_non_tolerating_pods() -> None:
    """A user's NoExecute taint evicts at once, after tolerationSeconds, or never."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        await _add_pod(cluster, pod("intolerant"))
        await _add_pod(cluster, pod("sixty", tolerations=[tolerate("maintenance", 60)]))
        await _add_pod(cluster, pod("forever", tolerations=[tolerate("maintenance")]))
        async with _heartbeats(cluster, clock):
            await clock.advance(10)
            current = _node(cluster)
            taints = (Taint(key="maintenance", effect="NoExecute"),)
            await cluster.update(
                attrs.evolve(current, spec=attrs.evolve(current.spec, taints=taints))
            )
            await clock.advance(1)
            first = _pods(cluster)
            stamped = [t.time_added is not None for t in _node(cluster).spec.taints]
            await clock.advance(58)
            before = _pods(cluster)["sixty"]
            await clock.advance(2)
            after = _pods(cluster)
            await clock.advance(600)
            return first, stamped, before, after, _pods(cluster)

    assert (
        {"forever": "running", "intolerant": "terminating", "sixty": "running"},
        [True],
        "running",
        {"forever": "running", "intolerant": "terminating", "sixty": "terminating"},
        {"forever": "running", "intolerant": "terminating", "sixty": "terminating"},
    ) == _with_controllers(body)


def test_pods_on_deleted_node_are_garbage_collected() -> None:
    """Pods bound to a node that is deleted, or never existed, are force-deleted."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        await _add_node(cluster, clock, "n2")
        await _add_pod(cluster, pod("on-n1"))
        await _add_pod(cluster, pod("on-n2", node_name="n2"))
        await _add_pod(cluster, pod("nowhere", node_name="ghost"))
        await clock.advance(1)
        first = sorted(_pods(cluster))
        await cluster.delete(Node, "n1")
        await clock.advance(1)
        return first, _pods(cluster)

    assert (["on-n1", "on-n2"], {"on-n2": "running"}) == _with_controllers(body)


def test_cordoned_node_gets_unschedulable_taint_until_uncordoned() -> None:
    """cordon/uncordon flip spec.unschedulable; the controller follows with the taint."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, clock)
        async with _heartbeats(cluster, clock):
            cordoned = (await nodelifecycle.cordon(cluster, "n1")).spec.unschedulable
            await clock.advance(1)
            tainted = _taints(cluster)
            await nodelifecycle.uncordon(cluster, "n1")
            await clock.advance(1)
            return cordoned, tainted, _taints(cluster)

    assert (
        True,
        [("node.kubernetes.io/unschedulable", "NoSchedule")],
        [],
    ) == _with_controllers(body)
