"""
Validation of the workload kinds, with Kubernetes' field paths and reasons.

Each ``validate_<kind>(new, old, op)`` is an admission validator: it returns
every problem it finds as a :class:`reconcile.FieldError` (``spec.replicas:
Invalid value: -1: must be greater than or equal to 0``), mirroring
``pkg/apis/{core,apps,batch}/validation``. Validators see the object *after*
defaulting, so they check the server's rules, not the user's omissions.

Contract:

* ``DELETE`` is never refused;
* on ``UPDATE`` with an unchanged ``spec`` (a status or metadata write) the
  spec is not checked again: it was admitted when it was written;
* immutable fields are compared on ``UPDATE`` only: a workload's
  ``spec.selector``; a Job's ``spec.selector``, ``spec.completions``,
  ``spec.completionMode`` and ``spec.template`` (the template may change while
  the Job is suspended); a Pod's spec except container images,
  ``activeDeadlineSeconds``, ``tolerations`` and an unset ``nodeName``
  (binding). The old object is defaulted before comparing, so an object stored
  before admission was installed is not refused for fields defaulting filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controllers.api._podvalidation import (
    FORBIDDEN,
    IMMUTABLE,
    PERCENT,
    REQUIRED,
    Errors,
    at_least,
    pod_spec,
    selector_value,
    spec_unchanged,
    validate_pod,
)
from controllers.api.apps import (
    DaemonSet,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentStrategyType,
    ReplicaSet,
)
from controllers.api.batch import (
    CompletionMode,
    CronJob,
    Job,
    JobSpec,
    PodFailurePolicy,
    PodFailurePolicyOnExitCodesOperator,
)
from controllers.api.defaults import default_job
from controllers.api.pod import PodTemplateSpec
from reconcile import FieldError, LabelSelector, Operation

__all__ = [
    "validate_cron_job",
    "validate_daemon_set",
    "validate_deployment",
    "validate_job",
    "validate_pod",
    "validate_replica_set",
]


# -- workloads -----------------------------------------------------------------------------


def _selector(
    errors: Errors,
    selector: LabelSelector | None,
    labels: Mapping[str, str],
    *,
    kind: str,
    required: bool = True,
    path: str = "spec",
) -> None:
    """The selector is set, not empty, and selects the template's labels."""
    if selector is None:
        if required:
            errors.append(FieldError(field=f"{path}.selector", type=REQUIRED))
        return
    if selector.is_empty:
        errors.append(
            FieldError(
                field=f"{path}.selector",
                value=selector_value(selector),
                detail=f"empty selector is invalid for {kind}",
            )
        )
    elif not selector.matches(labels):
        errors.append(
            FieldError(
                field=f"{path}.template.metadata.labels",
                value=dict(labels),
                detail="selector does not match template labels",
            )
        )


def _template(
    errors: Errors, template: PodTemplateSpec, path: str, restart: tuple[str, ...]
) -> None:
    pod_spec(errors, f"{path}.spec", template.spec, restart)


def _immutable(errors: Errors, path: str, new: object, old: object, value: object) -> None:
    if new != old:
        errors.append(FieldError(field=path, value=value, detail=IMMUTABLE))


def _immutable_selector(errors: Errors, new: LabelSelector | None, old: Any) -> None:
    value = None if new is None else selector_value(new)
    _immutable(errors, "spec.selector", new, old.spec.selector, value)


