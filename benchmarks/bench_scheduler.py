"""
Scheduler throughput on 1,000 nodes (floor: >= 1,000 pods/s bound, decision trace off).

* Planner: :func:`controllers.scheduler.plan.schedule_snapshot` called once
  per pod over the snapshot of a :class:`controllers.scheduler.cache.Cache` of
  1,000 nodes, each chosen pod added to the cache before the next call (pods
  accumulate; the round-robin start index carried over, as the reconciler
  does), with the per-node trace off and on: pods per second and the trace's
  overhead.
* End to end: a :class:`reconcile.testing.MemoryCluster` holding the nodes and
  the pending pods, a :class:`reconcile.Manager` with only the scheduler
  (``scheduler.setup(manager, trace=False)``): wall time until every pod is
  bound and ``PodScheduled``.
"""

from __future__ import annotations

import statistics
import time

import attrs

import reconcile
from controllers import scheduler
from controllers.api import install_admission
from controllers.api.core import (
    Container,
    Node,
    NodeStatus,
    Pod,
    PodSpec,
    ResourceRequirements,
)
from controllers.scheduler.cache import Cache
from controllers.scheduler.plan import schedule_snapshot
from reconcile.testing import MemoryCluster, VirtualClock

NODES = 1_000
PODS = 1_000
FLOOR_PODS_PER_S = 1_000.0
DEADLINE_S = 600.0  # simulated: give up rather than loop when pods stay unbound


def _node(i: int) -> Node:
    allocatable: reconcile.FrozenDict[str, str | int | float] = reconcile.FrozenDict(
        {"cpu": "8", "memory": "32Gi", "pods": "110"}
    )
    name = f"node-{i:04d}"
    return Node(
        metadata=reconcile.ObjectMeta(name=name, labels={"kubernetes.io/hostname": name}),
        status=NodeStatus(allocatable=allocatable, capacity=allocatable),
    )


def _pod(i: int) -> Pod:
    requests: reconcile.FrozenDict[str, str | int | float] = reconcile.FrozenDict(
        {"cpu": "100m", "memory": "128Mi"}
    )
    container = Container(
        name="nginx", image="nginx:1.27", resources=ResourceRequirements(requests=requests)
    )
    return Pod(
        metadata=reconcile.ObjectMeta(name=f"nginx-{i:05d}", namespace="default"),
        spec=PodSpec(containers=(container,)),
    )


def _planner(nodes: list[Node], pods: list[Pod], *, trace: bool) -> float:
    """Pods per second through :func:`schedule`, pods accumulating on their nodes."""
    cache = Cache(nodes)
    start = 0
    began = time.perf_counter()
    for pod in pods:
        decision = schedule_snapshot(pod, cache.snapshot(), trace=trace, start=start)
        if decision.node is None:
            raise AssertionError(decision.message)
        start = decision.next_start
        bound = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=decision.node))
        cache.set_pod((pod.metadata.namespace, pod.metadata.name), bound)
    return len(pods) / (time.perf_counter() - began)


async def _end_to_end(clock: VirtualClock, nodes: list[Node], pods: list[Pod]) -> float:
    cluster = MemoryCluster(clock=clock, seed=1)
    install_admission(cluster.admission)
    for node in nodes:
        created = await cluster.create(node)  # create drops the status, as in Kubernetes
        await cluster.update_status(attrs.evolve(created, status=node.status))
    for pod in pods:
        await cluster.create(pod)
    manager = reconcile.Manager(cluster, clock=clock)
    scheduler.setup(manager, trace=False)
    began = time.perf_counter()
    async with manager:
        while True:
            await clock.wait_idle()
            items = cluster.list_nowait(Pod).items
            if all(p.spec.node_name and p.status.conditions for p in items):
                break
            if clock.time() > DEADLINE_S:
                raise AssertionError("pods left unbound")
            await clock.advance(1.0)
    return len(pods) / (time.perf_counter() - began)


def run(scale: float = 1.0, runs: int = 3) -> dict[str, float]:
    """Median of ``runs``; ``scale`` shrinks the pod count (never the 1,000 nodes)."""
    reconcile.configure(level="CRITICAL")
    count = max(20, int(PODS * scale))
    nodes = [_node(i) for i in range(NODES)]
    pods = [_pod(i) for i in range(count)]
    off = [_planner(nodes, pods, trace=False) for _ in range(runs)]
    on = [_planner(nodes, pods, trace=True) for _ in range(runs)]
    e2e = []
    for _ in range(runs):
        clock = VirtualClock()
        e2e.append(clock.run(_end_to_end(clock, nodes, pods)))
    planner_off, planner_on = statistics.median(off), statistics.median(on)
    return {
        "nodes": NODES,
        "pods": count,
        "runs": runs,
        "planner_pods_per_s": planner_off,
        "planner_trace_pods_per_s": planner_on,
        "trace_overhead": planner_off / planner_on - 1,
        "end_to_end_pods_per_s": statistics.median(e2e),
        "floor_pods_per_s": FLOOR_PODS_PER_S,
    }


if __name__ == "__main__":
    print(run())
