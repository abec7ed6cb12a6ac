"""
Pods to Running on a large embedded cluster (floor: 10,000 pods on 1,000 nodes in <= 10 s wall).

A :class:`controllers.Cluster` of N simulated nodes (events off) starts
(every kubelet registers its Node: timed apart as start-up), then 10 N bare
pods (no owner, one ``nginx`` container, no probes) are created and the
cluster settles: the wall time from the first create until every pod is
``Running``, checked through ``cluster.list("pods")``.
"""

from __future__ import annotations

import time

import controllers
import reconcile
from controllers.api.core import Container, Pod, PodSpec

NODES = 1_000
PODS_PER_NODE = 10
FLOOR_S = 10.0


def _pod(i: int) -> Pod:
    return Pod(
        metadata=reconcile.ObjectMeta(name=f"nginx-{i:05d}", namespace="default"),
        spec=PodSpec(containers=(Container(name="nginx", image="nginx:1.27"),)),
    )


async def _once(nodes: int, pods: int) -> dict[str, float]:
    began = time.perf_counter()
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        started = time.perf_counter()
        for i in range(pods):
            await cluster.api.create(_pod(i))
        simulated = await cluster.settle()
        done = time.perf_counter()
        running = sum(1 for p in cluster.list("pods") if p.status.phase == "Running")
    return {
        "startup_s": started - began,
        "wall_s": done - started,
        "simulated_s": simulated,
        "running": running,
    }


def run(scale: float = 1.0, runs: int = 3) -> dict[str, float]:
    """Median of ``runs`` (nodes and pods both scaled by ``scale``)."""
    reconcile.configure(level="CRITICAL")
    nodes = max(10, int(NODES * scale))
    pods = nodes * PODS_PER_NODE
    results = sorted(
        (controllers.run(_once(nodes, pods)) for _ in range(runs)), key=lambda r: r["wall_s"]
    )
    median = results[len(results) // 2]
    startups = sorted(r["startup_s"] for r in results)
    return {
        "nodes": nodes,
        "pods": pods,
        "runs": runs,
        "running": median["running"],
        "wall_s": median["wall_s"],
        "min_wall_s": results[0]["wall_s"],
        "max_wall_s": results[-1]["wall_s"],
        "pods_per_s": pods / median["wall_s"],
        "simulated_s": median["simulated_s"],
        "startup_s": startups[len(startups) // 2],
        "floor_s": FLOOR_S,
    }


if __name__ == "__main__":
    print(run())
