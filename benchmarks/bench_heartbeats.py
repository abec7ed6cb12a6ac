"""
Node heartbeats in virtual time, and memory per simulated node.

* Speed (floor: >= 150x real time): a :class:`controllers.Cluster` of 1,000
  nodes (events off) runs one simulated hour: every kubelet renews its Lease
  every 10 s and reports node status, the node lifecycle controller watches.
  Simulated seconds per wall second, start-up excluded.
* Memory: ``tracemalloc`` growth of a running cluster with N nodes minus
  that of an empty one (same components), divided by N, after a simulated
  minute of heartbeats (research target: <= 10 KB per node; kubemark's
  hollow node needs about 220 MB).
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc

import controllers
import reconcile

NODES = 1_000
HOURS = 1.0
FLOOR_SPEEDUP = 150.0


async def _speed(nodes: int, seconds: float) -> float:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        began = time.perf_counter()
        await cluster.advance(seconds)
        return seconds / (time.perf_counter() - began)


async def _footprint(nodes: int) -> int:
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        await cluster.advance(60.0)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before


def run(scale: float = 1.0, runs: int = 3) -> dict[str, float]:
    """
    Median of ``runs`` for the speed.

    ``scale`` shrinks the simulated time (to no less than 3 minutes; the
    speed hardly depends on it); below 0.05 it also shrinks the node count.
    """
    reconcile.configure(level="CRITICAL")
    nodes = NODES if scale >= 0.05 else max(10, int(NODES * scale * 20))
    seconds = HOURS * 3600 * min(1.0, max(scale, 0.05))
    speeds = [controllers.run(_speed(nodes, seconds)) for _ in range(runs)]
    tracemalloc.start()
    try:
        empty = controllers.run(_footprint(0))
        full = controllers.run(_footprint(nodes))
    finally:
        tracemalloc.stop()
    return {
        "nodes": nodes,
        "simulated_s": seconds,
        "runs": runs,
        "speedup": statistics.median(speeds),
        "min_speedup": min(speeds),
        "max_speedup": max(speeds),
        "bytes_per_node": (full - empty) / nodes,
        "floor_speedup": FLOOR_SPEEDUP,
    }


if __name__ == "__main__":
    print(run())
