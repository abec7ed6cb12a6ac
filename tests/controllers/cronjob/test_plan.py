"""The CronJob planner, one sync at a time (pure: no cluster, no clock)."""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.batch import ConcurrencyPolicy, CronJob, CronJobStatus, Job
from controllers.cronjob import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    Plan,
    job_name,
    plan,
    record_created,
)
from controllers.cronjob.jobs import job_reference
from reconcile import controller_of
from tests.controllers.cronjob.builders import CRON_UID, T0, created, cron_job, finished

MINUTE = dt.timedelta(minutes=1)


def reasons(p: Plan) -> list[str]:
    return [e.reason for e in p.events]


def run(cj: CronJob, at: dt.datetime) -> tuple[CronJob, Job]:
    """Sync ``cj`` at ``at``, which must create a Job; the CronJob and Job afterwards."""
    p = plan(cj, [], now=at)
    assert p.create is not None
    assert p.scheduled_time is not None
    job = created(p.create, at=at)
    return attrs.evolve(cj, status=record_created(p.status, job, p.scheduled_time)), job


def test_creates_the_job_of_the_due_time() -> None:
    """At 00:01:00.1 the 00:01 run is created, named, annotated and owned; next sync at 00:02."""
    now = T0 + MINUTE + dt.timedelta(seconds=0.1)
    p = plan(cron_job(), [], now=now)
    assert p.create is not None
    assert T0 + MINUTE == p.scheduled_time
    assert f"tick-{int((T0 + MINUTE).timestamp()) // 60}" == p.create.metadata.name
    assert "2026-01-01T00:01:00Z" == p.create.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION]
    assert "batch" == p.create.metadata.annotations["team"]
    assert {"app": "tick"} == dict(p.create.metadata.labels)
    owner = controller_of(p.create.metadata)
    assert owner is not None
    assert (CRON_UID, "CronJob") == (owner.uid, owner.kind)
    assert cron_job().spec.job_template.spec == p.create.spec
    assert p.requeue_after is not None
    assert abs(60.0 - p.requeue_after) < 1e-6


def test_scheduled_timestamp_is_in_the_time_zone() -> None:
    """The annotation is RFC 3339 in ``spec.timeZone``."""
    cj = cron_job("0 9 * * *", time_zone="Asia/Kolkata")
    p = plan(cj, [], now=T0 + dt.timedelta(hours=4))  # 09:30 in Kolkata
    assert p.create is not None
    assert (
        "2026-01-01T09:00:00+05:30" == p.create.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION]
    )


def test_does_nothing_before_the_first_time() -> None:
    """Nothing is due at 00:00:30: no Job, a sync just after 00:01."""
    p = plan(cron_job(), [], now=T0 + dt.timedelta(seconds=30))
    assert (None, (), ()) == (p.create, p.replace, p.cleanup)
    assert p.requeue_after is not None
    assert abs(30.1 - p.requeue_after) < 1e-6


def test_does_not_run_the_same_time_twice() -> None:
    """After the 00:01 run, another sync at 00:01:30 creates nothing."""
    cj, job = run(cron_job(), T0 + MINUTE)
    p = plan(cj, [job], now=T0 + dt.timedelta(seconds=90))
    assert (None, cj.status, []) == (p.create, p.status, reasons(p))


def test_forbid_skips_while_a_job_is_active() -> None:
    """Forbid: the 00:02 run is not started while the 00:01 one runs."""
    cj, job = run(cron_job(policy=ConcurrencyPolicy.FORBID), T0 + MINUTE)
    p = plan(cj, [job], now=T0 + 2 * MINUTE)
    assert (None, ["JobAlreadyActive"]) == (p.create, reasons(p))
    assert (
        "Not starting job because prior execution is running and concurrency policy is Forbid"
        == p.events[0].message
    )


def test_forbid_runs_the_missed_time_when_the_active_job_finishes() -> None:
    """Without a deadline, the skipped 00:02 run starts when the 00:01 one finishes at 00:02:30."""
    cj, job = run(cron_job(policy=ConcurrencyPolicy.FORBID), T0 + MINUTE)
    now = T0 + dt.timedelta(seconds=150)
    p = plan(cj, [finished(job, "Complete", at=now)], now=now)
    assert p.create is not None
    assert T0 + 2 * MINUTE == p.scheduled_time
    assert ["SawCompletedJob"] == reasons(p)


def test_forbid_drops_the_missed_time_past_the_deadline() -> None:
    """With a 20 s deadline, the 00:02 run skipped is not started at 00:02:30."""
    cj, job = run(cron_job(policy=ConcurrencyPolicy.FORBID, deadline=20), T0 + MINUTE)
    now = T0 + dt.timedelta(seconds=150)
    p = plan(cj, [finished(job, "Complete", at=now)], now=now)
    assert p.create is None
    assert () == p.status.active


