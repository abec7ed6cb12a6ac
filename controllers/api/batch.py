"""
The ``batch/v1`` kinds: Job and CronJob.

Field for field as ``k8s.io/api/batch/v1``, declared the way
:mod:`controllers.api.apps` declares its kinds: Go pointers (``parallelism``,
``completions``, ``backoffLimit``, ``suspend``, ``ttlSecondsAfterFinished``,
``failedIndexes``, ...) are ``X | None = None`` so that "unset" survives a round
trip and defaulting (later) can fill it in; enumerated strings are enums
carrying their JSON value; a Job's conditions have their own shape
(:class:`JobCondition`, with ``lastProbeTime``), and their ``metav1.Time``
values are written as ``null`` when unset, as Go writes them.
"""

# The field helpers of ``_fields`` return ``attrs.field`` declarations, not shared
# mutable defaults, which RUF009 cannot tell apart.
# ruff: noqa: RUF009

from __future__ import annotations

import datetime as dt
import enum

import attrs

from controllers.api.common import (
    count,
    items,
    nested,
    optional,
    optional_count,
    optional_time,
    required,
)
from controllers.api.core import PodTemplateSpec
from reconcile import (
    ConditionStatus,
    LabelSelector,
    ObjectMeta,
    ObjectReference,
    Resource,
    Uid,
    kind,
)

__all__ = [
    "CompletionMode",
    "ConcurrencyPolicy",
    "CronJob",
    "CronJobSpec",
    "CronJobStatus",
    "Job",
    "JobCondition",
    "JobSpec",
    "JobStatus",
    "JobTemplateSpec",
    "PodFailurePolicy",
    "PodFailurePolicyAction",
    "PodFailurePolicyOnExitCodesOperator",
    "PodFailurePolicyOnExitCodesRequirement",
    "PodFailurePolicyOnPodConditionsPattern",
    "PodFailurePolicyRule",
    "PodReplacementPolicy",
    "SuccessPolicy",
    "SuccessPolicyRule",
    "UncountedTerminatedPods",
]

GROUP = "batch"
VERSION = "v1"

_uids = attrs.validators.deep_iterable(
    attrs.validators.instance_of(str), attrs.validators.instance_of(tuple)
)


# -- Job spec ---------------------------------------------------------------------------


class CompletionMode(enum.Enum):
    """How a Job counts completions, with its JSON value."""

    NON_INDEXED = "NonIndexed"
    INDEXED = "Indexed"


class PodReplacementPolicy(enum.Enum):
    """When a Job creates a replacement pod, with its JSON value."""

    TERMINATING_OR_FAILED = "TerminatingOrFailed"
    FAILED = "Failed"


class PodFailurePolicyAction(enum.Enum):
    """What a matching pod failure does to its Job, with its JSON value."""

    FAIL_JOB = "FailJob"
    FAIL_INDEX = "FailIndex"
    IGNORE = "Ignore"
    COUNT = "Count"


class PodFailurePolicyOnExitCodesOperator(enum.Enum):
    """How exit codes are matched against ``values``, with its JSON value."""

    IN = "In"
    NOT_IN = "NotIn"


@attrs.frozen(kw_only=True)
class PodFailurePolicyOnExitCodesRequirement:
    """
    Matches a failed pod by its containers' exit codes.

    Attributes:
        container_name: Only this container's exit code counts; ``None`` means any.
        operator: Whether the exit code must be among ``values`` or not.
        values: The exit codes (a set; ``0`` is not allowed with ``In``).
    """

    container_name: str | None = optional(str)
    operator: PodFailurePolicyOnExitCodesOperator = required(PodFailurePolicyOnExitCodesOperator)
    values: tuple[int, ...] = items(int)


@attrs.frozen(kw_only=True)
class PodFailurePolicyOnPodConditionsPattern:
    """Matches a failed pod by one of its conditions (``DisruptionTarget``, say)."""

    type: str = required(str)
    status: ConditionStatus | None = optional(ConditionStatus)


