"""
The CronJob planner: given a CronJob, its Jobs and ``now``, what one sync does.

Pure (no I/O, ``now`` passed in). Kubernetes: ``syncCronJob`` and
``cleanupFinishedJobs`` in pkg/controller/cronjob/cronjob_controllerv2.go.
One sync, in order:

1. Bookkeeping. A Job controlled by the CronJob that is unfinished but not in
   ``status.active`` is reported (``UnexpectedJob``) and left alone; an active
   Job that finished leaves ``status.active`` (``SawCompletedJob``); the
   latest ``completionTime`` of a succeeded Job is ``lastSuccessfulTime``; an
   active Job that no longer exists leaves ``status.active`` (``MissingJob``).
2. Nothing is started while the CronJob is being deleted or suspended, nor
   when its time zone or schedule is unusable (a warning event says why), nor
   right after its schedule or time zone changed (until the new next time).
3. The most recent unmet schedule time is found
   (:func:`~controllers.cronjob.times.most_recent_schedule_time`, honouring
   ``startingDeadlineSeconds``; more than 100 missed times is warned about
   with ``TooManyMissedTimes`` and only the most recent counts). If it was
   already run (its Job is active or it is ``lastScheduleTime``), nothing
   starts. With ``Forbid`` and an active Job, nothing starts
   (``JobAlreadyActive``; a running Job the CronJob controls counts even when
   ``status.active`` does not list it, as after a failed status write) and
   that time is not run later unless it is still the most recent time,
   within the starting deadline, at a later sync (when the active Job
   finishes, say). With ``Replace`` the active Jobs are deleted
   first. Then the Job of that time is created.
4. Finished Jobs beyond ``successfulJobsHistoryLimit`` and
   ``failedJobsHistoryLimit`` are deleted, oldest start time first.
5. The CronJob asks to be synced again just after its next schedule time.

The :class:`Plan` holds the status as it is once the deletions are done;
the created Job joins it with :func:`record_created`, once the API server
has given it a uid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

from controllers.api.batch import ConcurrencyPolicy, CronJob, CronJobStatus, Job
from controllers.cronjob.jobs import (
    COMPLETE,
    FAILED,
    finished_condition,
    job_from_template,
    job_name,
    job_reference,
    start_time_order,
)
from controllers.cronjob.schedule import ScheduleError, load_time_zone, parse_schedule
from controllers.cronjob.times import (
    NEXT_SCHEDULE_DELTA,
    Missed,
    most_recent_schedule_time,
    next_schedule_time,
)
from controllers.planted import CRONJOB_FORBID_RUNS_CONCURRENTLY
from reconcile import planted

__all__ = ["Plan", "PlannedEvent", "plan", "record_created"]


@attrs.frozen(kw_only=True)
class PlannedEvent:
    """An event the sync records on the CronJob, with Kubernetes' reason and message."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@attrs.frozen(kw_only=True)
class Plan:
    """
    What one sync of a CronJob does.

    Attributes:
        status: The status once ``replace`` and ``cleanup`` are deleted
            (without ``create``; see :func:`record_created`).
        create: The Job to create, if a run is due.
        scheduled_time: The schedule time ``create`` runs for.
        replace: Active Jobs to delete before creating (``Replace``).
        cleanup: Finished Jobs beyond the history limits, oldest first.
        events: Events to record, in order.
        requeue_after: Seconds until the next sync is due; ``None`` for none.
    """

    status: CronJobStatus
    create: Job | None = None
    scheduled_time: dt.datetime | None = None
    replace: tuple[Job, ...] = ()
    cleanup: tuple[Job, ...] = ()
    events: tuple[PlannedEvent, ...] = ()
    requeue_after: float | None = None

    @property
    def deletes(self) -> tuple[Job, ...]:
        """Every Job the plan deletes: ``replace``, then ``cleanup``."""
        return self.replace + self.cleanup


