"""
The CronJob controller alone on a MemoryCluster (no Job controller), in virtual time.

Jobs never run here: a test finishes one by writing its ``Complete`` or
``Failed`` condition through the API, as the Job controller would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, cast

import attrs
import pytest

import reconcile
from controllers import cronjob
from controllers.api import install_admission
from controllers.api.batch import ConcurrencyPolicy, CronJob, Job, JobCondition
from controllers.cronjob import (
    MANUAL_INSTANTIATE_ANNOTATION,
    create_job_from_cron_job,
    record_created,
)
from reconcile import (
    ConditionStatus,
    InvalidError,
    ObjectKey,
    ObjectMeta,
    Propagation,
    owner_reference_to,
)
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.cronjob.builders import template

KEY = ObjectKey(namespace="default", name="tick")
Body = Callable[[MemoryCluster, VirtualClock], Awaitable[None]]


def harness(body: Body, *, start: dt.datetime | None = None) -> None:
    """Run ``body`` while a manager runs only the CronJob controller (with events)."""

    async def scenario(clock: VirtualClock) -> None:
        api = MemoryCluster(clock=clock, seed=3)
        install_admission(api.admission)
        manager = reconcile.Manager(api, clock=clock)
        recorder = reconcile.EventRecorder(api, component="cronjob-controller", clock=clock)
        cronjob.setup(manager, recorder=recorder)
        async with manager:
            await body(api, clock)

    run(scenario, clock=VirtualClock(start=start) if start else None)


def new_cron_job(schedule: str = "*/1 * * * *", **spec: Any) -> CronJob:
    """CronJob ``tick``; ``spec`` sets fields of its spec (undefaulted, as users write it)."""
    cj = CronJob(metadata=ObjectMeta(name="tick", namespace="default"))
    return attrs.evolve(
        cj, spec=attrs.evolve(cj.spec, schedule=schedule, job_template=template(), **spec)
    )


def jobs(api: MemoryCluster) -> list[Job]:
    return sorted(api.list_nowait(Job, namespace="default").items, key=lambda j: j.metadata.name)


def cron(api: MemoryCluster) -> CronJob:
    return api.get_nowait(CronJob, KEY)


def events(api: MemoryCluster, reason: str) -> list[str]:
    found = [e for e in api.list_nowait(reconcile.Event).items if e.reason == reason]
    return [e.message for e in sorted(found, key=lambda e: e.metadata.name) for _ in range(e.count)]


async def finish(api: MemoryCluster, clock: VirtualClock, job: Job, condition: str) -> None:
    """Write ``condition`` on ``job`` as the Job controller would (``Complete``/``Failed``)."""
    now = clock.now()
    current = api.get_nowait(Job, job.metadata.key)
    status = attrs.evolve(
        current.status,
        start_time=current.status.start_time or current.metadata.creation_timestamp,
        conditions=(
            JobCondition(type=condition, status=ConditionStatus.TRUE, last_transition_time=now),
        ),
        completion_time=now if condition == "Complete" else None,
    )
    await api.update_status(attrs.evolve(current, status=status))


def test_runs_one_job_per_minute_for_an_hour() -> None:
    """``*/1 * * * *``: an hour of virtual time makes 60 Jobs, one per minute, all active."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job())
        await clock.advance(3600.5)  # each run is synced 0.1 s after its time
        created = jobs(api)
        assert 60 == len(created)
        stamps = [j.metadata.annotations[cronjob.SCHEDULED_TIMESTAMP_ANNOTATION] for j in created]
        assert "2025-01-01T00:01:00Z" == stamps[0]
        assert "2025-01-01T01:00:00Z" == stamps[-1]
        status = cron(api).status
        assert [j.metadata.uid for j in created] == [ref.uid for ref in status.active]
        assert dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC) == status.last_schedule_time
        assert [f"Created job {j.metadata.name}" for j in created] == events(
            api, "SuccessfulCreate"
        )

    harness(body)


def test_forbid_skips_runs_while_one_is_active() -> None:
    """Forbid, 20 s deadline: a Job running 00:01 to 00:03:31 blocks the 00:02 and 00:03 runs."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(
            new_cron_job(concurrency_policy=ConcurrencyPolicy.FORBID, starting_deadline_seconds=20)
        )
        await clock.advance(61)
        (first,) = jobs(api)
        await clock.advance(150)  # 00:03:31
        assert [first] == jobs(api)
        await finish(api, clock, first, "Complete")
        await clock.wait_idle()
        assert 1 == len(jobs(api)), "the 00:03 run is past its deadline"
        await clock.advance(30)  # 00:04:01
        names = [j.metadata.name for j in jobs(api)]
        assert [
            first.metadata.name,
            cronjob.job_name(cron(api), clock.now().replace(second=0, microsecond=0)),
        ] == names
        assert 2 == len(events(api, "JobAlreadyActive"))

    harness(body)


def test_forbid_without_deadline_runs_the_skipped_time_late() -> None:
    """Forbid, no deadline: when the blocking Job finishes, the latest skipped time runs at once."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job(concurrency_policy=ConcurrencyPolicy.FORBID))
        await clock.advance(61)
        (first,) = jobs(api)
        await clock.advance(90)  # 00:02:31
        await finish(api, clock, first, "Complete")
        await clock.wait_idle()
        late = jobs(api)[-1]
        assert (
            "2025-01-01T00:02:00Z"
            == late.metadata.annotations[cronjob.SCHEDULED_TIMESTAMP_ANNOTATION]
        )
        assert [f"Saw completed job: {first.metadata.name}, condition: Complete"] == events(
            api, "SawCompletedJob"
        )
        assert clock.now() == cron(api).status.last_successful_time

    harness(body)


