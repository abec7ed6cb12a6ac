"""kubectl's get tables of DaemonSets, Jobs and CronJobs, cell by cell."""

from __future__ import annotations

import attrs
import pytest

from controllers.api.apps import DaemonSet, DaemonSetSpec, DaemonSetStatus
from controllers.api.batch import (
    CronJob,
    CronJobSpec,
    CronJobStatus,
    Job,
    JobCondition,
    JobSpec,
    JobStatus,
    JobTemplateSpec,
)
from controllers.kubectl import (
    cron_job_table,
    daemon_set_table,
    job_completions,
    job_status,
    job_table,
)
from reconcile import ConditionStatus, FrozenDict, LabelSelector, ObjectMeta, ObjectReference
from tests.controllers.kubectl.builders import LABELS, at, template

NOW = at(600)


def _meta(name: str, *, created: float = 0.0) -> ObjectMeta:
    return ObjectMeta(name=name, namespace="default", creation_timestamp=at(created))


# -- DaemonSets ----------------------------------------------------------------------------


def _daemon_set(name: str, counts: tuple[int, int, int, int, int], **node: str) -> DaemonSet:
    desired, current, ready, updated, available = counts
    pods = template("fluentd:v5", name="fluentd")
    pods = attrs.evolve(pods, spec=attrs.evolve(pods.spec, node_selector=FrozenDict(node)))
    return DaemonSet(
        metadata=_meta(name),
        spec=DaemonSetSpec(selector=LabelSelector(match_labels=LABELS), template=pods),
        status=DaemonSetStatus(
            desired_number_scheduled=desired,
            current_number_scheduled=current,
            number_ready=ready,
            updated_number_scheduled=updated,
            number_available=available,
        ),
    )


def test_daemon_set_table_counts_node_selector_and_wide_columns() -> None:
    """DESIRED..AVAILABLE from status, the template's node selector sorted, <none> if empty."""
    daemon_sets = [
        _daemon_set("logs", (3, 3, 2, 1, 2)),
        _daemon_set("gpu", (1, 1, 1, 1, 1), zone="a", accelerator="nvidia"),
    ]
    assert (
        "NAME   DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   "
        "NODE SELECTOR               AGE\n"
        "logs   3         3         2       1            2           "
        "<none>                      10m\n"
        "gpu    1         1         1       1            1           "
        "accelerator=nvidia,zone=a   10m"
    ) == daemon_set_table(daemon_sets, now=NOW)
    wide = daemon_set_table(daemon_sets[:1], now=NOW, wide=True).split("\n")
    assert ["CONTAINERS", "IMAGES", "SELECTOR"] == wide[0].split()[-3:]
    assert ["fluentd", "fluentd:v5", "app=web"] == wide[1].split()[-3:]


# -- Jobs ----------------------------------------------------------------------------------


def _condition(type_: str, status: ConditionStatus = ConditionStatus.TRUE) -> JobCondition:
    return JobCondition(type=type_, status=status)


def _job(
    name: str = "pi",
    *,
    completions: int | None = 3,
    parallelism: int | None = None,
    succeeded: int = 0,
    started: float | None = 0.0,
    finished: float | None = None,
    conditions: tuple[JobCondition, ...] = (),
    deleted: bool = False,
) -> Job:
    meta = _meta(name)
    if deleted:
        meta = attrs.evolve(meta, deletion_timestamp=NOW)
    return Job(
        metadata=meta,
        spec=JobSpec(
            completions=completions,
            parallelism=parallelism,
            template=template("perl:5.34", name="pi"),
        ),
        status=JobStatus(
            conditions=conditions,
            start_time=None if started is None else at(started),
            completion_time=None if finished is None else at(finished),
            succeeded=succeeded,
        ),
    )


@pytest.mark.parametrize(
    ("conditions", "deleted", "expected"),
    [
        ((), False, "Running"),
        ((_condition("Complete"),), False, "Complete"),
        ((_condition("Failed"),), True, "Failed"),
        ((), True, "Terminating"),
        ((_condition("Suspended"),), False, "Suspended"),
        ((_condition("Suspended", ConditionStatus.FALSE),), False, "Running"),
        ((_condition("FailureTarget"),), False, "FailureTarget"),
        ((_condition("SuccessCriteriaMet"), _condition("Complete")), False, "Complete"),
        ((_condition("SuccessCriteriaMet"),), False, "SuccessCriteriaMet"),
    ],
)
def test_job_status_follows_kubectls_precedence(
    conditions: tuple[JobCondition, ...], deleted: bool, expected: str
) -> None:
    """Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running."""
    assert expected == job_status(_job(conditions=conditions, deleted=deleted))


