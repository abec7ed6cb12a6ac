"""
The CronJob controller: creates a Job for each time a CronJob's schedule gives.

Like kube-controller-manager's ``cronjob-controller`` (the v2 controller in
pkg/controller/cronjob in Kubernetes): standard cron schedules and macros in
``spec.timeZone``, ``concurrencyPolicy`` Allow / Forbid / Replace,
``startingDeadlineSeconds`` and missed runs, ``suspend``, history limits, and
a status with the active Jobs, ``lastScheduleTime`` and ``lastSuccessfulTime``.
It creates Jobs and reads their ``Complete``/``Failed`` conditions; running
them is the Job controller's business.

Time is the manager's clock: each sync asks to be run again just after the
next schedule time (``Result.after``), so in virtual time a day of runs
takes a moment.

Decisions are pure: :mod:`~controllers.cronjob.schedule` (parsing, time
zones), :mod:`~controllers.cronjob.times` (which time is due, the next one),
:mod:`~controllers.cronjob.jobs` (the Job of a run) and
:mod:`~controllers.cronjob.plan` (one sync). The
:mod:`~controllers.cronjob.reconciler` reads the caches and writes;
:mod:`~controllers.cronjob.manual` runs a CronJob's Job by hand.

Differences from Kubernetes, each deliberate:

* The missed schedule times are counted exactly (see
  :mod:`~controllers.cronjob.times`).
* Daylight saving time: a run in the skipped hour runs when the clock jumps,
  and a run in the repeated hour runs once (see
  :mod:`~controllers.cronjob.schedule`).
* The controller's own time zone, used when ``spec.timeZone`` is unset, is UTC.
* A change of schedule or time zone is synced at once, but starts no run
  until the new schedule's next time (Kubernetes delays the whole sync); the
  controller's own status writes cause no sync.
* Deleting a Job that is already gone counts as done (no ``FailedDelete``);
  Jobs already being deleted do not count against the history limits.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    cronjob.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="cronjob-controller", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

from controllers.api.batch import CronJob, Job
from controllers.cronjob.jobs import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    finished_condition,
    job_from_template,
    job_name,
)
from controllers.cronjob.manual import (
    MANUAL_INSTANTIATE_ANNOTATION,
    create_job_from_cron_job,
    job_from_cron_job,
)
from controllers.cronjob.plan import Plan, PlannedEvent, plan, record_created
from controllers.cronjob.reconciler import CronJobReconciler, SyncError
from controllers.cronjob.schedule import (
    Schedule,
    ScheduleError,
    load_time_zone,
    parse_schedule,
    schedule_errors,
)
from controllers.cronjob.times import (
    MAX_MISSED_SCHEDULES,
    Missed,
    RecentSchedule,
    most_recent_schedule_time,
    next_schedule_time,
)
from reconcile import Controller, EventRecorder, Manager, Resource, Watch, enqueue_owner

__all__ = [
    "CONTROLLER_NAME",
    "MANUAL_INSTANTIATE_ANNOTATION",
    "MAX_MISSED_SCHEDULES",
    "SCHEDULED_TIMESTAMP_ANNOTATION",
    "CronJobReconciler",
    "Missed",
    "Plan",
    "PlannedEvent",
    "RecentSchedule",
    "Schedule",
    "ScheduleError",
    "SyncError",
    "create_job_from_cron_job",
    "finished_condition",
    "job_from_cron_job",
    "job_from_template",
    "job_name",
    "load_time_zone",
    "most_recent_schedule_time",
    "next_schedule_time",
    "parse_schedule",
    "plan",
    "record_created",
    "schedule_errors",
    "setup",
]

CONTROLLER_NAME = "cronjob-controller"


def setup(
    manager: Manager, *, recorder: EventRecorder | None = None, workers: int = 5
) -> Controller[CronJob]:
    """
    Add the CronJob controller (``cronjob-controller``) to ``manager``.

    Job changes enqueue the controlling CronJob. ``recorder`` (Kubernetes
    uses component ``cronjob-controller``) receives the events; ``workers``
    is Kubernetes' ``--concurrent-cron-job-syncs`` (5).
    """
    reconciler = CronJobReconciler(
        manager.client,
        cron_jobs=manager.store(CronJob),
        jobs=manager.store(Job),
        clock=manager.clock,
        recorder=recorder,
    )

    def not_own_status_write(old: Resource | None, new: Resource | None) -> bool:
        """Our own status writes need no sync: we just made them."""
        return not (isinstance(new, CronJob) and reconciler.wrote(new))

    controller: Controller[CronJob] = Controller(
        name=CONTROLLER_NAME,
        reconciler=reconciler,
        for_=CronJob,
        predicates=(not_own_status_write,),
        watches=[Watch(kind=Job, mapper=enqueue_owner(CronJob))],
        workers=workers,
    )
    return manager.add(controller)
