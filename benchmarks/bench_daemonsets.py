"""
A DaemonSet on a large embedded cluster.

* Create: a :class:`controllers.Cluster` of 1,000 nodes (events off), one
  DaemonSet: wall and simulated time from the create until the cluster
  settles with a pod available on every node.
* Churn: 100 nodes join and 100 others are removed at once: wall and
  simulated time until the cluster settles again with exactly one available
  daemon pod on every node and none elsewhere.
* Rollout: a new image with ``maxUnavailable: 10%``: wall and simulated time
  until every node runs an available pod of the new template. A watch on
  Pods checks after every event that no more than 10% of the nodes lack an
  available pod; the most seen at once is reported.
"""

from __future__ import annotations

import asyncio
import time

import controllers
import reconcile
from controllers.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    DaemonSetUpdateStrategy,
    RollingUpdateDaemonSet,
)
from controllers.api.core import Container, Node, Pod, PodSpec, PodTemplateSpec
from controllers.daemonset import surge_and_unavailable, target_node
from controllers.kubelet import NodeConfig
from controllers.replicaset import is_pod_ready

NODES = 1_000
CHURN = 100
LABELS: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({"app": "agent"})


def _daemonset() -> DaemonSet:
    rolling = RollingUpdateDaemonSet(max_unavailable="10%")
    return DaemonSet(
        metadata=reconcile.ObjectMeta(name="agent", namespace="default"),
        spec=DaemonSetSpec(
            selector=reconcile.LabelSelector(match_labels=LABELS),
            template=PodTemplateSpec(
                metadata=reconcile.ObjectMeta(labels=LABELS),
                spec=PodSpec(containers=(Container(name="agent", image="agent:1.0"),)),
            ),
            update_strategy=DaemonSetUpdateStrategy(rolling_update=rolling),
        ),
    )


def _check(cluster: controllers.Cluster) -> int:
    """Every node runs exactly one ready daemon pod, and no pod is elsewhere; the node count."""
    nodes = {n.metadata.name for n in cluster.api.list_nowait(Node).items}
    pods = list(cluster.api.list_nowait(Pod, namespace="default").items)
    placed = sorted(target_node(p) for p in pods if is_pod_ready(p))
    assert placed == sorted(nodes), (len(placed), len(nodes))
    assert len(pods) == len(nodes), (len(pods), len(nodes))
    ds = cluster.api.get_nowait(DaemonSet, reconcile.ObjectKey("default", "agent"))
    assert ds.status.number_available == ds.status.desired_number_scheduled == len(nodes)
    return len(nodes)


class _Unavailable:
    """Nodes without an available (ready) daemon pod, updated from watch events."""

    def __init__(self, pods: list[Pod], nodes: set[str]) -> None:
        self.pods = {p.metadata.uid: p for p in pods}
        self.ready = dict.fromkeys(nodes, 0)
        self.now = len(nodes)  # nodes whose count of ready pods is 0
        for p in pods:
            self._count(p, 1)
        self.worst = self.now

    def _count(self, pod: Pod, sign: int) -> None:
        name = target_node(pod)
        if name not in self.ready or pod.metadata.deletion_timestamp is not None:
            return
        if not is_pod_ready(pod):
            return
        before = self.ready[name]
        self.ready[name] = before + sign
        if before == 0:
            self.now -= 1
        elif self.ready[name] == 0:
            self.now += 1

    def apply(self, kind: reconcile.EventType, pod: Pod) -> None:
        old = self.pods.pop(pod.metadata.uid, None)
        if old is not None:
            self._count(old, -1)
        if kind is not reconcile.EventType.DELETED:
            self.pods[pod.metadata.uid] = pod
            self._count(pod, 1)
        self.worst = max(self.worst, self.now)


async def _rollout(cluster: controllers.Cluster) -> dict[str, float]:
    nodes = {n.metadata.name for n in cluster.api.list_nowait(Node).items}
    pods = list(cluster.api.list_nowait(Pod, namespace="default").items)
    bounds = _Unavailable(pods, nodes)
    since = cluster.api.resource_version

    async def follow() -> None:
        async for event in cluster.api.watch(Pod, namespace="default", since=since):
            if isinstance(event.object, Pod) and event.type is not reconcile.EventType.BOOKMARK:
                bounds.apply(event.type, event.object)

    async with asyncio.TaskGroup() as tasks:
        watch = tasks.create_task(follow())
        began, simulated = time.perf_counter(), cluster.clock.time()
        await cluster.set_image("daemonset", "agent", {"agent": "agent:2.0"})
        await cluster.settle()
        rolled = time.perf_counter() - began
        rolled_simulated = cluster.clock.time() - simulated
        watch.cancel()
    _check(cluster)
    images = {p.spec.containers[0].image for p in cluster.api.list_nowait(Pod).items}
    assert images == {"agent:2.0"}, images
    ds = cluster.api.get_nowait(DaemonSet, reconcile.ObjectKey("default", "agent"))
    _, limit = surge_and_unavailable(ds, len(nodes))
    assert bounds.worst <= limit, (bounds.worst, limit)
    return {
        "rollout_s": rolled,
        "rollout_simulated_s": rolled_simulated,
        "rollout_max_unavailable": bounds.worst,
        "rollout_limit_unavailable": limit,
    }


async def _run(nodes: int, churn: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        began, simulated = time.perf_counter(), cluster.clock.time()
        await cluster.api.create(_daemonset())
        await cluster.settle()
        created = time.perf_counter() - began
        created_simulated = cluster.clock.time() - simulated
        _check(cluster)
        began, simulated = time.perf_counter(), cluster.clock.time()
        for i in range(churn):
            cluster.kubelets.add_node(NodeConfig(name=f"extra-{i + 1:04d}"))
        for i in range(churn):
            await cluster.remove_node(f"node-{i + 1}")
        await cluster.settle()
        churned = time.perf_counter() - began
        churned_simulated = cluster.clock.time() - simulated
        final = _check(cluster)
        rollout = await _rollout(cluster)
    return {
        "nodes": nodes,
        "create_s": created,
        "create_simulated_s": created_simulated,
        "churn": churn,
        "churn_s": churned,
        "churn_simulated_s": churned_simulated,
        "final_nodes": final,
        **rollout,
    }


def run(scale: float = 1.0, runs: int = 1) -> dict[str, float]:
    """One run by default; the median by create time of ``runs``."""
    reconcile.configure(level="CRITICAL")
    nodes = max(10, int(NODES * scale))
    churn = max(1, int(CHURN * scale))
    results = sorted(
        (controllers.run(_run(nodes, churn)) for _ in range(runs)), key=lambda r: r["create_s"]
    )
    return results[len(results) // 2]


if __name__ == "__main__":
    print(run())