@pytest.mark.parametrize(
    ("completions", "parallelism", "expected"),
    [(5, 2, "2/5"), (None, None, "2/1"), (None, 1, "2/1"), (None, 3, "2/1 of 3")],
)
def test_job_completions_of_fixed_counts_and_work_queues(
    completions: int | None, parallelism: int | None, expected: str
) -> None:
    """succeeded/completions; a work queue counts to 1, ``of N`` when N pods run in parallel."""
    job = _job(completions=completions, parallelism=parallelism, succeeded=2)
    assert expected == job_completions(job)


def test_job_table_duration_runs_to_completion_or_now() -> None:
    """DURATION: start to completion when done, start to now while running, empty before."""
    jobs = [
        _job("done", succeeded=3, started=0, finished=75, conditions=(_condition("Complete"),)),
        _job("busy", succeeded=1, started=390),
        _job("new", started=None),
    ]
    assert (
        "NAME   STATUS     COMPLETIONS   DURATION   AGE\n"
        "done   Complete   3/3           75s        10m\n"
        "busy   Running    1/3           3m30s      10m\n"
        "new    Running    0/3                      10m"
    ) == job_table(jobs, now=NOW)


def test_job_table_wide_adds_containers_images_and_selector() -> None:
    """The template's containers and images; a Job without a selector shows <none>."""
    assert (
        "NAME   STATUS    COMPLETIONS   DURATION   AGE   CONTAINERS   IMAGES      SELECTOR\n"
        "pi     Running   0/3           10m        10m   pi           perl:5.34   <none>"
    ) == job_table([_job()], now=NOW, wide=True)


# -- CronJobs ------------------------------------------------------------------------------


def _cron_job(
    name: str,
    schedule: str,
    *,
    zone: str | None = None,
    suspend: bool | None = False,
    active: int = 0,
    last: float | None = None,
) -> CronJob:
    return CronJob(
        metadata=_meta(name),
        spec=CronJobSpec(
            schedule=schedule,
            time_zone=zone,
            suspend=suspend,
            job_template=JobTemplateSpec(
                spec=JobSpec(template=template("busybox:1.28", name="hello"))
            ),
        ),
        status=CronJobStatus(
            active=tuple(ObjectReference(kind="Job", name=f"j{i}") for i in range(active)),
            last_schedule_time=None if last is None else at(last),
        ),
    )


def test_cron_job_table_schedule_zone_suspend_active_and_last_schedule() -> None:
    """TIMEZONE and LAST SCHEDULE are <none> when unset; SUSPEND is True/False or <unset>."""
    cron_jobs = [
        _cron_job("hello", "*/1 * * * *", active=1, last=540),
        _cron_job("nightly", "0 3 * * *", zone="Europe/Paris", suspend=True),
        _cron_job("raw", "@hourly", suspend=None),
    ]
    assert (
        "NAME      SCHEDULE      TIMEZONE       SUSPEND   ACTIVE   LAST SCHEDULE   AGE\n"
        "hello     */1 * * * *   <none>         False     1        60s             10m\n"
        "nightly   0 3 * * *     Europe/Paris   True      0        <none>          10m\n"
        "raw       @hourly       <none>         <unset>   0        <none>          10m"
    ) == cron_job_table(cron_jobs, now=NOW)


def test_cron_job_table_wide_shows_the_job_templates_containers() -> None:
    """Wide adds the Job template's CONTAINERS, IMAGES and SELECTOR."""
    wide = cron_job_table([_cron_job("hello", "* * * * *")], now=NOW, wide=True).split("\n")
    assert ["CONTAINERS", "IMAGES", "SELECTOR"] == wide[0].split()[-3:]
    assert ["hello", "busybox:1.28", "<none>"] == wide[1].split()[-3:]