@attrs.frozen(kw_only=True)
class PodFailurePolicyRule:
    """One rule: an action, taken when the exit codes or a pod condition match."""

    action: PodFailurePolicyAction = required(PodFailurePolicyAction)
    on_exit_codes: PodFailurePolicyOnExitCodesRequirement | None = optional(
        PodFailurePolicyOnExitCodesRequirement
    )
    on_pod_conditions: tuple[PodFailurePolicyOnPodConditionsPattern, ...] = items(
        PodFailurePolicyOnPodConditionsPattern
    )


@attrs.frozen(kw_only=True)
class PodFailurePolicy:
    """``spec.podFailurePolicy``: rules checked in order; the first match decides."""

    rules: tuple[PodFailurePolicyRule, ...] = items(PodFailurePolicyRule)


@attrs.frozen(kw_only=True)
class SuccessPolicyRule:
    """One way for an Indexed Job to succeed early: these indexes, or this many of them."""

    succeeded_indexes: str | None = optional(str)
    succeeded_count: int | None = optional_count()


@attrs.frozen(kw_only=True)
class SuccessPolicy:
    """``spec.successPolicy``: the Job succeeds once any rule is met."""

    rules: tuple[SuccessPolicyRule, ...] = items(SuccessPolicyRule)


@attrs.frozen(kw_only=True)
class JobSpec:
    """
    Desired state of a Job. Pointers are ``None`` when unset.

    Attributes:
        parallelism: Most pods running at once (defaulted to 1).
        completions: Successful pods needed; ``None`` means "any one success".
        active_deadline_seconds: Wall-clock limit for the Job, from its start.
        pod_failure_policy: Rules deciding what a pod failure does.
        success_policy: Early success for Indexed Jobs.
        backoff_limit: Retries before the Job fails (defaulted to 6).
        backoff_limit_per_index: Retries per index, for Indexed Jobs.
        max_failed_indexes: Failed indexes tolerated, with ``backoff_limit_per_index``.
        selector: Which pods the Job owns (generated unless ``manual_selector``).
        manual_selector: Whether ``selector`` was written by the user.
        template: The pod to run.
        ttl_seconds_after_finished: Delete the Job this long after it finishes.
        completion_mode: ``NonIndexed`` (defaulted) or ``Indexed``.
        suspend: Whether the Job is suspended (no pods run).
        pod_replacement_policy: When a replacement pod is created.
        managed_by: The controller that syncs the Job, if not the built-in one.
    """

    parallelism: int | None = optional_count()
    completions: int | None = optional_count()
    active_deadline_seconds: int | None = optional_count()
    pod_failure_policy: PodFailurePolicy | None = optional(PodFailurePolicy)
    success_policy: SuccessPolicy | None = optional(SuccessPolicy)
    backoff_limit: int | None = optional_count()
    backoff_limit_per_index: int | None = optional_count()
    max_failed_indexes: int | None = optional_count()
    selector: LabelSelector | None = optional(LabelSelector)
    manual_selector: bool | None = optional(bool)
    template: PodTemplateSpec = nested(PodTemplateSpec)
    ttl_seconds_after_finished: int | None = optional_count()
    completion_mode: CompletionMode | None = optional(CompletionMode)
    suspend: bool | None = optional(bool)
    pod_replacement_policy: PodReplacementPolicy | None = optional(PodReplacementPolicy)
    managed_by: str | None = optional(str)


# -- Job status -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JobCondition:
    """
    One ``JobCondition`` (``Complete``, ``Failed``, ``Suspended``, ``FailureTarget``, ...).

    ``last_probe_time`` is when the condition was last checked and
    ``last_transition_time`` when its status last changed.
    """

    type: str = required(str)
    status: ConditionStatus = required(ConditionStatus)
    last_probe_time: dt.datetime | None = optional_time(always=True)
    last_transition_time: dt.datetime | None = optional_time(always=True)
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class UncountedTerminatedPods:
    """UIDs of finished pods whose outcome is not yet counted in the status."""

    succeeded: tuple[Uid, ...] = attrs.field(default=(), validator=_uids)
    failed: tuple[Uid, ...] = attrs.field(default=(), validator=_uids)


