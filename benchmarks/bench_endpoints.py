"""
Endpoints of a Service over 1,000 pods whose readiness flaps (``endpoints-1k-flapping``).

A :class:`controllers.Cluster` of 20 nodes (events off) runs a Service
selecting 1,000 pods. Each pod's script makes its readiness probe (every
second, one failure enough) fail in two 3-second windows, staggered over
the pods so that some pod turns unready or ready nearly every simulated
second for about 80 s.

* Flapping: wall time of those 76 simulated seconds, and how many times the
  Endpoints and the EndpointSlices were written meanwhile (each write bumps
  the object's ``generation``): writes per wall second, and wall
  milliseconds per Endpoints write (everything the cluster does included:
  probes, pod status writes, both endpoint controllers).
* Settle: once the last window is over, wall and simulated time until the
  cluster settles, when all 1,000 addresses must be ready again.
"""

from __future__ import annotations

import time
from typing import Any

import controllers
import reconcile
from controllers.api.core import Endpoints, Pod
from controllers.api.discovery import EndpointSlice

PODS = 1_000
NODES = 20
WARM_UP_S = 8.0
FLAP_S = 76.0
PROBE = {"periodSeconds": 1, "failureThreshold": 1, "httpGet": {"path": "/", "port": 8080}}


def _pod(i: int) -> dict[str, Any]:
    start = 10 + (i * 37) % 40  # staggered over 10..49 s of container time
    script = f"unready={start}s..{start + 3}s; unready={start + 30}s..{start + 33}s"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"web-{i}",
            "labels": {"app": "web"},
            "annotations": {"script.sim.reconcile.dev/app": script},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "app:v1",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": PROBE,
                }
            ]
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
}


def _slice_generations(cluster: controllers.Cluster) -> int:
    return sum(
        s.metadata.generation for s in cluster.list(EndpointSlice, namespace="default")
    )


async def _flapping(pods: int, nodes: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, events=False) as cluster:
        await cluster.apply(SERVICE)
        for i in range(pods):
            await cluster.apply(_pod(i))
        # Every pod running and ready (containers start after 1.5 s); the first window opens at 10 s.
        await cluster.advance(WARM_UP_S)
        clock = cluster.clock
        start_endpoints = cluster.api.get_nowait(Endpoints, "web", namespace="default")
        start_generation = start_endpoints.metadata.generation
        start_slices = _slice_generations(cluster)
        t0 = time.perf_counter()
        await cluster.advance(FLAP_S)
        flap_wall = time.perf_counter() - t0
        endpoints = cluster.api.get_nowait(Endpoints, "web", namespace="default")
        updates = endpoints.metadata.generation - start_generation
        slice_updates = _slice_generations(cluster) - start_slices
        t1 = time.perf_counter()
        v1 = clock.time()
        await cluster.settle()
        settle_wall = time.perf_counter() - t1
        settle_simulated = clock.time() - v1
        final = cluster.api.get_nowait(Endpoints, "web", namespace="default")
        ready = sum(len(s.addresses) for s in final.subsets)
        not_ready = sum(len(s.not_ready_addresses) for s in final.subsets)
        running = sum(
            1 for p in cluster.list(Pod, namespace="default") if p.status.phase == "Running"
        )
    return {
        "pods": pods,
        "nodes": nodes,
        "running": running,
        "flap_simulated_s": FLAP_S,
        "flap_wall_s": flap_wall,
        "endpoints_updates": updates,
        "slice_updates": slice_updates,
        "updates_per_s": updates / flap_wall,
        "ms_per_update": 1000 * flap_wall / max(updates, 1),
        "settle_wall_s": settle_wall,
        "settle_simulated_s": settle_simulated,
        "ready_after": ready,
        "not_ready_after": not_ready,
    }


def run(scale: float = 1.0) -> dict[str, float]:
    """One run (about a minute at full scale)."""
    reconcile.configure(level="CRITICAL")
    return controllers.run(_flapping(max(10, int(PODS * scale)), max(2, int(NODES * scale))))


if __name__ == "__main__":
    print(run())
