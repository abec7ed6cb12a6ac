"""
CronJob behaviours end to end through :class:`controllers.Cluster`, in virtual time.

The Job controller, scheduler and simulated kubelets run too: a run's pod
executes its script (``exit=0@150s``: succeed 150 s after starting) and the
Job controller marks the Job ``Complete``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import reconcile
from controllers import Cluster, run
from controllers.api.batch import CronJob, Job
from controllers.cronjob import SCHEDULED_TIMESTAMP_ANNOTATION
from controllers.cronjob.jobs import finished_condition

T = TypeVar("T")


def scenario(body: Callable[[Cluster], Awaitable[T]], *, start: dt.datetime | None = None) -> T:
    """Run ``body`` with a fresh one-node cluster (virtual time from ``start``)."""

    async def main() -> T:
        async with Cluster(nodes=1, seed=11) as cluster:
            return await body(cluster)

    return run(main, clock=reconcile.VirtualClock(start=start) if start else None)


def manifest(
    schedule: str, *, script: str = "exit=0@10s", spec: str = "", name: str = "tick"
) -> str:
    """CronJob ``name`` whose runs execute ``script``; ``spec`` adds lines to its spec."""
    return (
        f"apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: {name}}}\n"
        f'spec:\n  schedule: "{schedule}"\n{spec}'
        "  jobTemplate:\n    spec:\n      backoffLimit: 0\n      template:\n"
        f'        metadata:\n          annotations: {{script.sim.reconcile.dev/c: "{script}"}}\n'
        "        spec:\n          restartPolicy: Never\n"
        "          containers: [{name: c, image: busybox}]\n"
    )


def cron_job(cluster: Cluster, name: str = "tick") -> CronJob:
    found = cluster.get("cronjobs", name)
    assert isinstance(found, CronJob)
    return found


def jobs(cluster: Cluster) -> list[Job]:
    found = [j for j in cluster.list("jobs") if isinstance(j, Job)]
    return sorted(found, key=lambda j: j.metadata.name)


def count(cluster: Cluster, obj: CronJob, reason: str) -> int:
    """How many times ``reason`` was recorded about ``obj`` (events are aggregated)."""
    return sum(e.count for e in cluster.events(obj, reason=reason))


class Watcher:
    """Follows the Jobs of the cluster: the most unfinished at once, and every Job seen."""

    def __init__(self) -> None:
        self.unfinished: dict[str, bool] = {}
        self.most = 0
        self.seen: dict[str, str] = {}  # every Job's name and scheduled timestamp

    def see(self, event: reconcile.WatchEvent[Job]) -> None:
        job = event.object
        if job is None:
            return
        self.seen[job.metadata.name] = job.metadata.annotations.get(
            SCHEDULED_TIMESTAMP_ANNOTATION, ""
        )
        if event.type is reconcile.EventType.DELETED or finished_condition(job) is not None:
            self.unfinished.pop(job.metadata.name, None)
        else:
            self.unfinished[job.metadata.name] = True
        self.most = max(self.most, len(self.unfinished))


async def follow(cluster: Cluster, watcher: Watcher) -> None:
    async for event in cluster.api.watch(Job, namespace="default"):
        watcher.see(event)


@contextlib.asynccontextmanager
async def watching(cluster: Cluster, watcher: Watcher) -> AsyncIterator[None]:
    """Feed ``watcher`` every Job event while the block runs."""
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(follow(cluster, watcher))
        try:
            yield
        finally:
            task.cancel()


def test_every_minute_runs_sixty_jobs_in_an_hour() -> None:
    """``*/1 * * * *`` for an hour: 60 runs, each completes, the newest 3 are kept."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest("*/1 * * * *"))
        await cluster.advance(3630)  # the 01:00 run has finished, the 01:01 one not begun
        cj = cron_job(cluster)
        assert 60 == count(cluster, cj, "SuccessfulCreate")
        assert 60 == count(cluster, cj, "SawCompletedJob")
        assert 57 == count(cluster, cj, "SuccessfulDelete")
        kept = jobs(cluster)
        assert ["Complete"] * 3 == [finished_condition(j) for j in kept]
        assert () == cj.status.active
        assert cj.status.last_successful_time is not None
        assert dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC) == cj.status.last_schedule_time

    scenario(body)