def test_replace_deletes_the_running_job() -> None:
    """Replace: each minute the running Job is deleted and the new one created."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job(concurrency_policy=ConcurrencyPolicy.REPLACE))
        await clock.advance(61)
        (first,) = jobs(api)
        await clock.advance(60)
        (second,) = jobs(api)
        assert first.metadata.name != second.metadata.name
        assert [f"Deleted job {first.metadata.name}"] == events(api, "SuccessfulDelete")
        assert [second.metadata.uid] == [ref.uid for ref in cron(api).status.active]

    harness(body)


def test_suspended_cron_job_runs_nothing_until_resumed() -> None:
    """Suspended for ten minutes: no Job; resumed, only the latest missed time runs."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job(suspend=True))
        await clock.advance(600.5)
        assert [] == jobs(api)
        current = cron(api)
        await api.update(attrs.evolve(current, spec=attrs.evolve(current.spec, suspend=False)))
        await clock.wait_idle()
        (job,) = jobs(api)
        assert (
            "2025-01-01T00:10:00Z"
            == job.metadata.annotations[cronjob.SCHEDULED_TIMESTAMP_ANNOTATION]
        )

    harness(body)


def test_history_limits_keep_the_newest_finished_jobs() -> None:
    """Limits 2 successful and 1 failed: older finished Jobs are deleted, oldest first."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job(successful_jobs_history_limit=2, failed_jobs_history_limit=1))
        outcomes = ["Complete", "Failed", "Complete", "Complete", "Failed", "Complete"]
        names = []
        await clock.advance(0.5)
        for outcome in outcomes:
            await clock.advance(60)
            job = jobs(api)[-1]
            names.append(job.metadata.name)
            await clock.advance(10)
            await finish(api, clock, job, outcome)
            await clock.wait_idle()
        left = {j.metadata.name: [c.type for c in j.status.conditions] for j in jobs(api)}
        newest = jobs(api)[-1].metadata.name  # the 00:07 run, still running
        expected = {names[3]: ["Complete"], names[4]: ["Failed"], names[5]: ["Complete"]}
        assert {**expected, newest: []} == left
        deleted = [f"Deleted job {names[i]}" for i in (0, 1, 2)]
        assert deleted == events(api, "SuccessfulDelete")

    harness(body)


def test_existing_job_of_the_run_is_not_created_again() -> None:
    """A Job of the run already there (ours, forgotten by the status) joins ``active``."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        cj = await api.create(new_cron_job("0 * * * *"))
        run_time = dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC)
        ours = Job(
            metadata=ObjectMeta(
                name=cronjob.job_name(cj, run_time),
                namespace="default",
                owner_references=(owner_reference_to(cj),),
            ),
            spec=cj.spec.job_template.spec,
        )
        ours = await api.create(ours)
        await clock.advance(3600.5)
        assert [ours.metadata.uid] == [j.metadata.uid for j in jobs(api)]
        assert [ours.metadata.uid] == [ref.uid for ref in cron(api).status.active]
        assert [] == events(api, "SuccessfulCreate")

    harness(body)


def test_job_of_the_run_owned_by_someone_else_is_left_alone() -> None:
    """A Job of the run's name that the CronJob does not control is not adopted."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        cj = await api.create(new_cron_job("0 * * * *"))
        name = cronjob.job_name(cj, dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC))
        theirs = await api.create(
            Job(
                metadata=ObjectMeta(name=name, namespace="default"),
                spec=cj.spec.job_template.spec,
            )
        )
        await clock.advance(3600.5)
        assert [theirs] == jobs(api)
        status = cron(api).status
        assert ((), None) == (status.active, status.last_schedule_time)

    harness(body)


def test_active_job_deleted_by_a_user_is_reported_missing() -> None:
    """Deleting an active Job drops it from ``active`` with ``MissingJob``."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job("0 * * * *"))
        await clock.advance(3600.5)
        (job,) = jobs(api)
        await api.delete(Job, job.metadata.key, propagation=Propagation.BACKGROUND)
        await clock.wait_idle()
        assert () == cron(api).status.active
        assert [f"Active job went missing: {job.metadata.name}"] == events(api, "MissingJob")

    harness(body)