def _int_or_percent(errors: Errors, path: str, value: int | str | None) -> None:
    """``maxSurge``/``maxUnavailable``: a count >= 0 or a ``"N%"`` string."""
    if isinstance(value, int):
        at_least(errors, path, value, 0)
    elif isinstance(value, str) and not PERCENT.fullmatch(value):
        errors.append(
            FieldError(
                field=path,
                value=value,
                detail="a valid percent string must be a numeric string followed by an "
                "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            )
        )


def _is_zero(value: int | str | None) -> bool:
    if isinstance(value, str):
        return bool(PERCENT.fullmatch(value)) and int(value[:-1]) == 0
    return not value


def _rolling_bounds(
    errors: Errors, path: str, max_unavailable: int | str | None, max_surge: int | str | None
) -> None:
    _int_or_percent(errors, f"{path}.maxUnavailable", max_unavailable)
    _int_or_percent(errors, f"{path}.maxSurge", max_surge)
    percent = isinstance(max_unavailable, str) and PERCENT.fullmatch(max_unavailable)
    if percent and int(str(max_unavailable)[:-1]) > 100:
        errors.append(
            FieldError(
                field=f"{path}.maxUnavailable",
                value=max_unavailable,
                detail="must not be greater than 100%",
            )
        )
    if _is_zero(max_unavailable) and _is_zero(max_surge):
        errors.append(
            FieldError(
                field=f"{path}.maxUnavailable",
                value=max_unavailable,
                detail="may not be 0 when `maxSurge` is 0",
            )
        )


def validate_deployment(new: Deployment, old: Deployment | None, op: Operation) -> Errors:
    """Counts, selector, strategy bounds, an ``Always`` template; the selector is immutable."""
    if spec_unchanged(new, old, op):
        return []
    errors: Errors = []
    spec = new.spec
    at_least(errors, "spec.replicas", spec.replicas, 0)
    at_least(errors, "spec.minReadySeconds", spec.min_ready_seconds, 0)
    at_least(errors, "spec.revisionHistoryLimit", spec.revision_history_limit, 0)
    deadline = spec.progress_deadline_seconds
    if deadline is not None and deadline <= spec.min_ready_seconds:
        errors.append(
            FieldError(
                field="spec.progressDeadlineSeconds",
                value=deadline,
                detail="must be greater than minReadySeconds",
            )
        )
    _selector(errors, spec.selector, spec.template.metadata.labels, kind="deployment")
    _template(errors, spec.template, "spec.template", ("Always",))
    strategy = spec.strategy
    rolling = strategy.rolling_update
    if strategy.type is DeploymentStrategyType.RECREATE and rolling is not None:
        errors.append(
            FieldError(
                field="spec.strategy.rollingUpdate",
                type=FORBIDDEN,
                detail="may not be specified when strategy `type` is 'Recreate'",
            )
        )
    elif rolling is not None:
        path = "spec.strategy.rollingUpdate"
        _rolling_bounds(errors, path, rolling.max_unavailable, rolling.max_surge)
    if old is not None:
        _immutable_selector(errors, spec.selector, old)
    return errors


def validate_replica_set(new: ReplicaSet, old: ReplicaSet | None, op: Operation) -> Errors:
    """Counts, selector and an ``Always`` template; the selector is immutable."""
    if spec_unchanged(new, old, op):
        return []
    errors: Errors = []
    spec = new.spec
    at_least(errors, "spec.replicas", spec.replicas, 0)
    at_least(errors, "spec.minReadySeconds", spec.min_ready_seconds, 0)
    _selector(errors, spec.selector, spec.template.metadata.labels, kind="replicaset")
    _template(errors, spec.template, "spec.template", ("Always",))
    if old is not None:
        _immutable_selector(errors, spec.selector, old)
    return errors


def validate_daemon_set(new: DaemonSet, old: DaemonSet | None, op: Operation) -> Errors:
    """Selector, update strategy bounds and an ``Always`` template; the selector is immutable."""
    if spec_unchanged(new, old, op):
        return []
    errors: Errors = []
    spec = new.spec
    at_least(errors, "spec.minReadySeconds", spec.min_ready_seconds, 0)
    at_least(errors, "spec.revisionHistoryLimit", spec.revision_history_limit, 0)
    _selector(errors, spec.selector, spec.template.metadata.labels, kind="daemonset")
    _template(errors, spec.template, "spec.template", ("Always",))
    strategy = spec.update_strategy
    rolling = strategy.rolling_update
    if strategy.type is DaemonSetUpdateStrategyType.ROLLING_UPDATE and rolling is not None:
        path = "spec.updateStrategy.rollingUpdate"
        _rolling_bounds(errors, path, rolling.max_unavailable, rolling.max_surge)
    if old is not None:
        _immutable_selector(errors, spec.selector, old)
    return errors


def _job_spec(errors: Errors, spec: JobSpec, path: str) -> None:
    at_least(errors, f"{path}.parallelism", spec.parallelism, 0)
    at_least(errors, f"{path}.completions", spec.completions, 0)
    at_least(errors, f"{path}.backoffLimit", spec.backoff_limit, 0)
    at_least(errors, f"{path}.activeDeadlineSeconds", spec.active_deadline_seconds, 1)
    labels = spec.template.metadata.labels
    _selector(errors, spec.selector, labels, kind="job", required=False, path=path)
    _template(errors, spec.template, f"{path}.template", ("OnFailure", "Never"))
    if spec.completion_mode is CompletionMode.INDEXED and spec.completions is None:
        errors.append(
            FieldError(
                field=f"{path}.completions", type=REQUIRED, detail="when completion mode is Indexed"
            )
        )
    indexed = spec.completion_mode is CompletionMode.INDEXED
    if spec.backoff_limit_per_index is not None and not indexed:
        errors.append(
            FieldError(
                field=f"{path}.backoffLimitPerIndex",
                value=spec.backoff_limit_per_index,
                detail="requires indexed completion mode",
            )
        )
    if spec.max_failed_indexes is not None and spec.backoff_limit_per_index is None:
        errors.append(
            FieldError(
                field=f"{path}.maxFailedIndexes",
                value=spec.max_failed_indexes,
                detail="requires backoffLimitPerIndex",
            )
        )
    if spec.pod_failure_policy is not None:
        restart = spec.template.spec.restart_policy
        _pod_failure_policy(errors, spec.pod_failure_policy, restart, path)


def _pod_failure_policy(errors: Errors, policy: PodFailurePolicy, restart: str, path: str) -> None:
    """Kubernetes' rules: ``Never`` pods, one requirement per rule, no exit code 0 with ``In``."""
    if restart != "Never":
        errors.append(
            FieldError(
                field=f"{path}.template.spec.restartPolicy",
                value=restart,
                detail='only "Never" is supported when podFailurePolicy is specified',
            )
        )
    for i, rule in enumerate(policy.rules):
        where = f"{path}.podFailurePolicy.rules[{i}]"
        if (rule.on_exit_codes is None) == (not rule.on_pod_conditions):
            errors.append(
                FieldError(
                    field=where,
                    value="<rule>",
                    detail="specifying one of OnExitCodes and OnPodConditions is required",
                )
            )
        codes = rule.on_exit_codes
        if codes is not None and codes.operator is PodFailurePolicyOnExitCodesOperator.IN:
            for j, code in enumerate(codes.values):
                if code == 0:
                    errors.append(
                        FieldError(
                            field=f"{where}.onExitCodes.values[{j}]",
                            value=0,
                            detail="must not be 0 for the In operator",
                        )
                    )


def validate_job(new: Job, old: Job | None, op: Operation) -> Errors:
    """
    Counts and an ``OnFailure``/``Never`` template; ``completions`` for Indexed Jobs.

    ``backoffLimitPerIndex`` needs an Indexed Job and ``maxFailedIndexes``
    needs ``backoffLimitPerIndex``; a ``podFailurePolicy`` needs
    ``restartPolicy: Never``, one requirement per rule and no exit code 0
    under ``In``. Immutable: ``spec.selector``, ``spec.completions``, ``spec.completionMode``
    and ``spec.template`` (unless the Job was suspended).
    """
    if spec_unchanged(new, old, op):
        return []
    errors: Errors = []
    spec = new.spec
    _job_spec(errors, spec, "spec")
    if old is not None:
        before = default_job(old).spec
        _immutable_selector(errors, spec.selector, old)
        _immutable(
            errors, "spec.completions", spec.completions, before.completions, spec.completions
        )
        mode = spec.completion_mode
        _immutable(errors, "spec.completionMode", mode, before.completion_mode, mode and mode.value)
        if not before.suspend and spec.template != before.template:
            errors.append(
                FieldError(field="spec.template", value="<pod template>", detail=IMMUTABLE)
            )
    return errors


def validate_cron_job(new: CronJob, old: CronJob | None, op: Operation) -> Errors:
    """A parseable schedule and time zone, history limits and a valid Job template."""
    if spec_unchanged(new, old, op):
        return []
    errors: Errors = []
    spec = new.spec
    if not spec.schedule.strip():
        errors.append(FieldError(field="spec.schedule", type=REQUIRED))
    else:
        # Imported here: the CronJob controller owns schedule parsing, and it imports this package.
        from controllers.cronjob.schedule import schedule_errors  # noqa: PLC0415

        errors.extend(
            FieldError(field=e.field, value=e.value, detail=e.detail)
            for e in schedule_errors(spec.schedule, spec.time_zone)
        )
    at_least(errors, "spec.startingDeadlineSeconds", spec.starting_deadline_seconds, 0)
    at_least(errors, "spec.successfulJobsHistoryLimit", spec.successful_jobs_history_limit, 0)
    at_least(errors, "spec.failedJobsHistoryLimit", spec.failed_jobs_history_limit, 0)
    _job_spec(errors, spec.job_template.spec, "spec.jobTemplate.spec")
    return errors
