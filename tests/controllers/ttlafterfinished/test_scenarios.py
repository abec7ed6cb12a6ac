"""The TTL-after-finished controller on :class:`controllers.Cluster`, in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from controllers import Cluster, run
from controllers.api.batch import Job
from controllers.job import COMPLETE, FAILED, find_job_condition
from tests.controllers.job.builders import job

T = TypeVar("T")


def scenario(body: Callable[[Cluster], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Cluster(nodes=2, seed=5) as cluster:
            return await body(cluster)

    return run(main)


def jobs(cluster: Cluster) -> list[str]:
    return [j.metadata.name for j in cluster.list("jobs")]


async def finish_time(cluster: Cluster, name: str, type_: str = COMPLETE) -> float:
    """Run until the Job finishes; seconds from now back to its finish (<= 0)."""
    while True:
        j = cluster.get("job", name)
        assert isinstance(j, Job)
        done = find_job_condition(j.status.conditions, type_)
        if done is not None and done.last_transition_time is not None:
            return (done.last_transition_time - cluster.clock.now()).total_seconds()
        await cluster.advance(0.1)


def test_ttl_zero_deletes_the_job_as_soon_as_it_finishes() -> None:
    """ttlSecondsAfterFinished 0: gone right after Complete, pods with it."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(ttl=0))
        await finish_time(cluster, "work")
        await cluster.settle()
        assert [] == jobs(cluster)
        assert [] == cluster.list("pods")

    scenario(body)


def test_failed_jobs_expire_too() -> None:
    """A Job that failed is deleted ttl seconds after its Failed condition."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(ttl=50, script="exit=1@1s", backoff_limit=0))
        done = await finish_time(cluster, "work", FAILED)
        await cluster.advance(done + 49.9)
        assert ["work"] == jobs(cluster)
        await cluster.advance(0.2)
        assert [] == jobs(cluster)

    scenario(body)


def test_a_longer_ttl_set_before_expiry_is_honoured() -> None:
    """Raising the TTL of a finished Job postpones its deletion (the controller re-reads it)."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(ttl=20))
        done = await finish_time(cluster, "work")
        await cluster.advance(done + 10)
        j = cluster.get("job", "work")
        longer = attrs.evolve(j, spec=attrs.evolve(j.spec, ttl_seconds_after_finished=100))
        await cluster.api.update(longer)
        await cluster.advance(20)
        assert ["work"] == jobs(cluster)
        await cluster.advance(71)
        assert [] == jobs(cluster)

    scenario(body)


def test_jobs_without_ttl_stay() -> None:
    """No ttlSecondsAfterFinished: a finished Job is kept."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job())
        await finish_time(cluster, "work")
        await cluster.advance(3600)
        assert ["work"] == jobs(cluster)

    scenario(body)
