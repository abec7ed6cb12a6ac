"""
A Job of 10,000 completions on an embedded cluster (floor: Complete in <= 20 s wall).

A :class:`controllers.Cluster` of 100 nodes (events off) runs one Job with
``completions: 10000`` and ``parallelism: 100`` whose pods exit 0 one second
after their container starts. Reported: wall time from the create until the
Job is ``Complete`` (and the cluster settled), the simulated time it took,
the Job controller's syncs, and the most pods seen active at once (a watch
on Pods checks it never exceeds the parallelism).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import controllers
import reconcile
from controllers.api.batch import Job, JobSpec
from controllers.api.core import Container, Pod, PodSpec, PodTemplateSpec
from controllers.job import COMPLETE, find_job_condition
from controllers.kubelet.script import SCRIPT_ANNOTATION_PREFIX

NODES = 100
COMPLETIONS = 10_000
PARALLELISM = 100
FLOOR_S = 20.0


def _job(completions: int, parallelism: int) -> Job:
    annotations: reconcile.FrozenDict[str, str] = reconcile.FrozenDict(
        {f"{SCRIPT_ANNOTATION_PREFIX}work": "exit=0@1s"}
    )
    return Job(
        metadata=reconcile.ObjectMeta(name="batch", namespace="default"),
        spec=JobSpec(
            completions=completions,
            parallelism=parallelism,
            template=PodTemplateSpec(
                metadata=reconcile.ObjectMeta(annotations=annotations),
                spec=PodSpec(
                    restart_policy="Never",
                    containers=(Container(name="work", image="busybox"),),
                ),
            ),
        ),
    )


class _Active:
    """Active pods (unfinished, not being deleted), followed from watch events."""

    def __init__(self) -> None:
        self.active: set[str] = set()
        self.most = 0

    def pod(self, event: reconcile.WatchEvent[Any]) -> None:
        pod = event.object
        if not isinstance(pod, Pod):
            return
        uid = pod.metadata.uid
        live = (
            event.type is not reconcile.EventType.DELETED
            and pod.metadata.deletion_timestamp is None
            and pod.status.phase not in ("Succeeded", "Failed")
        )
        if live:
            self.active.add(uid)
            self.most = max(self.most, len(self.active))
        else:
            self.active.discard(uid)


async def _follow(
    cluster: controllers.Cluster, since: reconcile.ResourceVersion, active: _Active
) -> None:
    async for event in cluster.api.watch(Pod, namespace="default", since=since):
        if event.type is not reconcile.EventType.BOOKMARK:
            active.pod(event)


async def _complete(nodes: int, completions: int, parallelism: int) -> dict[str, float]:
    async with controllers.Cluster(nodes=nodes, seed=1, events=False) as cluster:
        active = _Active()
        since = cluster.api.resource_version
        async with asyncio.TaskGroup() as tasks:
            watch = tasks.create_task(_follow(cluster, since, active))
            began = time.perf_counter()
            simulated = cluster.clock.time()
            await cluster.api.create(_job(completions, parallelism))
            await cluster.settle()
            wall = time.perf_counter() - began
            simulated = cluster.clock.time() - simulated
            watch.cancel()
        job = cluster.api.get_nowait(Job, "batch", namespace="default")
        done = find_job_condition(job.status.conditions, COMPLETE)
        assert done is not None, job.status
        assert job.status.succeeded == completions, job.status
        assert active.most <= parallelism, active.most
        syncs = next(
            c.reconciles
            for m in cluster.managers().values()
            for c in m.statistics().controllers
            if c.name == "job-controller"
        )
    return {
        "wall_s": wall,
        "simulated_s": simulated,
        "job_syncs": syncs,
        "max_active_pods": active.most,
    }


def run(scale: float = 1.0) -> dict[str, float]:
    """One run: it takes seconds at full scale."""
    reconcile.configure(level="CRITICAL")
    nodes = max(10, int(NODES * scale))
    completions = max(100, int(COMPLETIONS * scale))
    parallelism = max(10, int(PARALLELISM * scale))
    result = controllers.run(_complete(nodes, completions, parallelism))
    return {
        "nodes": nodes,
        "completions": completions,
        "parallelism": parallelism,
        **result,
        "floor_s": FLOOR_S,
    }


if __name__ == "__main__":
    print(run())