def record_created(status: CronJobStatus, job: Job, scheduled_time: dt.datetime) -> CronJobStatus:
    """``status`` with ``job`` (as created) active and ``scheduled_time`` the last schedule time."""
    active = status.active
    if all(ref.uid != job.metadata.uid for ref in active):
        active = (*active, job_reference(job))
    return attrs.evolve(status, active=active, last_schedule_time=scheduled_time)


def plan(
    cron_job: CronJob, jobs: Sequence[Job], *, now: dt.datetime, schedule_changed: bool = False
) -> Plan:
    """
    Plan one sync of ``cron_job`` (see the module docstring).

    Args:
        cron_job: The CronJob, defaulted as the API server stores it.
        jobs: The Jobs it controls (for an active Job missing from the
            cache, the caller looks it up on the API server and passes it).
        now: The current instant.
        schedule_changed: Whether ``spec.schedule`` or ``spec.timeZone``
            changed since the last sync. Then no run starts now: Kubernetes
            acts on such a change at the next time of the new schedule
            (``updateCronJob``), so a time the new schedule "missed" before
            the change is not run.
    """
    events: list[PlannedEvent] = []
    status = _bookkeeping(cron_job, sorted(jobs, key=lambda j: j.metadata.name), events)
    observed = attrs.evolve(cron_job, status=status)
    base = Plan(status=status)
    run = _run(observed, jobs, now, events, start=not schedule_changed)
    if run is not None:
        base = run
    replaced = {j.metadata.uid for j in base.replace}
    cleanup = _cleanup(cron_job, [j for j in jobs if j.metadata.uid not in replaced])
    gone = {j.metadata.uid for j in cleanup}
    status = base.status
    if gone:
        status = attrs.evolve(status, active=tuple(r for r in status.active if r.uid not in gone))
    return attrs.evolve(base, status=status, cleanup=cleanup, events=tuple(events))


def _bookkeeping(
    cron_job: CronJob, jobs: Sequence[Job], events: list[PlannedEvent]
) -> CronJobStatus:
    status = cron_job.status
    active = list(status.active)
    active_uids = {ref.uid for ref in active}
    last_successful = status.last_successful_time
    for job in jobs:
        finished = finished_condition(job)
        uid = job.metadata.uid
        if uid not in active_uids and finished is None:
            events.append(
                PlannedEvent(
                    type="Warning",
                    reason="UnexpectedJob",
                    message="Saw a job that the controller did not create or forgot: "
                    + job.metadata.name,
                )
            )
            continue
        if uid in active_uids and finished is not None:
            active = [ref for ref in active if ref.uid != uid]
            events.append(
                PlannedEvent(
                    type="Normal",
                    reason="SawCompletedJob",
                    message=f"Saw completed job: {job.metadata.name}, condition: {finished}",
                )
            )
        completed = job.status.completion_time
        if (
            finished == COMPLETE
            and completed is not None
            and (last_successful is None or completed > last_successful)
        ):
            last_successful = completed
    present = {job.metadata.uid for job in jobs}
    for ref in list(active):
        if ref.uid not in present:
            active.remove(ref)
            events.append(
                PlannedEvent(
                    type="Normal",
                    reason="MissingJob",
                    message=f"Active job went missing: {ref.name}",
                )
            )
    return attrs.evolve(status, active=tuple(active), last_successful_time=last_successful)


