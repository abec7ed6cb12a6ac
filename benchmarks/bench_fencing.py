"""
What fencing and leader election cost, and how fast a standby takes over.

* Fenced writes: ``creates`` object creations on a :class:`reconcile.MemoryCluster`
  straight and through :meth:`reconcile.LeaderElector.fenced` (one fresh Lease
  read per write); writes per wall second and the ratio.
* Cluster: a :class:`controllers.Cluster` of ``nodes`` nodes (events off), one
  Deployment of ``replicas`` replicas created to Available, with and without
  ``leader_election=True`` (wall seconds, median of ``runs``).
* Takeover: with a standby controller manager, the leader is paused
  (``Cluster.freeze``) and the Deployment scaled up by half; simulated seconds
  until the standby leads, until the scale is Available, and how many writes
  the resumed leader had refused.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import controllers
import reconcile
from controllers.api.apps import Deployment, DeploymentSpec
from controllers.api.core import ConfigMap, Container, PodSpec, PodTemplateSpec

CREATES = 20_000
NODES = 100
REPLICAS = 1_000
KCM = "kube-controller-manager"
LABELS: reconcile.FrozenDict[str, str] = reconcile.FrozenDict({"app": "web"})


def _deployment(replicas: int) -> Deployment:
    return Deployment(
        metadata=reconcile.ObjectMeta(name="web", namespace="default"),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=reconcile.LabelSelector(match_labels=LABELS),
            template=PodTemplateSpec(
                metadata=reconcile.ObjectMeta(labels=LABELS),
                spec=PodSpec(containers=(Container(name="web", image="nginx:1.27"),)),
            ),
        ),
    )


def _available(cluster: controllers.Cluster, replicas: int) -> bool:
    status = cluster.api.get_nowait(Deployment, "web", namespace="default").status
    return status.available_replicas == replicas


async def _forever() -> None:
    await asyncio.Event().wait()


def _write_rate(creates: int, *, fenced: bool) -> float:
    clock = reconcile.VirtualClock()
    return clock.run(_writes(clock, creates, fenced=fenced))


async def _writes(clock: reconcile.VirtualClock, creates: int, *, fenced: bool) -> float:
    api = reconcile.MemoryCluster(clock=clock)
    client: reconcile.Client = api
    task = None
    if fenced:
        elector = reconcile.LeaderElector(
            api, name="bench", namespace="default", identity="a", clock=clock
        )
        client = elector.fenced(api)
        task = asyncio.ensure_future(elector.run(_forever))
        await elector.wait_leading()
    began = time.perf_counter()
    for i in range(creates):
        await client.create(
            ConfigMap(metadata=reconcile.ObjectMeta(name=f"c{i}", namespace="default"))
        )
    took = time.perf_counter() - began
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return creates / took


async def _to_available(nodes: int, replicas: int, *, election: bool) -> float:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False,
                                   leader_election=election) as cluster:  # fmt: skip
        began = time.perf_counter()
        await cluster.api.create(_deployment(replicas))
        await cluster.settle()
        assert _available(cluster, replicas)
        return time.perf_counter() - began


async def _takeover(nodes: int, replicas: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False,
                                   leader_election=True) as cluster:  # fmt: skip
        await cluster.start_standby(KCM)
        await cluster.api.create(_deployment(replicas))
        await cluster.settle()
        began, wall = cluster.clock.time(), time.perf_counter()
        cluster.freeze(KCM)
        await cluster.scale("deployment", "web", replicas + replicas // 2)
        led = available = None
        while available is None or led is None:
            await cluster.advance(0.5)
            now = cluster.clock.time() - began
            if led is None and cluster.leader(KCM) != KCM:
                led = now
            if available is None and _available(cluster, replicas + replicas // 2):
                available = now
            assert now < 600, "the standby did not take over"
        cluster.thaw(KCM)
        await cluster.settle()
        return {
            "takeover_simulated_s": led,
            "available_simulated_s": available,
            "takeover_wall_s": time.perf_counter() - wall,
            "fenced_writes": float(cluster.elector(KCM).statistics().fenced_writes),
        }


def run(scale: float = 1.0, runs: int = 3) -> dict[str, float]:
    """Figures for the three measurements (see the module docstring)."""
    creates = max(1_000, int(CREATES * scale))
    nodes = max(10, int(NODES * scale))
    replicas = max(50, int(REPLICAS * scale))
    raw = statistics.median(_write_rate(creates, fenced=False) for _ in range(runs))
    fenced = statistics.median(_write_rate(creates, fenced=True) for _ in range(runs))
    plain = statistics.median(
        controllers.run(_to_available(nodes, replicas, election=False)) for _ in range(runs)
    )
    elected = statistics.median(
        controllers.run(_to_available(nodes, replicas, election=True)) for _ in range(runs)
    )
    return {
        "creates": float(creates),
        "raw_writes_per_s": raw,
        "fenced_writes_per_s": fenced,
        "fenced_ratio": fenced / raw,
        "nodes": float(nodes),
        "replicas": float(replicas),
        "plain_wall_s": plain,
        "elected_wall_s": elected,
        "runs": float(runs),
        **controllers.run(_takeover(nodes, replicas)),
    }