def test_manual_run_is_reported_and_kept() -> None:
    """A Job created by hand from the CronJob is ``UnexpectedJob`` and not counted as a run."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job("0 * * * *"))
        manual = await create_job_from_cron_job(api, "tick", "tick-manual")
        await clock.advance(1)
        assert "manual" == manual.metadata.annotations[MANUAL_INSTANTIATE_ANNOTATION]
        assert "batch" == manual.metadata.annotations["team"]
        assert ["Saw a job that the controller did not create or forgot: tick-manual"] == events(
            api, "UnexpectedJob"
        )
        assert () == cron(api).status.active

    harness(body)


def test_time_zone_is_honoured_across_a_dst_change() -> None:
    """``0 9 * * *`` in Berlin: 08:00 UTC in winter, 07:00 UTC from 29 March 2026."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job("0 9 * * *", time_zone="Europe/Berlin"))
        await clock.advance(4 * 86400)
        stamps = [j.metadata.annotations[cronjob.SCHEDULED_TIMESTAMP_ANNOTATION] for j in jobs(api)]
        assert [
            "2026-03-27T09:00:00+01:00",
            "2026-03-28T09:00:00+01:00",
            "2026-03-29T09:00:00+02:00",
            "2026-03-30T09:00:00+02:00",
        ] == stamps
        created = [j.metadata.creation_timestamp for j in jobs(api)]
        assert [8, 8, 7, 7] == [t.hour for t in created if t is not None]

    harness(body, start=dt.datetime(2026, 3, 27, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"schedule": "0 0 * *"}, "spec.schedule"),
        ({"schedule": "CRON_TZ=UTC 0 * * * *"}, "spec.schedule"),
        ({"schedule": "61 * * * *"}, "spec.schedule"),
        ({"time_zone": "Mars/Base"}, "spec.timeZone"),
    ],
)
def test_api_refuses_bad_schedules_naming_the_field(spec: dict[str, str], field: str) -> None:
    """Creating a CronJob with a bad schedule or zone fails with 422 Invalid naming the field."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        schedule = spec.get("schedule", "0 * * * *")
        cj = new_cron_job(schedule, time_zone=spec.get("time_zone"))
        with pytest.raises(InvalidError) as caught:
            await api.create(cj)
        assert [field] == [cause.field for cause in caught.value.causes]

    harness(body)


class StaleCaches:
    """A cache that still holds what it was given (what a lagging informer serves)."""

    def __init__(self, *objects: CronJob | Job) -> None:
        self._objects = objects

    def get(self, key: ObjectKey) -> CronJob | None:
        return next((o for o in self._objects if isinstance(o, CronJob)), None)

    def by_index(self, name: str, value: str) -> list[Job]:
        return [o for o in self._objects if isinstance(o, Job)]


def test_lagging_cache_does_not_make_a_running_job_unexpected() -> None:
    """A cached CronJob older than its last status write is re-read before calling a Job stray."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        stale = await api.create(new_cron_job("0 * * * *"))
        job = await api.create(
            Job(
                metadata=ObjectMeta(
                    name="tick-1",
                    namespace="default",
                    owner_references=(owner_reference_to(stale),),
                ),
                spec=stale.spec.job_template.spec,
            )
        )
        live = record_created(stale.status, job, clock.now())
        await api.update_status(attrs.evolve(stale, status=live))
        caches = StaleCaches(stale, job)
        reconciler = cronjob.CronJobReconciler(
            api,
            cron_jobs=cast("reconcile.Store[CronJob]", caches),
            jobs=cast("reconcile.Store[Job]", caches),
            clock=clock,
            recorder=reconcile.EventRecorder(api, component="test", clock=clock),
        )
        await reconciler.reconcile(KEY)
        assert [] == events(api, "UnexpectedJob")
        assert [job.metadata.uid] == [ref.uid for ref in cron(api).status.active]

    async def scenario(clock: VirtualClock) -> None:
        api = MemoryCluster(clock=clock, seed=3)
        install_admission(api.admission)
        await body(api, clock)

    run(scenario)


def test_schedule_change_waits_for_the_new_schedules_next_time() -> None:
    """Hourly changed to every 15 minutes at 00:30: no run at once, the first at 00:45."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(new_cron_job("0 * * * *"))
        await clock.advance(1800)
        current = cron(api)
        await api.update(
            attrs.evolve(current, spec=attrs.evolve(current.spec, schedule="*/15 * * * *"))
        )
        await clock.advance(1)
        assert [] == jobs(api)
        await clock.advance(900)
        stamps = [j.metadata.annotations[cronjob.SCHEDULED_TIMESTAMP_ANNOTATION] for j in jobs(api)]
        assert ["2025-01-01T00:45:00Z"] == stamps

    harness(body)