def test_forbid_skips_runs_while_one_is_active() -> None:
    """Forbid, 30 s deadline, runs of 150 s: every third minute runs, never two at once."""

    async def body(cluster: Cluster) -> None:
        watcher = Watcher()
        async with watching(cluster, watcher):
            await cluster.apply(
                manifest(
                    "*/1 * * * *",
                    script="exit=0@150s",
                    spec="  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 30\n",
                )
            )
            await cluster.advance(1800)
        cj = cron_job(cluster)
        assert 1 == watcher.most
        minutes = [
            dt.datetime.fromisoformat(j.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION]).minute
            for j in jobs(cluster)
        ]
        assert [19, 22, 25, 28] == minutes[-4:]  # 3 kept by the history limit, and the running one
        assert 10 == count(cluster, cj, "SuccessfulCreate")
        assert 19 == count(cluster, cj, "JobAlreadyActive")  # minutes 2, 3, 5, 6, ..., 29

    scenario(body)


def test_replace_replaces_the_running_job() -> None:
    """Replace, runs of 150 s: each minute the running Job is deleted; none ever completes."""

    async def body(cluster: Cluster) -> None:
        watcher = Watcher()
        async with watching(cluster, watcher):
            await cluster.apply(
                manifest("*/1 * * * *", script="exit=0@150s", spec="  concurrencyPolicy: Replace\n")
            )
            await cluster.advance(630)
        cj = cron_job(cluster)
        assert 1 == watcher.most
        assert (10, 9) == (
            count(cluster, cj, "SuccessfulCreate"),
            count(cluster, cj, "SuccessfulDelete"),
        )
        assert cj.status.last_successful_time is None
        (running,) = jobs(cluster)
        assert [running.metadata.uid] == [ref.uid for ref in cj.status.active]

    scenario(body)


def test_suspended_cron_job_starts_nothing_and_resumes_with_the_latest_run() -> None:
    """Suspended for 2 hours: no Job; resumed, ``TooManyMissedTimes`` and one run for now."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest("*/1 * * * *", spec="  suspend: true\n"))
        await cluster.advance(7200)
        assert [] == jobs(cluster)
        await cluster.apply(manifest("*/1 * * * *", spec="  suspend: false\n"))
        await cluster.advance(30)
        cj = cron_job(cluster)
        assert 1 == count(cluster, cj, "TooManyMissedTimes")
        (job,) = jobs(cluster)
        assert "2025-01-01T02:00:00Z" == job.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION]

    scenario(body)


def test_history_limits_keep_the_newest_finished_jobs() -> None:
    """Limits of 2 successful and 1 failed Jobs hold for a CronJob of each kind."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(
            manifest("*/1 * * * *", name="good", spec="  successfulJobsHistoryLimit: 2\n")
        )
        await cluster.apply(
            manifest(
                "*/1 * * * *",
                name="bad",
                script="exit=1@5s",
                spec="  failedJobsHistoryLimit: 1\n",
            )
        )
        await cluster.advance(630)
        outcomes = {(j.metadata.name.split("-")[0], finished_condition(j)) for j in jobs(cluster)}
        assert {("good", "Complete"), ("bad", "Failed")} == outcomes
        assert 2 == sum(1 for j in jobs(cluster) if j.metadata.name.startswith("good-"))
        assert 1 == sum(1 for j in jobs(cluster) if j.metadata.name.startswith("bad-"))
        assert 9 == count(cluster, cron_job(cluster, "bad"), "SuccessfulDelete")

    scenario(body)


def test_time_zone_is_honoured_across_a_dst_change() -> None:
    """``0 1-4 * * *`` in Berlin on 29 March 2026: 02:00 does not exist, so three runs, not four."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest("0 1-4 * * *", spec="  timeZone: Europe/Berlin\n"))
        await cluster.advance(4 * 3600)
        stamps = [j.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION] for j in jobs(cluster)]
        assert [
            "2026-03-29T01:00:00+01:00",  # 00:00 UTC
            "2026-03-29T03:00:00+02:00",  # 01:00 UTC: clocks jump from 02:00 to 03:00
            "2026-03-29T04:00:00+02:00",  # 02:00 UTC
        ] == stamps

    scenario(body, start=dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC))


def test_too_small_starting_deadline_misses_every_run() -> None:
    """``startingDeadlineSeconds: 0`` leaves no time to start a run: nothing ever runs."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest("*/1 * * * *", spec="  startingDeadlineSeconds: 0\n"))
        await cluster.advance(600)
        assert [] == jobs(cluster)
        assert cron_job(cluster).status.last_schedule_time is None

    scenario(body)


def test_settle_does_not_wait_for_the_next_scheduled_run() -> None:
    """A CronJob's next run is periodic work: ``settle`` never advances time to reach it."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest("*/1 * * * *"))
        # Even with a window wider than the schedule's period, nothing is left to do.
        took = await cluster.settle(within=120, limit=600)
        assert took < 60
        assert [] == jobs(cluster)
        await cluster.advance(61)  # the first run is due: it is created and runs
        await cluster.settle(within=120, limit=600)
        assert 1 == len(jobs(cluster))

    scenario(body)
