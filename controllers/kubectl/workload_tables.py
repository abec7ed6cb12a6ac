"""
``kubectl get`` tables of the workloads that run to a node or to an end: DaemonSets, Jobs, CronJobs.

Each function takes the objects in the order to print them and ``now``,
and returns the table as kubectl prints it (``-o wide`` with ``wide``),
laid out by :func:`~controllers.kubectl.printers.tabwrite` without a
trailing newline. Cells follow kubectl's ``printDaemonSet``, ``printJob``
and ``printCronJob``:

* a Job's STATUS is the first of ``Complete``, ``Failed`` (true
  conditions), ``Terminating`` (being deleted), ``Suspended``,
  ``FailureTarget``, ``SuccessCriteriaMet`` (true conditions), else
  ``Running``;
* its COMPLETIONS is ``succeeded/completions``; without ``completions`` it
  is ``succeeded/1``, or ``succeeded/1 of parallelism`` when more than one
  pod runs at a time;
* its DURATION runs from ``startTime`` to ``completionTime`` (or to ``now``
  while unfinished) and is empty before the Job starts;
* a CronJob's SUSPEND is ``True``/``False`` (``<unset>`` if the field was
  never defaulted), TIMEZONE and LAST SCHEDULE ``<none>`` when unset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from controllers.api.apps import DaemonSet
from controllers.api.batch import CronJob, Job
from controllers.job import is_condition_true
from controllers.kubectl.printers import (
    age,
    containers_cells,
    human_duration,
    labels_cell,
    selector_cell,
    tabwrite,
)

__all__ = ["cron_job_table", "daemon_set_table", "job_completions", "job_status", "job_table"]

_WIDE = ["CONTAINERS", "IMAGES", "SELECTOR"]


def daemon_set_table(
    daemon_sets: Iterable[DaemonSet], *, now: dt.datetime, wide: bool = False
) -> str:
    """
    ``kubectl get daemonsets`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, DESIRED, CURRENT, READY, UP-TO-DATE, AVAILABLE, NODE
    SELECTOR (the pod template's, ``<none>`` if empty), AGE; wide adds
    CONTAINERS, IMAGES and SELECTOR.
    """
    header = ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"]
    header += ["NODE SELECTOR", "AGE", *(_WIDE if wide else [])]
    rows = [header]
    for ds in daemon_sets:
        status, spec = ds.status, ds.spec
        row = [
            ds.metadata.name,
            str(status.desired_number_scheduled),
            str(status.current_number_scheduled),
            str(status.number_ready),
            str(status.updated_number_scheduled),
            str(status.number_available),
            labels_cell(spec.template.spec.node_selector),
            age(ds.metadata.creation_timestamp, now),
        ]
        if wide:
            row += [*containers_cells(spec.template.spec.containers), selector_cell(spec.selector)]
        rows.append(row)
    return tabwrite(rows)


def job_status(job: Job) -> str:
    """A Job's STATUS cell: ``Complete``, ``Failed``, ``Terminating``, ... or ``Running``."""
    conditions = job.status.conditions
    if is_condition_true(conditions, "Complete"):
        return "Complete"
    if is_condition_true(conditions, "Failed"):
        return "Failed"
    if job.metadata.deletion_timestamp is not None:
        return "Terminating"
    for type_ in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if is_condition_true(conditions, type_):
            return type_
    return "Running"


def job_completions(job: Job) -> str:
    """A Job's COMPLETIONS cell: ``3/5``, or ``1/1`` / ``0/1 of 4`` for a work queue."""
    succeeded = job.status.succeeded
    if job.spec.completions is not None:
        return f"{succeeded}/{job.spec.completions}"
    parallelism = job.spec.parallelism or 0
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def _duration(job: Job, now: dt.datetime) -> str:
    start, end = job.status.start_time, job.status.completion_time
    if start is None:
        return ""
    return human_duration(((end or now) - start).total_seconds())


def job_table(jobs: Iterable[Job], *, now: dt.datetime, wide: bool = False) -> str:
    """
    ``kubectl get jobs`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, STATUS (:func:`job_status`), COMPLETIONS
    (:func:`job_completions`), DURATION, AGE; wide adds CONTAINERS, IMAGES
    and SELECTOR.
    """
    rows = [["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", *(_WIDE if wide else [])]]
    for job in jobs:
        row = [
            job.metadata.name,
            job_status(job),
            job_completions(job),
            _duration(job, now),
            age(job.metadata.creation_timestamp, now),
        ]
        if wide:
            spec = job.spec
            row += [*containers_cells(spec.template.spec.containers), selector_cell(spec.selector)]
        rows.append(row)
    return tabwrite(rows)


def cron_job_table(cron_jobs: Iterable[CronJob], *, now: dt.datetime, wide: bool = False) -> str:
    """
    ``kubectl get cronjobs`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, SCHEDULE, TIMEZONE, SUSPEND, ACTIVE (running Jobs), LAST
    SCHEDULE (its age), AGE; wide adds the Job template's CONTAINERS, IMAGES
    and SELECTOR.
    """
    header = ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]
    rows = [header + (_WIDE if wide else [])]
    for cj in cron_jobs:
        spec, status = cj.spec, cj.status
        suspend = "<unset>" if spec.suspend is None else str(spec.suspend)
        last = status.last_schedule_time
        row = [
            cj.metadata.name,
            spec.schedule,
            spec.time_zone if spec.time_zone is not None else "<none>",
            suspend,
            str(len(status.active)),
            "<none>" if last is None else age(last, now),
            age(cj.metadata.creation_timestamp, now),
        ]
        if wide:
            job = spec.job_template.spec
            row += [*containers_cells(job.template.spec.containers), selector_cell(job.selector)]
        rows.append(row)
    return tabwrite(rows)