@attrs.frozen(kw_only=True)
class JobStatus:
    """
    Observed state of a Job, as the Job controller writes it.

    Attributes:
        conditions: The latest observations.
        start_time: When the Job controller started the Job.
        completion_time: When the Job completed (only set on success).
        active: Pods pending or running.
        succeeded: Pods that succeeded.
        failed: Pods that failed.
        terminating: Pods terminating; ``None`` when not tracked.
        ready: Active pods that are ready; ``None`` when not tracked.
        completed_indexes: Succeeded indexes of an Indexed Job (``"1,3-5,7"``).
        failed_indexes: Failed indexes, with ``backoffLimitPerIndex``; ``None`` when not tracked.
        uncounted_terminated_pods: Finished pods not yet counted above.
    """

    conditions: tuple[JobCondition, ...] = items(JobCondition)
    start_time: dt.datetime | None = optional_time()
    completion_time: dt.datetime | None = optional_time()
    active: int = count()
    succeeded: int = count()
    failed: int = count()
    terminating: int | None = optional_count()
    ready: int | None = optional_count()
    completed_indexes: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    failed_indexes: str | None = optional(str)
    uncounted_terminated_pods: UncountedTerminatedPods | None = optional(UncountedTerminatedPods)


@kind(group=GROUP, version=VERSION, kind="Job")
@attrs.frozen(kw_only=True)
class Job(Resource):
    """A ``batch/v1`` Job: runs pods until enough of them succeed."""

    spec: JobSpec = nested(JobSpec)
    status: JobStatus = nested(JobStatus)


# -- CronJob ----------------------------------------------------------------------------


class ConcurrencyPolicy(enum.Enum):
    """What a CronJob does when a run is due while another is active, with its JSON value."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


@attrs.frozen(kw_only=True)
class JobTemplateSpec:
    """The Job a CronJob creates: its metadata and spec."""

    metadata: ObjectMeta = nested(ObjectMeta)
    spec: JobSpec = nested(JobSpec)


@attrs.frozen(kw_only=True)
class CronJobSpec:
    """
    Desired state of a CronJob. Pointers are ``None`` when unset.

    Attributes:
        schedule: When to run, in cron syntax (``"*/5 * * * *"``).
        time_zone: IANA time zone of ``schedule``; ``None`` means the controller's.
        starting_deadline_seconds: A run this late is skipped and counted as missed.
        concurrency_policy: ``Allow`` (defaulted), ``Forbid`` or ``Replace``.
        suspend: Whether future runs are suspended (defaulted to false).
        job_template: The Job to create for each run.
        successful_jobs_history_limit: Finished Jobs to keep (defaulted to 3).
        failed_jobs_history_limit: Failed Jobs to keep (defaulted to 1).
    """

    schedule: str = attrs.field(
        default="", validator=attrs.validators.instance_of(str), metadata={"omitempty": False}
    )
    time_zone: str | None = optional(str)
    starting_deadline_seconds: int | None = optional_count()
    concurrency_policy: ConcurrencyPolicy | None = optional(ConcurrencyPolicy)
    suspend: bool | None = optional(bool)
    job_template: JobTemplateSpec = nested(JobTemplateSpec)
    successful_jobs_history_limit: int | None = optional_count()
    failed_jobs_history_limit: int | None = optional_count()


@attrs.frozen(kw_only=True)
class CronJobStatus:
    """
    Observed state of a CronJob.

    Attributes:
        active: The Jobs of this CronJob that are running.
        last_schedule_time: When a Job was last scheduled.
        last_successful_time: When a Job last completed successfully.
    """

    active: tuple[ObjectReference, ...] = items(ObjectReference)
    last_schedule_time: dt.datetime | None = optional_time()
    last_successful_time: dt.datetime | None = optional_time()


@kind(group=GROUP, version=VERSION, kind="CronJob")
@attrs.frozen(kw_only=True)
class CronJob(Resource):
    """A ``batch/v1`` CronJob: creates a Job on a schedule."""

    spec: CronJobSpec = nested(CronJobSpec)
    status: CronJobStatus = nested(CronJobStatus)
