"""
Running a CronJob's Job by hand, as ``kubectl create job NAME --from=cronjob/CRONJOB`` does.

Kubernetes: ``createJobFromCronJob`` in kubectl's ``create job`` command.
"""

from __future__ import annotations

from controllers.api.batch import CronJob, Job
from reconcile import Client, FrozenDict, ObjectMeta, owner_reference_to

__all__ = ["MANUAL_INSTANTIATE_ANNOTATION", "create_job_from_cron_job", "job_from_cron_job"]

MANUAL_INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"
"""Set to ``manual`` on a Job created by hand from a CronJob."""


def job_from_cron_job(cron_job: CronJob, name: str) -> Job:
    """
    The Job ``name`` built from ``cron_job``'s template, not tied to any schedule time.

    Its labels are the template's, its annotations the template's plus
    :data:`MANUAL_INSTANTIATE_ANNOTATION` ``manual``, and the CronJob is its
    controller without blocking the CronJob's deletion. The CronJob
    controller does not count it as a run: it reports it once as
    ``UnexpectedJob`` while it runs and never deletes it for history.

    Raises:
        ValueError: if ``name`` is empty or the CronJob has no uid (was never created).
    """
    if not name:
        raise ValueError("name: must not be empty")
    template = cron_job.spec.job_template
    annotations = {MANUAL_INSTANTIATE_ANNOTATION: "manual", **template.metadata.annotations}
    meta = ObjectMeta(
        name=name,
        namespace=cron_job.metadata.namespace,
        labels=template.metadata.labels,
        annotations=FrozenDict(annotations),
        owner_references=(owner_reference_to(cron_job, block_owner_deletion=False),),
    )
    return Job(metadata=meta, spec=template.spec)


async def create_job_from_cron_job(
    client: Client, cron_job: str, name: str, *, namespace: str = "default"
) -> Job:
    """
    Create the Job ``name`` from the CronJob ``cron_job`` (read from ``client``); returns it.

    Raises:
        reconcile.NotFoundError: if the CronJob does not exist.
        reconcile.AlreadyExistsError: if a Job ``name`` exists already.
    """
    source = await client.get(CronJob, cron_job, namespace=namespace)
    return await client.create(job_from_cron_job(source, name))
