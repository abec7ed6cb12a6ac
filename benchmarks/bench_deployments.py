"""
Deployments on a large embedded cluster (floors: 10,000 replicas Available in <= 10 s wall,
their 25%/25% rolling update in <= 20 s wall).

* Create: a :class:`controllers.Cluster` of 1,000 nodes (events off), one
  Deployment of 10,000 replicas of ``nginx:1.27``: wall time from the create
  until the cluster settles with the Deployment ``Available`` and every
  replica available.
* Rolling update: ``set image`` to ``nginx:1.28`` on that Deployment (default
  strategy 25% / 25%): wall time until it settles with every replica of the
  new template available. A watch on Pods and ReplicaSets checks the rollout
  bounds after every event (every write the controllers make): the
  ReplicaSets' ``spec.replicas`` never sum above replicas + maxSurge, and
  available pods never fall below replicas - maxUnavailable. The most pods
  (not terminating) seen at once is reported too.
* Many: 1,000 Deployments of 10 replicas on 100 nodes: wall time to settle,
  and the simulated time from each Deployment's create until it was first
  ``Available`` with all its replicas (p50, p99).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import controllers
import reconcile
from controllers.api.apps import Deployment, DeploymentSpec, ReplicaSet
from controllers.api.core import Container, Pod, PodSpec, PodTemplateSpec
from controllers.deployment import deployment_complete
from controllers.replicaset import is_pod_ready

NODES = 1_000
REPLICAS = 10_000
MANY = 1_000
MANY_REPLICAS = 10
MANY_NODES = 100
FLOOR_CREATE_S = 10.0
FLOOR_ROLLOUT_S = 20.0
LABELS: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({"app": "web"})


def _deployment(name: str, replicas: int, labels: reconcile.FrozenDict[str, str]) -> Deployment:
    return Deployment(
        metadata=reconcile.ObjectMeta(name=name, namespace="default"),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=reconcile.LabelSelector(match_labels=labels),
            template=PodTemplateSpec(
                metadata=reconcile.ObjectMeta(labels=labels),
                spec=PodSpec(containers=(Container(name="web", image="nginx:1.27"),)),
            ),
        ),
    )


def _available(d: Deployment) -> bool:
    """Complete (every replica updated and available, generation observed) and ``Available``."""
    return deployment_complete(d, d.status) and any(
        c.type == "Available" and c.status.value == "True" for c in d.status.conditions
    )


class _Bounds:
    """Rollout bounds, updated incrementally from watch events (see the module docstring)."""

    def __init__(self, replicas: int, surge: int, unavailable: int) -> None:
        self.replicas, self.surge, self.unavailable = replicas, surge, unavailable
        self.specs: dict[str, int] = {}
        self.pods: dict[str, tuple[bool, bool]] = {}  # uid -> (active, available)
        self.active = self.available = 0
        self.max_specs = self.max_active = 0
        self.min_available = replicas
        self.events = 0
        self.violations: list[str] = []
        self.checking = False  # off while the starting state is loaded

    def replica_set(self, kind: reconcile.EventType, rs: ReplicaSet) -> None:
        if kind is reconcile.EventType.DELETED:
            self.specs.pop(rs.metadata.name, None)
        else:
            self.specs[rs.metadata.name] = rs.spec.replicas or 0
        self._check()

    def pod(self, kind: reconcile.EventType, pod: Pod) -> None:
        old_active, old_available = self.pods.pop(pod.metadata.uid, (False, False))
        self.active -= old_active
        self.available -= old_available
        if kind is not reconcile.EventType.DELETED:
            active = pod.metadata.deletion_timestamp is None
            state = (active, active and is_pod_ready(pod))
            self.pods[pod.metadata.uid] = state
            self.active += state[0]
            self.available += state[1]
        self._check()

    def _check(self) -> None:
        if not self.checking:
            return
        self.events += 1
        total = sum(self.specs.values())
        self.max_specs = max(self.max_specs, total)
        self.max_active = max(self.max_active, self.active)
        self.min_available = min(self.min_available, self.available)
        if total > self.replicas + self.surge:
            self.violations.append(f"replica sets sum to {total}")
        if self.available < self.replicas - self.unavailable:
            self.violations.append(f"{self.available} available")


async def _follow(
    cluster: controllers.Cluster,
    kind: type[Any],
    since: reconcile.ResourceVersion,
    apply: Callable[..., None],
) -> None:
    async for event in cluster.api.watch(kind, namespace="default", since=since):
        if event.type is not reconcile.EventType.BOOKMARK:
            apply(event.type, event.object)


async def _one_deployment(nodes: int, replicas: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        began = time.perf_counter()
        await cluster.api.create(_deployment("web", replicas, LABELS))
        await cluster.settle()
        created = time.perf_counter() - began
        web = cluster.get("deployment", "web")
        assert _available(web), web.status
        surge, unavailable = -(-replicas // 4), replicas // 4  # 25% up, 25% down
        bounds = _Bounds(replicas, surge, unavailable)
        since = cluster.api.resource_version
        for pod in cluster.list("pods"):
            bounds.pod(reconcile.EventType.ADDED, pod)
        for rs in cluster.list("replicasets"):
            bounds.replica_set(reconcile.EventType.ADDED, rs)
        bounds.checking = True
        async with asyncio.TaskGroup() as tasks:
            watches = [
                tasks.create_task(_follow(cluster, Pod, since, bounds.pod)),
                tasks.create_task(_follow(cluster, ReplicaSet, since, bounds.replica_set)),
            ]
            began = time.perf_counter()
            simulated = cluster.clock.time()
            await cluster.set_image("deployment", "web", {"web": "nginx:1.28"})
            await cluster.settle()
            rolled = time.perf_counter() - began
            simulated = cluster.clock.time() - simulated
            for watch in watches:
                watch.cancel()
        web = cluster.get("deployment", "web")
        assert _available(web), web.status
        images = {p.spec.containers[0].image for p in cluster.list("pods")}
        assert images == {"nginx:1.28"}, images
        assert not bounds.violations, bounds.violations[:5]
    return {
        "create_s": created,
        "rollout_s": rolled,
        "rollout_simulated_s": simulated,
        "events_checked": bounds.events,
        "max_replica_set_sum": bounds.max_specs,
        "max_active_pods": bounds.max_active,
        "min_available": bounds.min_available,
        "limit_pods": replicas + surge,
        "limit_available": replicas - unavailable,
    }


async def _many(nodes: int, count: int, replicas: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        created: dict[str, float] = {}
        ready: dict[str, float] = {}
        since = cluster.api.resource_version

        def seen(_: reconcile.EventType, d: Deployment) -> None:
            name = d.metadata.name
            if name not in ready and _available(d):
                ready[name] = cluster.clock.time()

        began = time.perf_counter()
        async with asyncio.TaskGroup() as tasks:
            watch = tasks.create_task(_follow(cluster, Deployment, since, seen))
            for i in range(count):
                name = f"app-{i:04d}"
                created[name] = cluster.clock.time()
                labels: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({"app": name})
                await cluster.api.create(_deployment(name, replicas, labels))
            await cluster.settle()
            watch.cancel()
        wall = time.perf_counter() - began
    delays = sorted(ready[n] - created[n] for n in created if n in ready)
    assert len(delays) == count, f"{len(delays)} of {count} became available"
    return {
        "wall_s": wall,
        "p50_simulated_s": statistics.median(delays),
        "p99_simulated_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
    }


def run(scale: float = 1.0, runs: int = 1) -> dict[str, float]:
    """One run by default (each takes tens of seconds at full scale)."""
    reconcile.configure(level="CRITICAL")
    nodes = max(10, int(NODES * scale))
    replicas = max(10, int(REPLICAS * scale))
    ones = sorted(
        (controllers.run(_one_deployment(nodes, replicas)) for _ in range(runs)),
        key=lambda r: r["create_s"],
    )
    one = ones[len(ones) // 2]
    many = controllers.run(
        _many(max(10, int(MANY_NODES * scale)), max(10, int(MANY * scale)), MANY_REPLICAS)
    )
    return {
        "nodes": nodes,
        "replicas": replicas,
        **one,
        "many": max(10, int(MANY * scale)),
        "many_wall_s": many["wall_s"],
        "many_p50_simulated_s": many["p50_simulated_s"],
        "many_p99_simulated_s": many["p99_simulated_s"],
        "floor_create_s": FLOOR_CREATE_S,
        "floor_rollout_s": FLOOR_ROLLOUT_S,
    }


if __name__ == "__main__":
    print(run())
