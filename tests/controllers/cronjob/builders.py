"""Builders for CronJobs and their Jobs, and a pure simulation of the controller's syncs."""

from __future__ import annotations

import datetime as dt
import itertools

import attrs

from controllers.api.batch import (
    ConcurrencyPolicy,
    CronJob,
    CronJobSpec,
    CronJobStatus,
    Job,
    JobCondition,
    JobSpec,
    JobTemplateSpec,
)
from controllers.api.core import Container, PodSpec, PodTemplateSpec
from controllers.api.defaults import default_cron_job
from reconcile import ConditionStatus, ObjectMeta, ResourceVersion, Uid

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CRON_UID = Uid("00000000-0000-4000-8000-00000000c0c0")

_uids = itertools.count(1)


def template() -> JobTemplateSpec:
    """A Job template running one ``busybox`` container, never restarted."""
    return JobTemplateSpec(
        metadata=ObjectMeta(labels={"app": "tick"}, annotations={"team": "batch"}),
        spec=JobSpec(
            template=PodTemplateSpec(
                spec=PodSpec(
                    restart_policy="Never",
                    containers=(Container(name="c", image="busybox"),),
                )
            )
        ),
    )


def cron_job(
    schedule: str = "*/1 * * * *",
    *,
    policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW,
    time_zone: str | None = None,
    deadline: int | None = None,
    suspend: bool = False,
    successful: int = 3,
    failed: int = 1,
    created: dt.datetime = T0,
    status: CronJobStatus | None = None,
) -> CronJob:
    """A created, defaulted CronJob ``tick`` in ``default``."""
    return default_cron_job(
        CronJob(
            metadata=ObjectMeta(
                name="tick",
                namespace="default",
                uid=CRON_UID,
                creation_timestamp=created,
            ),
            spec=CronJobSpec(
                schedule=schedule,
                time_zone=time_zone,
                starting_deadline_seconds=deadline,
                concurrency_policy=policy,
                suspend=suspend,
                job_template=template(),
                successful_jobs_history_limit=successful,
                failed_jobs_history_limit=failed,
            ),
            status=status or CronJobStatus(),
        )
    )


def created(job: Job, *, at: dt.datetime) -> Job:
    """``job`` as the API server stores it: a uid, a version, a creation time."""
    n = next(_uids)
    meta = attrs.evolve(
        job.metadata,
        uid=Uid(f"00000000-0000-4000-8000-{n:012d}"),
        resource_version=ResourceVersion(str(n)),
        creation_timestamp=at,
    )
    return attrs.evolve(job, metadata=meta, status=attrs.evolve(job.status, start_time=at))


def finished(job: Job, condition: str, *, at: dt.datetime) -> Job:
    """``job`` with ``condition`` (``Complete`` or ``Failed``) true since ``at``."""
    status = attrs.evolve(
        job.status,
        conditions=(
            JobCondition(type=condition, status=ConditionStatus.TRUE, last_transition_time=at),
        ),
        completion_time=at if condition == "Complete" else None,
    )
    return attrs.evolve(job, status=status)