def _run(
    cron_job: CronJob,
    jobs: Sequence[Job],
    now: dt.datetime,
    events: list[PlannedEvent],
    *,
    start: bool,
) -> Plan | None:
    """The run part of a sync; ``None`` when nothing is to be scheduled at all."""
    spec, status = cron_job.spec, cron_job.status
    if cron_job.metadata.deletion_timestamp is not None:
        return None
    try:
        zone = load_time_zone(spec.time_zone)
    except ScheduleError as exc:
        events.append(
            PlannedEvent(
                type="Warning",
                reason="UnknownTimeZone",
                message=f"invalid timeZone: {spec.time_zone!r}: {exc.detail}",
            )
        )
        return None
    if spec.suspend:
        return None
    if "TZ" in spec.schedule:
        events.append(
            PlannedEvent(
                type="Warning",
                reason="UnsupportedSchedule",
                message=f"CRON_TZ or TZ used in schedule {spec.schedule!r} "
                "is not officially supported",
            )
        )
    try:
        schedule = parse_schedule(spec.schedule, spec.time_zone)
    except ScheduleError as exc:
        events.append(
            PlannedEvent(
                type="Warning",
                reason="UnparseableSchedule",
                message=f"unparseable schedule: {spec.schedule!r} : {exc.detail}",
            )
        )
        return None
    recent = most_recent_schedule_time(cron_job, schedule, now=now)
    scheduled = recent.most_recent
    # The next time after the most recent one is the first after ``now``.
    following = (
        next_schedule_time(cron_job, schedule, now=now)
        if scheduled is None
        else schedule.next_after(scheduled)
    )
    requeue_after = (
        None if following is None else (following - now).total_seconds() + NEXT_SCHEDULE_DELTA
    )
    waiting = Plan(status=status, requeue_after=requeue_after)
    if scheduled is None or not start:
        return waiting
    if recent.missed is Missed.MANY:
        events.append(
            PlannedEvent(
                type="Warning",
                reason="TooManyMissedTimes",
                message="too many missed start times. Set or decrease "
                ".spec.startingDeadlineSeconds or check clock skew",
            )
        )
    deadline = spec.starting_deadline_seconds
    if deadline is not None and scheduled + dt.timedelta(seconds=deadline) < now:
        stamp = scheduled.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        events.append(
            PlannedEvent(
                type="Warning",
                reason="MissSchedule",
                message=f"Missed scheduled time to start a job: {stamp}",
            )
        )
        return waiting
    name = job_name(cron_job, scheduled)
    if any(ref.name == name for ref in status.active) or status.last_schedule_time == scheduled:
        return waiting
    forbid = spec.concurrency_policy is ConcurrencyPolicy.FORBID
    # A running Job missing from status.active (its creation's status write failed)
    # is still a prior execution: Kubernetes looks at status.active alone.
    running = bool(status.active) or any(finished_condition(j) is None for j in jobs)
    if forbid and running and not planted(CRONJOB_FORBID_RUNS_CONCURRENTLY):
        events.append(
            PlannedEvent(
                type="Normal",
                reason="JobAlreadyActive",
                message="Not starting job because prior execution is running "
                "and concurrency policy is Forbid",
            )
        )
        return waiting
    replace: tuple[Job, ...] = ()
    if spec.concurrency_policy is ConcurrencyPolicy.REPLACE and status.active:
        active = {ref.uid for ref in status.active}
        replace = tuple(j for j in jobs if j.metadata.uid in active)
        status = attrs.evolve(status, active=())
    return Plan(
        status=status,
        create=job_from_template(cron_job, scheduled, zone),
        scheduled_time=scheduled,
        replace=replace,
        requeue_after=requeue_after,
    )


def _cleanup(cron_job: CronJob, jobs: Iterable[Job]) -> tuple[Job, ...]:
    """Finished Jobs beyond the history limits, oldest first (``cleanupFinishedJobs``)."""
    spec = cron_job.spec
    succeeded: list[Job] = []
    failed: list[Job] = []
    for job in jobs:
        if job.metadata.deletion_timestamp is not None:
            continue  # already going
        finished = finished_condition(job)
        if finished == COMPLETE:
            succeeded.append(job)
        elif finished == FAILED:
            failed.append(job)
    doomed: list[Job] = []
    for limit, finished_jobs in (
        (spec.successful_jobs_history_limit, succeeded),
        (spec.failed_jobs_history_limit, failed),
    ):
        if limit is not None and len(finished_jobs) > limit:
            finished_jobs.sort(key=start_time_order)
            doomed.extend(finished_jobs[: len(finished_jobs) - limit])
    return tuple(doomed)
