"""
CronJobs in virtual time: a day of every-minute runs, and the planner alone.

``cronjobs-day``: 25 CronJobs scheduled ``*/1 * * * *`` with
``concurrencyPolicy: Replace`` on a MemoryCluster running only the CronJob
controller (events off), for 24 simulated hours: every minute each CronJob
deletes its running Job and creates the next (36,000 runs). Reported: wall
time, runs created (counted on a Job watch; every one is checked to be for a
distinct schedule time), CronJob syncs, and simulated seconds per wall second.

``cronjob-plan``: :func:`controllers.cronjob.plan` calls per second for a
CronJob with 100 finished Jobs and a due run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import attrs

import controllers
import reconcile
from controllers import cronjob
from controllers.api import install_admission
from controllers.api.batch import (
    ConcurrencyPolicy,
    CronJob,
    CronJobSpec,
    Job,
    JobCondition,
    JobSpec,
    JobTemplateSpec,
)
from controllers.api.core import Container, PodSpec, PodTemplateSpec
from controllers.api.defaults import default_cron_job

CRON_JOBS = 25
HOURS = 24


def _cron_job(name: str) -> CronJob:
    return CronJob(
        metadata=reconcile.ObjectMeta(name=name, namespace="default"),
        spec=CronJobSpec(
            schedule="*/1 * * * *",
            concurrency_policy=ConcurrencyPolicy.REPLACE,
            job_template=JobTemplateSpec(
                spec=JobSpec(
                    template=PodTemplateSpec(
                        spec=PodSpec(
                            restart_policy="Never",
                            containers=(Container(name="c", image="busybox"),),
                        )
                    )
                )
            ),
        ),
    )


async def _day(clock: reconcile.VirtualClock, count: int, hours: int) -> dict[str, float]:
    api = reconcile.MemoryCluster(clock=clock, seed=1, history=100_000)
    install_admission(api.admission)
    manager = reconcile.Manager(api, clock=clock)
    controller = cronjob.setup(manager)
    names: set[str] = set()
    created = 0

    async def follow() -> None:
        nonlocal created
        async for event in api.watch(Job, namespace="default"):
            if event.type is reconcile.EventType.ADDED and event.object is not None:
                created += 1
                names.add(event.object.metadata.name)

    async with manager, asyncio.TaskGroup() as tasks:
        watch = tasks.create_task(follow())
        for i in range(count):
            await api.create(_cron_job(f"cron-{i}"))
        began = time.perf_counter()
        await clock.advance(hours * 3600 + 1)
        wall = time.perf_counter() - began
        watch.cancel()
    assert created == len(names) == count * hours * 60, (created, len(names))
    return {
        "wall_s": wall,
        "runs": created,
        "syncs": controller.statistics().reconciles,
        "speedup": hours * 3600 / wall,
    }


def _planner(jobs: int, calls: int) -> float:
    now = dt.datetime(2026, 1, 1, 12, 0, 0, 100000, tzinfo=dt.UTC)
    cj = default_cron_job(_cron_job("cron"))
    cj = attrs.evolve(
        cj,
        metadata=attrs.evolve(cj.metadata, uid=reconcile.Uid("u"), creation_timestamp=now),
    )
    cj = attrs.evolve(
        cj,
        spec=attrs.evolve(cj.spec, successful_jobs_history_limit=jobs),
        status=attrs.evolve(cj.status, last_schedule_time=now - dt.timedelta(minutes=1)),
    )
    done = JobCondition(type="Complete", status=reconcile.ConditionStatus.TRUE)
    history = []
    for i in range(jobs):
        minute = now - dt.timedelta(minutes=i + 2)
        job = cronjob.job_from_template(cj, minute, dt.UTC)
        job = attrs.evolve(
            job,
            metadata=attrs.evolve(job.metadata, uid=reconcile.Uid(f"job-{i}")),
            status=attrs.evolve(job.status, conditions=(done,), start_time=minute),
        )
        history.append(job)
    began = time.perf_counter()
    for _ in range(calls):
        decided = cronjob.plan(cj, history, now=now + dt.timedelta(minutes=1))
    elapsed = time.perf_counter() - began
    assert decided.create is not None
    return calls / elapsed


def run(scale: float = 1.0) -> dict[str, float]:
    """Both measures; the day takes about 20 s at full scale."""
    reconcile.configure(level="CRITICAL")
    count = max(10, int(CRON_JOBS * scale))
    hours = max(1, int(HOURS * scale))
    clock = reconcile.VirtualClock()
    day = controllers.run(_day(clock, count, hours), clock=clock)
    return {
        "cron_jobs": count,
        "hours": hours,
        **day,
        "plan_jobs": 100,
        "plans_per_s": _planner(100, max(200, int(2000 * scale))),
    }


if __name__ == "__main__":
    print(run())
