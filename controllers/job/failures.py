"""
How a Job judges a failed pod: failure, restarts and the pod failure policy. Pure.

Kubernetes: ``isPodFailed`` and ``pastBackoffLimitOnFailure`` in
``job_controller.go``, ``matchPodFailurePolicy`` in ``pod_failure_policy.go``
(pkg/controller/job).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controllers.api.batch import (
    Job,
    PodFailurePolicy,
    PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern,
    PodReplacementPolicy,
)
from controllers.api.container import ContainerStatus
from controllers.api.core import Pod

__all__ = [
    "PolicyMatch",
    "backoff_limit",
    "is_pod_failed",
    "match_pod_failure_policy",
    "past_backoff_limit_on_failure",
    "replaces_only_failed",
    "restarts",
]


def backoff_limit(job: Job) -> int:
    """``spec.backoffLimit``, defaulted to 6 as the API server defaults it."""
    return 6 if job.spec.backoff_limit is None else job.spec.backoff_limit


def replaces_only_failed(job: Job) -> bool:
    """
    Whether a pod being deleted is replaced only once it has failed.

    So with ``podReplacementPolicy: Failed``, and always with a pod failure
    policy (whose rules read the final exit codes). Kubernetes: ``onlyReplaceFailedPods``.
    """
    return (
        job.spec.pod_replacement_policy is PodReplacementPolicy.FAILED
        or job.spec.pod_failure_policy is not None
    )


def is_pod_failed(pod: Pod, job: Job) -> bool:
    """
    Whether ``pod`` counts as a failure of ``job``.

    A ``Failed`` pod does; so does a pod being deleted that has not
    succeeded (it may never reach ``Failed``), unless the Job replaces only
    failed pods (``podReplacementPolicy: Failed``). Kubernetes: ``isPodFailed``.
    """
    phase = pod.status.phase
    if phase == "Failed":
        return True
    if replaces_only_failed(job):
        return False
    return pod.metadata.deletion_timestamp is not None and phase != "Succeeded"


def restarts(pods: Iterable[Pod]) -> int:
    """The container restarts (init and regular) of the ``Pending`` and ``Running`` pods."""
    total = 0
    for pod in pods:
        if pod.status.phase in ("Pending", "Running"):
            for status in (*pod.status.init_container_statuses, *pod.status.container_statuses):
                total += status.restart_count
    return total


def past_backoff_limit_on_failure(job: Job, pods: Iterable[Pod]) -> bool:
    """
    Whether an ``OnFailure`` Job's container restarts reached its backoff limit.

    The restarts of the pods still pending or running count (:func:`restarts`):
    with a limit of 0 any restart does, else ``restarts >= limit``. Always
    false for ``restartPolicy: Never`` (failed pods count instead).
    Kubernetes: ``pastBackoffLimitOnFailure``.
    """
    if job.spec.template.spec.restart_policy != "OnFailure":
        return False
    total = restarts(pods)
    limit = backoff_limit(job)
    return total > 0 if limit == 0 else total >= limit


@attrs.frozen(kw_only=True)
class PolicyMatch:
    """
    What the pod failure policy decides for one failed pod.

    Attributes:
        action: The matching rule's action; ``None`` when no rule matches.
        counts: Whether the failure counts towards ``backoffLimit`` (not for ``Ignore``).
        message: For ``FailJob``, the reason the Job fails.
    """

    action: PodFailurePolicyAction | None = None
    counts: bool = True
    message: str | None = None


_NO_MATCH = PolicyMatch()


def _exit_code_matches(
    statuses: Iterable[ContainerStatus], requirement: PodFailurePolicyOnExitCodesRequirement
) -> ContainerStatus | None:
    for status in statuses:
        terminated = status.state.terminated
        if terminated is None or terminated.exit_code == 0:
            continue  # exit code 0 never matches, whatever the operator
        if requirement.container_name not in (None, status.name):
            continue
        inside = terminated.exit_code in requirement.values
        if inside == (requirement.operator is PodFailurePolicyOnExitCodesOperator.IN):
            return status
    return None


def _condition_matches(
    pod: Pod, patterns: Iterable[PodFailurePolicyOnPodConditionsPattern]
) -> str | None:
    for condition in pod.status.conditions:
        for pattern in patterns:
            wanted = "True" if pattern.status is None else pattern.status.value
            if condition.type == pattern.type and condition.status == wanted:
                return condition.type
    return None


def match_pod_failure_policy(policy: PodFailurePolicy | None, pod: Pod) -> PolicyMatch:
    """
    The first rule of ``policy`` that matches the failed ``pod``, in order.

    ``onExitCodes`` looks at terminated containers with a non-zero exit code
    (regular containers first, then init containers), optionally only the
    named one; ``onPodConditions`` at the pod's conditions (pattern status
    defaults to ``True``). ``FailJob`` carries Kubernetes' message
    ("Container C for pod NS/P failed with exit code N matching FailJob rule
    at index I" or "Pod NS/P has condition T matching FailJob rule at index
    I"); ``Ignore`` does not count. Kubernetes: ``matchPodFailurePolicy``.
    """
    if policy is None:
        return _NO_MATCH
    meta = pod.metadata
    for index, rule in enumerate(policy.rules):
        message: str | None = None
        if rule.on_exit_codes is not None:
            status = _exit_code_matches(pod.status.container_statuses, rule.on_exit_codes)
            if status is None:
                status = _exit_code_matches(pod.status.init_container_statuses, rule.on_exit_codes)
            if status is None:
                continue
            code = status.state.terminated.exit_code if status.state.terminated else 0
            message = (
                f"Container {status.name} for pod {meta.namespace}/{meta.name} failed with "
                f"exit code {code} matching {rule.action.value} rule at index {index}"
            )
        elif rule.on_pod_conditions:
            found = _condition_matches(pod, rule.on_pod_conditions)
            if found is None:
                continue
            message = (
                f"Pod {meta.namespace}/{meta.name} has condition {found} matching "
                f"{rule.action.value} rule at index {index}"
            )
        else:
            continue
        if rule.action is PodFailurePolicyAction.IGNORE:
            return PolicyMatch(action=rule.action, counts=False)
        if rule.action is PodFailurePolicyAction.FAIL_JOB:
            return PolicyMatch(action=rule.action, message=message)
        return PolicyMatch(action=rule.action)
    return _NO_MATCH