def test_replace_deletes_the_active_job_then_creates() -> None:
    """Replace: at 00:02 the running 00:01 Job is deleted and the 00:02 one created."""
    cj, job = run(cron_job(policy=ConcurrencyPolicy.REPLACE), T0 + MINUTE)
    p = plan(cj, [job], now=T0 + 2 * MINUTE)
    assert (job,) == p.replace
    assert p.create is not None
    assert T0 + 2 * MINUTE == p.scheduled_time
    assert () == p.status.active


def test_allow_runs_concurrently() -> None:
    """Allow: the 00:02 run starts next to the running 00:01 one."""
    cj, job = run(cron_job(), T0 + MINUTE)
    p = plan(cj, [job], now=T0 + 2 * MINUTE)
    assert p.create is not None
    assert () == p.replace
    assert (job_reference(job),) == p.status.active


def test_suspended_cron_job_starts_nothing_and_sleeps() -> None:
    """A suspended CronJob creates nothing and asks for no sync."""
    p = plan(cron_job(suspend=True), [], now=T0 + 5 * MINUTE)
    assert (None, None) == (p.create, p.requeue_after)


def test_resumed_cron_job_runs_the_latest_missed_time() -> None:
    """Resumed after a suspension, the most recent missed time runs (no deadline)."""
    p = plan(cron_job(), [], now=T0 + dt.timedelta(minutes=50, seconds=20))
    assert T0 + 50 * MINUTE == p.scheduled_time
    assert [] == reasons(p)


def test_too_many_missed_times_warns_and_runs_only_the_latest() -> None:
    """Two days of minutes missed: ``TooManyMissedTimes``, and one Job for the latest minute."""
    now = T0 + dt.timedelta(days=2, seconds=5)
    p = plan(cron_job(), [], now=now)
    assert ["TooManyMissedTimes"] == reasons(p)
    assert (
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
        "or check clock skew" == p.events[0].message
    )
    assert T0 + dt.timedelta(days=2) == p.scheduled_time


def test_deadline_skips_times_too_old_to_start() -> None:
    """With a 10 s deadline, a sync 30 s after the time starts nothing."""
    p = plan(cron_job(deadline=10), [], now=T0 + dt.timedelta(seconds=90))
    assert p.create is None
    assert p.requeue_after is not None
    assert abs(30.1 - p.requeue_after) < 1e-6


def test_completed_job_leaves_active_and_sets_last_successful_time() -> None:
    """A finished active Job is reported and leaves ``active``; success is recorded."""
    cj, job = run(cron_job("0 * * * *"), T0 + 60 * MINUTE)
    done = finished(job, "Complete", at=T0 + 70 * MINUTE)
    p = plan(cj, [done], now=T0 + 70 * MINUTE)
    assert () == p.status.active
    assert T0 + 70 * MINUTE == p.status.last_successful_time
    assert [f"Saw completed job: {job.metadata.name}, condition: Complete"] == [
        e.message for e in p.events
    ]


def test_failed_job_is_reported_with_its_condition() -> None:
    """A failed active Job leaves ``active``; ``lastSuccessfulTime`` stays unset."""
    cj, job = run(cron_job("0 * * * *"), T0 + 60 * MINUTE)
    p = plan(cj, [finished(job, "Failed", at=T0 + 61 * MINUTE)], now=T0 + 61 * MINUTE)
    assert (None, f"Saw completed job: {job.metadata.name}, condition: Failed") == (
        p.status.last_successful_time,
        p.events[0].message,
    )


def test_unexpected_job_is_reported_not_adopted() -> None:
    """An unfinished Job the CronJob controls but never recorded is reported and left alone."""
    _, stray = run(cron_job(), T0 + MINUTE)  # created, but the CronJob's status lost it
    cj = cron_job("0 * * * *")
    p = plan(cj, [stray], now=T0 + MINUTE)
    assert ["UnexpectedJob"] == reasons(p)
    assert () == p.status.active


def test_forbid_waits_for_a_running_job_its_status_lost() -> None:
    """
    Forbid: the 00:01 run was created but the status write recording it failed;
    at 00:02 it still runs, so nothing starts (it is reported, not adopted).
    """
    _, stray = run(cron_job(policy=ConcurrencyPolicy.FORBID), T0 + MINUTE)
    p = plan(cron_job(policy=ConcurrencyPolicy.FORBID), [stray], now=T0 + 2 * MINUTE)
    assert (None, ()) == (p.create, p.status.active)
    assert ["UnexpectedJob", "JobAlreadyActive"] == reasons(p)
    done = finished(stray, "Complete", at=T0 + 2 * MINUTE)
    after = plan(cron_job(policy=ConcurrencyPolicy.FORBID), [done], now=T0 + 2 * MINUTE)
    assert after.create is not None  # once it finished, the 00:02 run starts


