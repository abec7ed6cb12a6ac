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
* Sync cost: the median wall milliseconds of one sync's planning over the
  1,000 pods (one pod's readiness flipped each time, memo warm as in the
  controllers), for the Endpoints and the EndpointSlice controller.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import attrs

import controllers
import reconcile
from controllers import endpoints, endpointslice
from controllers.api.core import Endpoints, Pod, Service
from controllers.api.discovery import EndpointSlice

PODS = 1_000
NODES = 20
WARM_UP_S = 8.0
FLAP_S = 76.0
SYNC_ROUNDS = 21
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
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    },
}


def _slice_generations(cluster: controllers.Cluster) -> int:
    return sum(s.metadata.generation for s in cluster.list(EndpointSlice, namespace="default"))


async def _flapping(pods: int, nodes: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, events=False) as cluster:
        await cluster.apply(SERVICE)
        for i in range(pods):
            await cluster.apply(_pod(i))
        # Every pod running and ready (containers start after 1.5 s); windows open at 10 s.
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
        all_pods = list(cluster.list(Pod, namespace="default"))
        running = sum(1 for p in all_pods if p.status.phase == "Running")
        service = cluster.api.get_nowait(Service, "web", namespace="default")
        slices = list(cluster.list(EndpointSlice, namespace="default"))
        endpoints_ms, slices_ms = _sync_costs(service, final, slices, all_pods)
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
        "endpoints_sync_ms": endpoints_ms,
        "slices_sync_ms": slices_ms,
        "ready_after": ready,
        "not_ready_after": not_ready,
    }


def _flip(pod: Pod) -> Pod:
    """``pod`` with its Ready condition flipped (a new object, as a status write makes)."""
    conditions = tuple(
        attrs.evolve(c, status="False" if c.status == "True" else "True")
        if c.type == "Ready"
        else c
        for c in pod.status.conditions
    )
    return attrs.evolve(pod, status=attrs.evolve(pod.status, conditions=conditions))


def _sync_costs(
    service: Service, current: Endpoints, slices: list[EndpointSlice], pods: list[Pod]
) -> tuple[float, float]:
    """
    Median wall ms of one sync's planning, as the controllers run it (warm memo), per controller.

    Each round flips one pod's readiness, as one flap does, and plans both
    the Endpoints and the slices over all the pods.
    """
    endpoints_memo: endpoints.Memo = endpoints.PodMemo()
    slices_memo: endpointslice.Memo = endpoints.PodMemo()
    endpoints.plan(service, current, pods, memo=endpoints_memo)
    # As in the controller, the stored slices hold the very endpoints the memo made
    # (the API server keeps the objects it is given).
    fresh = endpointslice.plan(service, [], pods, memo=slices_memo).create
    slices = [s.with_meta(name=f"web-{i}") for i, s in enumerate(fresh)]
    costs_endpoints, costs_slices = [], []
    for i in range(SYNC_ROUNDS):
        pods = list(pods)
        pods[(i * 97) % len(pods)] = _flip(pods[(i * 97) % len(pods)])
        t0 = time.perf_counter()
        endpoints.plan(service, current, pods, memo=endpoints_memo)
        t1 = time.perf_counter()
        endpointslice.plan(service, slices, pods, memo=slices_memo)
        t2 = time.perf_counter()
        costs_endpoints.append(1000 * (t1 - t0))
        costs_slices.append(1000 * (t2 - t1))
    return statistics.median(costs_endpoints), statistics.median(costs_slices)


def run(scale: float = 1.0) -> dict[str, float]:
    """One run (about a minute at full scale)."""
    reconcile.configure(level="CRITICAL")
    return controllers.run(_flapping(max(10, int(PODS * scale)), max(2, int(NODES * scale))))


if __name__ == "__main__":
    print(run())
