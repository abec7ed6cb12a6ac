"""Scenarios for the scheduler's controller on a MemoryCluster with admission, in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

import reconcile
from controllers import scheduler
from controllers.api import install_admission
from controllers.api.core import Affinity, Node, Pod, PodAffinity, PodAffinityTerm, Taint
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.scheduler import builders
from tests.controllers.scheduler.builders import node, with_spec

Scenario = Callable[[MemoryCluster, VirtualClock], Awaitable[object]]
NO_CPU = "0/1 nodes are available: 1 Insufficient cpu."


def pod(name: str, **kwargs: Any) -> Pod:
    """:func:`builders.pod` with a container image, as admission requires."""
    p = builders.pod(name, **kwargs)
    containers = tuple(attrs.evolve(c, image="nginx") for c in p.spec.containers)
    return with_spec(p, containers=containers)


async def _add_node(cluster: MemoryCluster, n: Node) -> Node:
    """Create ``n``, then write its status (create drops it, as the status subresource does)."""
    created = await cluster.create(n)
    return await cluster.update_status(attrs.evolve(created, status=n.status))


def _with_scheduler(body: Scenario) -> object:
    """Run ``body`` on a fresh cluster with admission while a manager runs the scheduler."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=5)
        install_admission(cluster.admission)
        manager = reconcile.Manager(cluster, clock=clock)
        recorder = reconcile.EventRecorder(cluster, component="default-scheduler", clock=clock)
        scheduler.setup(manager, recorder=recorder)
        async with manager:
            return await body(cluster, clock)

    return run(scenario)


def _placement(cluster: MemoryCluster) -> dict[str, str]:
    return {p.metadata.name: p.spec.node_name for p in cluster.list_nowait(Pod).items}


def _scheduled(cluster: MemoryCluster, name: str) -> tuple[str, str, str] | None:
    p = cluster.get_nowait(Pod, reconcile.ObjectKey(namespace="default", name=name))
    for c in p.status.conditions:
        if c.type == "PodScheduled":
            return c.status, c.reason, c.message
    return None


def _events(cluster: MemoryCluster) -> list[tuple[str, str, str, str, str]]:
    return [
        (e.involved_object.name, e.type, e.reason, e.message, e.source.component)
        for e in cluster.list_nowait(reconcile.Event).items
    ]


def test_pending_pod_is_bound_and_marked_scheduled() -> None:
    """A pending pod goes to the node that fits and gets PodScheduled=True."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, node("small", cpu="1"))
        await _add_node(cluster, node("big", cpu="4"))
        await cluster.create(pod("p", cpu="2"))
        await clock.advance(5)
        return _placement(cluster), _scheduled(cluster, "p"), _events(cluster)

    assert ({"p": "big"}, ("True", "", ""), []) == _with_scheduler(body)


def test_unschedulable_pod_gets_condition_and_one_event() -> None:
    """A pod that fits nowhere gets PodScheduled=False/Unschedulable and one FailedScheduling."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, node("small", cpu="1"))
        await cluster.create(pod("p", cpu="2"))
        await clock.advance(30)
        return _placement(cluster), _scheduled(cluster, "p"), _events(cluster)

    assert (
        {"p": ""},
        ("False", "Unschedulable", NO_CPU),
        [("p", "Warning", "FailedScheduling", NO_CPU, "default-scheduler")],
    ) == _with_scheduler(body)


def test_condition_is_not_rewritten_while_unschedulable() -> None:
    """Retrying an unschedulable pod leaves its stored status (resource version) alone."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, node("small", cpu="1"))
        await cluster.create(pod("p", cpu="2"))
        await clock.advance(5)
        key = reconcile.ObjectKey(namespace="default", name="p")
        before = cluster.get_nowait(Pod, key).metadata.resource_version
        await clock.advance(60)
        return before == cluster.get_nowait(Pod, key).metadata.resource_version

    assert True is _with_scheduler(body)


def test_added_node_binds_waiting_pod() -> None:
    """A node added later takes the pod that fitted nowhere before."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, node("small", cpu="1"))
        await cluster.create(pod("p", cpu="2"))
        await clock.advance(5)
        await _add_node(cluster, node("big", cpu="4"))
        await clock.advance(1)
        return _placement(cluster), _scheduled(cluster, "p")

    assert ({"p": "big"}, ("True", "", "")) == _with_scheduler(body)


def test_removed_taint_binds_waiting_pod() -> None:
    """Removing the only node's taint lets the waiting pod onto it, without waiting for a retry."""
    taint = Taint(key="dedicated", value="db", effect="NoSchedule")

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        tainted = await _add_node(cluster, node("a", taints=[taint]))
        await cluster.create(pod("p"))
        await clock.advance(5)
        before = _placement(cluster), _scheduled(cluster, "p")
        await cluster.update(attrs.evolve(tainted, spec=attrs.evolve(tainted.spec, taints=())))
        await clock.advance(1)
        return before, (_placement(cluster), _scheduled(cluster, "p"))

    message = "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}."
    assert (
        ({"p": ""}, ("False", "Unschedulable", message)),
        ({"p": "a"}, ("True", "", "")),
    ) == _with_scheduler(body)


def test_required_anti_affinity_spreads_three_pods() -> None:
    """Three pods created at once with required hostname anti-affinity land on three nodes."""
    term = PodAffinityTerm(
        label_selector=reconcile.LabelSelector(match_labels={"app": "web"}),
        topology_key="kubernetes.io/hostname",
    )
    affinity = Affinity(
        pod_anti_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=(term,))
    )

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        for name in ("a", "b", "c"):
            await _add_node(cluster, node(name))
        for i in range(3):
            await cluster.create(
                with_spec(pod(f"web-{i}", labels={"app": "web"}), affinity=affinity)
            )
        await clock.advance(5)
        return sorted(_placement(cluster).values())

    assert ["a", "b", "c"] == _with_scheduler(body)


def test_pod_with_node_name_is_left_alone() -> None:
    """A pod created with spec.nodeName is neither moved nor given a PodScheduled condition."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, node("a"))
        created = await cluster.create(with_spec(pod("p"), node_name="elsewhere"))
        await clock.advance(5)
        stored = cluster.get_nowait(Pod, created.key)
        return stored.spec.node_name, stored.status.conditions, stored == created

    assert ("elsewhere", (), True) == _with_scheduler(body)


def test_other_scheduler_pods_are_left_alone() -> None:
    """A pod naming another scheduler stays pending."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _add_node(cluster, node("a"))
        await cluster.create(with_spec(pod("p"), scheduler_name="my-scheduler"))
        await clock.advance(5)
        return _placement(cluster), _scheduled(cluster, "p")

    assert ({"p": ""}, None) == _with_scheduler(body)


def test_nodes_are_required() -> None:
    """With no node at all the pod is Unschedulable with Kubernetes' message."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await cluster.create(pod("p"))
        await clock.advance(5)
        return _scheduled(cluster, "p")

    assert ("False", "Unschedulable", "no nodes available to schedule pods") == _with_scheduler(
        body
    )