def test_missing_active_job_leaves_active() -> None:
    """An active Job that no longer exists is reported and dropped from ``active``."""
    cj, job = run(cron_job("0 * * * *"), T0 + 60 * MINUTE)
    p = plan(cj, [], now=T0 + 61 * MINUTE)
    assert (["MissingJob"], ()) == (reasons(p), p.status.active)
    assert f"Active job went missing: {job.metadata.name}" == p.events[0].message


def test_history_limits_delete_the_oldest_finished_jobs() -> None:
    """Keep 2 successful and 1 failed: the oldest of each beyond that are deleted."""
    cj = cron_job("0 * * * *", successful=2, failed=1)
    jobs = []
    for hour in range(1, 7):
        cj, job = run(cj, T0 + hour * 60 * MINUTE)
        jobs.append(finished(job, "Complete" if hour % 2 else "Failed", at=T0 + hour * 61 * MINUTE))
    p = plan(cj, jobs, now=T0 + dt.timedelta(hours=6, minutes=30))
    ok = [j for j in jobs if j.status.completion_time is not None]
    failed = [j for j in jobs if j.status.completion_time is None]
    assert (ok[0], failed[0], failed[1]) == p.cleanup
    assert () == p.status.active


def test_jobs_being_deleted_do_not_count_for_history() -> None:
    """A finished Job already being deleted is not deleted again."""
    cj = cron_job("0 * * * *", successful=0)
    cj, job = run(cj, T0 + 60 * MINUTE)
    done = finished(job, "Complete", at=T0 + 61 * MINUTE)
    going = attrs.evolve(done, metadata=attrs.evolve(done.metadata, deletion_timestamp=T0))
    assert () == plan(cj, [going], now=T0 + 62 * MINUTE).cleanup
    assert (done,) == plan(cj, [done], now=T0 + 62 * MINUTE).cleanup


def test_unknown_time_zone_warns_and_starts_nothing() -> None:
    """An unknown ``spec.timeZone`` (stored before validation) is reported; nothing runs."""
    p = plan(cron_job(time_zone="Nowhere/Atlantis"), [], now=T0 + 5 * MINUTE)
    assert (None, None, ["UnknownTimeZone"]) == (p.create, p.requeue_after, reasons(p))
    assert "unknown time zone Nowhere/Atlantis" in p.events[0].message


def test_unparseable_schedule_warns_and_starts_nothing() -> None:
    """A schedule that cannot be parsed is reported as ``UnparseableSchedule``."""
    p = plan(cron_job("every day at noon"), [], now=T0 + 5 * MINUTE)
    assert (None, ["UnparseableSchedule"]) == (p.create, reasons(p))


def test_deleting_cron_job_only_keeps_its_books() -> None:
    """A CronJob being deleted starts nothing but still records finished Jobs."""
    cj, job = run(cron_job(), T0 + MINUTE)
    cj = attrs.evolve(cj, metadata=attrs.evolve(cj.metadata, deletion_timestamp=T0 + MINUTE))
    now = T0 + 3 * MINUTE
    p = plan(cj, [finished(job, "Complete", at=now)], now=now)
    assert (None, (), None) == (p.create, p.status.active, p.requeue_after)


def test_record_created_is_idempotent() -> None:
    """Recording the same created Job twice lists it once."""
    p = plan(cron_job(), [], now=T0 + MINUTE)
    assert p.create is not None
    assert p.scheduled_time is not None
    job = created(p.create, at=T0 + MINUTE)
    once = record_created(p.status, job, p.scheduled_time)
    assert once == record_created(once, job, p.scheduled_time)
    assert CronJobStatus(active=(job_reference(job),), last_schedule_time=T0 + MINUTE) == once


def test_job_names_are_minutes_since_the_epoch() -> None:
    """The name of a run is the CronJob's name and the minute of its schedule time."""
    assert "tick-29453760" == job_name(cron_job(), T0)  # 1767225600 s / 60


def test_changed_schedule_starts_nothing_until_its_next_time() -> None:
    """Right after a schedule change the due run is not started; the sync waits for the next."""
    now = T0 + dt.timedelta(minutes=30)
    p = plan(cron_job("*/15 * * * *"), [], now=now, schedule_changed=True)
    assert (None, []) == (p.create, reasons(p))
    assert p.requeue_after is not None
    assert abs(900.1 - p.requeue_after) < 1e-6
