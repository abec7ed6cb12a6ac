"""
A Job's conditions, reasons and messages, as Kubernetes writes them. Pure.

Kubernetes: the ``JobConditionType`` and ``JobReason*`` constants of
``k8s.io/api/batch/v1`` and ``newCondition`` / ``ensureJobConditionStatus``
/ ``IsJobFinished`` in pkg/controller/job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from controllers.api.batch import Job, JobCondition
from reconcile import ConditionStatus

__all__ = [
    "COMPLETE",
    "FAILED",
    "FAILURE_TARGET",
    "MESSAGES",
    "SUCCESS_CRITERIA_MET",
    "SUSPENDED",
    "Reason",
    "condition",
    "find_job_condition",
    "finished_condition",
    "finished_condition_time",
    "is_condition_true",
    "is_job_finished",
    "set_job_condition",
]

COMPLETE = "Complete"
FAILED = "Failed"
FAILURE_TARGET = "FailureTarget"
SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
SUSPENDED = "Suspended"


class Reason:
    """Condition reasons (also the event reasons of a failing Job)."""

    BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    POD_FAILURE_POLICY = "PodFailurePolicy"
    COMPLETIONS_REACHED = "CompletionsReached"
    SUCCESS_POLICY = "SuccessPolicy"
    FAILED_INDEXES = "FailedIndexes"
    MAX_FAILED_INDEXES_EXCEEDED = "MaxFailedIndexesExceeded"
    SUSPENDED = "JobSuspended"
    RESUMED = "JobResumed"


MESSAGES = {
    Reason.BACKOFF_LIMIT_EXCEEDED: "Job has reached the specified backoff limit",
    Reason.DEADLINE_EXCEEDED: "Job was active longer than specified deadline",
    Reason.COMPLETIONS_REACHED: "Reached expected number of succeeded pods",
    Reason.FAILED_INDEXES: "Job has failed indexes",
    Reason.MAX_FAILED_INDEXES_EXCEEDED: (
        "Job has exceeded the specified maximal number of failed indexes"
    ),
    Reason.SUSPENDED: "Job suspended",
    Reason.RESUMED: "Job resumed",
}
"""Kubernetes' message for each reason (``PodFailurePolicy`` messages name the pod)."""


def condition(type_: str, reason: str, message: str, *, now: dt.datetime) -> JobCondition:
    """A ``True`` condition probed and transitioned at ``now``."""
    return JobCondition(
        type=type_,
        status=ConditionStatus.TRUE,
        last_probe_time=now,
        last_transition_time=now,
        reason=reason,
        message=message,
    )


def find_job_condition(conditions: Sequence[JobCondition], type_: str) -> JobCondition | None:
    """The condition of type ``type_``, if any."""
    return next((c for c in conditions if c.type == type_), None)


def is_condition_true(conditions: Sequence[JobCondition], type_: str) -> bool:
    """Whether the first condition of ``type_`` is ``True`` (kubectl's ``hasJobCondition``)."""
    found = find_job_condition(conditions, type_)
    return found is not None and found.status is ConditionStatus.TRUE


def is_job_finished(job: Job) -> bool:
    """Whether ``job`` has ``Complete`` or ``Failed`` ``True``. Kubernetes: ``IsJobFinished``."""
    conditions = job.status.conditions
    return is_condition_true(conditions, COMPLETE) or is_condition_true(conditions, FAILED)


def finished_condition(job: Job) -> JobCondition | None:
    """The ``Complete`` or ``Failed`` condition that is ``True``, if any."""
    for found in job.status.conditions:
        if found.type in (COMPLETE, FAILED) and found.status is ConditionStatus.TRUE:
            return found
    return None


def set_job_condition(
    conditions: tuple[JobCondition, ...],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    now: dt.datetime,
) -> tuple[JobCondition, ...]:
    """
    ``conditions`` with ``type_`` set to ``status``, ``reason`` and ``message``.

    An existing condition is changed only when one of the three differs, and
    its transition time only when the status does. A missing condition is
    added only when ``True`` (an absent condition already means "not").
    Kubernetes: ``ensureJobConditionStatus``.
    """
    for i, old in enumerate(conditions):
        if old.type != type_:
            continue
        if (old.status, old.reason, old.message) == (status, reason, message):
            return conditions
        changed = attrs.evolve(
            old,
            status=status,
            reason=reason,
            message=message,
            last_probe_time=now,
            last_transition_time=now if old.status != status else old.last_transition_time,
        )
        return (*conditions[:i], changed, *conditions[i + 1 :])
    if status is not ConditionStatus.TRUE:
        return conditions
    new = JobCondition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_probe_time=now,
        last_transition_time=now,
    )
    return (*conditions, new)


def finished_condition_time(job: Job) -> dt.datetime | None:
    """When ``job`` finished: the transition time of its true ``Complete``/``Failed`` condition."""
    found = finished_condition(job)
    return None if found is None else found.last_transition_time
