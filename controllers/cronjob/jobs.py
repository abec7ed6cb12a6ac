"""
The Jobs of a CronJob: names, the Job built from the template, outcomes and order.

Kubernetes: ``getJobFromTemplate2``, ``getJobName``, ``getFinishedStatus``,
``byJobStartTime`` and ``getRef`` in pkg/controller/cronjob.
"""

from __future__ import annotations

import datetime as dt

from controllers.api.batch import CronJob, Job
from controllers.job.conditions import COMPLETE, FAILED
from controllers.job.conditions import finished_condition as job_finished_condition
from reconcile import (
    FrozenDict,
    ObjectMeta,
    ObjectReference,
    kind_of,
    owner_reference_to,
)

__all__ = [
    "COMPLETE",
    "FAILED",
    "SCHEDULED_TIMESTAMP_ANNOTATION",
    "finished_condition",
    "job_from_template",
    "job_name",
    "job_reference",
    "start_time_order",
]

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
"""The scheduled time of the run a Job is, in RFC 3339 in the CronJob's time zone."""


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def job_name(cron_job: CronJob, scheduled_time: dt.datetime) -> str:
    """``<cronjob>-<minutes since the epoch>``: one name per run, never created twice."""
    minutes = int((scheduled_time - _EPOCH).total_seconds()) // 60
    return f"{cron_job.metadata.name}-{minutes}"


def job_from_template(cron_job: CronJob, scheduled_time: dt.datetime, zone: dt.tzinfo) -> Job:
    """
    The Job of the run at ``scheduled_time`` (``getJobFromTemplate2``).

    Labels and annotations come from ``spec.jobTemplate.metadata``, plus
    :data:`SCHEDULED_TIMESTAMP_ANNOTATION` (in ``zone``); the CronJob is its
    controller; the spec is the template's.
    """
    template = cron_job.spec.job_template
    stamp = scheduled_time.astimezone(zone).replace(microsecond=0).isoformat()
    if stamp.endswith("+00:00"):
        stamp = stamp[: -len("+00:00")] + "Z"  # Go's RFC 3339 for UTC
    annotations = dict(template.metadata.annotations)
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = stamp
    meta = ObjectMeta(
        name=job_name(cron_job, scheduled_time),
        namespace=cron_job.metadata.namespace,
        labels=template.metadata.labels,
        annotations=FrozenDict(annotations),
        owner_references=(owner_reference_to(cron_job),),
    )
    return Job(metadata=meta, spec=template.spec)


def finished_condition(job: Job) -> str | None:
    """``Complete`` or ``Failed`` when that condition is true; ``getFinishedStatus``."""
    found = job_finished_condition(job)
    return None if found is None else found.type


def start_time_order(job: Job) -> tuple[bool, dt.datetime, str]:
    """Oldest first: by ``status.startTime`` (unset last), then name (``byJobStartTime``)."""
    start = job.status.start_time
    return (start is None, start or _EPOCH, job.metadata.name)


def job_reference(job: Job) -> ObjectReference:
    """The ``status.active`` entry for ``job`` (``getRef``)."""
    declared = kind_of(job)
    meta = job.metadata
    return ObjectReference(
        kind=declared.kind,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        api_version=declared.api_version,
        resource_version=meta.resource_version,
    )
