"""
A DaemonSet on a large embedded cluster.

* Create: a :class:`controllers.Cluster` of 1,000 nodes (events off), one
  DaemonSet: wall and simulated time from the create until the cluster
  settles with a pod available on every node.
* Churn: 100 nodes join and 100 others are removed at once: wall and
  simulated time until the cluster settles again with exactly one available
  daemon pod on every node and none elsewhere.
"""

from __future__ import annotations

import time

import controllers
import reconcile
from controllers.api.apps import DaemonSet, DaemonSetSpec
from controllers.api.core import Container, Node, Pod, PodSpec, PodTemplateSpec
from controllers.daemonset import target_node
from controllers.kubelet import NodeConfig
from controllers.replicaset import is_pod_ready

NODES = 1_000
CHURN = 100
LABELS: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({"app": "agent"})


def _daemonset() -> DaemonSet:
    return DaemonSet(
        metadata=reconcile.ObjectMeta(name="agent", namespace="default"),
        spec=DaemonSetSpec(
            selector=reconcile.LabelSelector(match_labels=LABELS),
            template=PodTemplateSpec(
                metadata=reconcile.ObjectMeta(labels=LABELS),
                spec=PodSpec(containers=(Container(name="agent", image="agent:1.0"),)),
            ),
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
    return {
        "nodes": nodes,
        "create_s": created,
        "create_simulated_s": created_simulated,
        "churn": churn,
        "churn_s": churned,
        "churn_simulated_s": churned_simulated,
        "final_nodes": final,
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
