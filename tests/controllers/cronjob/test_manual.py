"""Running a CronJob's Job by hand (``kubectl create job --from=cronjob/NAME``)."""

from __future__ import annotations

import pytest

from controllers.cronjob import MANUAL_INSTANTIATE_ANNOTATION, job_from_cron_job
from reconcile import controller_of
from tests.controllers.cronjob.builders import CRON_UID, cron_job


def test_manual_job_copies_the_template_and_is_controlled() -> None:
    """The Job has the template's labels, annotations and spec, and the CronJob as controller."""
    cj = cron_job()
    job = job_from_cron_job(cj, "tick-now")
    assert ("tick-now", "default") == (job.metadata.name, job.metadata.namespace)
    assert {"app": "tick"} == dict(job.metadata.labels)
    assert {MANUAL_INSTANTIATE_ANNOTATION: "manual", "team": "batch"} == dict(
        job.metadata.annotations
    )
    assert cj.spec.job_template.spec == job.spec
    owner = controller_of(job.metadata)
    assert owner is not None
    assert (CRON_UID, False) == (owner.uid, owner.block_owner_deletion)


def test_manual_job_needs_a_name() -> None:
    """An empty name is refused, naming the argument."""
    with pytest.raises(ValueError, match="name: must not be empty"):
        job_from_cron_job(cron_job(), "")
