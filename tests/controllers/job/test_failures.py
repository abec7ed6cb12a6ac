"""Failure judgement: failed pods, OnFailure restarts, the pod failure policy."""

from __future__ import annotations

import attrs

from controllers.api.batch import (
    PodFailurePolicy,
    PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule,
    PodReplacementPolicy,
)
from controllers.api.pod import PodCondition
from controllers.job import is_pod_failed, match_pod_failure_policy, past_backoff_limit_on_failure
from reconcile import ConditionStatus
from tests.controllers.job.builders import job, pod

IN = PodFailurePolicyOnExitCodesOperator.IN
NOT_IN = PodFailurePolicyOnExitCodesOperator.NOT_IN


def exit_rule(
    action: PodFailurePolicyAction,
    *values: int,
    operator: PodFailurePolicyOnExitCodesOperator = IN,
    container: str | None = None,
) -> PodFailurePolicyRule:
    return PodFailurePolicyRule(
        action=action,
        on_exit_codes=PodFailurePolicyOnExitCodesRequirement(
            container_name=container, operator=operator, values=values
        ),
    )


def test_a_deleted_unfinished_pod_counts_as_failed_unless_only_failed_pods_are_replaced() -> None:
    """Terminating pods are failures by default; with podReplacementPolicy Failed they are not."""
    j = job()
    p = pod(j, "a", deleting=5)
    assert is_pod_failed(p, j)
    strict = attrs.evolve(
        j, spec=attrs.evolve(j.spec, pod_replacement_policy=PodReplacementPolicy.FAILED)
    )
    assert not is_pod_failed(p, strict)
    assert not is_pod_failed(pod(j, "b", phase="Succeeded", exit_code=0, deleting=5), j)


def test_on_failure_counts_restarts_of_running_pods_against_the_limit() -> None:
    """OnFailure: Σ restarts of pending/running pods >= backoffLimit; limit 0 means any restart."""
    j = job(restart_policy="OnFailure", backoff_limit=3)
    assert not past_backoff_limit_on_failure(j, [pod(j, "a", restarts=1), pod(j, "b", restarts=1)])
    assert past_backoff_limit_on_failure(j, [pod(j, "a", restarts=2), pod(j, "b", restarts=1)])
    finished = pod(j, "c", phase="Failed", exit_code=1, restarts=5)
    assert not past_backoff_limit_on_failure(j, [finished])
    zero = job(restart_policy="OnFailure", backoff_limit=0)
    assert past_backoff_limit_on_failure(zero, [pod(zero, "a", restarts=1)])
    never = job(restart_policy="Never", backoff_limit=0)
    assert not past_backoff_limit_on_failure(never, [pod(never, "a", restarts=9)])


def test_fail_job_rule_matches_the_exit_code_of_the_named_container() -> None:
    """FailJob on 42 in container main, with Kubernetes' message."""
    j = job()
    policy = PodFailurePolicy(
        rules=(exit_rule(PodFailurePolicyAction.FAIL_JOB, 42, container="main"),)
    )
    p = pod(j, "a", phase="Failed", exit_code=42)
    match = match_pod_failure_policy(policy, p)
    assert PodFailurePolicyAction.FAIL_JOB == match.action
    assert (
        "Container main for pod default/a failed with exit code 42 matching FailJob rule at index 0"
        == match.message
    )
    other = PodFailurePolicy(rules=(exit_rule(PodFailurePolicyAction.FAIL_JOB, 42, container="x"),))
    assert match_pod_failure_policy(other, p).action is None


def test_not_in_never_matches_exit_code_zero() -> None:
    """NotIn [1] matches 2 but not 0: a zero exit code never matches."""
    j = job()
    policy = PodFailurePolicy(rules=(exit_rule(PodFailurePolicyAction.IGNORE, 1, operator=NOT_IN),))
    assert not match_pod_failure_policy(policy, pod(j, "a", phase="Failed", exit_code=2)).counts
    assert match_pod_failure_policy(policy, pod(j, "b", phase="Failed", exit_code=0)).action is None
    assert match_pod_failure_policy(policy, pod(j, "c", phase="Failed", exit_code=1)).counts


def test_first_matching_rule_wins_and_ignore_does_not_count() -> None:
    """Rules are checked in order; Ignore on DisruptionTarget; no match counts."""
    j = job()
    disrupted = PodCondition(type="DisruptionTarget", status="True")
    policy = PodFailurePolicy(
        rules=(
            PodFailurePolicyRule(
                action=PodFailurePolicyAction.IGNORE,
                on_pod_conditions=(
                    PodFailurePolicyOnPodConditionsPattern(type="DisruptionTarget"),
                ),
            ),
            exit_rule(PodFailurePolicyAction.FAIL_JOB, 137),
        )
    )
    evicted = pod(j, "a", phase="Failed", exit_code=137, conditions=(disrupted,))
    assert (PodFailurePolicyAction.IGNORE, False) == (
        match_pod_failure_policy(policy, evicted).action,
        match_pod_failure_policy(policy, evicted).counts,
    )
    killed = pod(j, "b", phase="Failed", exit_code=137)
    assert PodFailurePolicyAction.FAIL_JOB == match_pod_failure_policy(policy, killed).action
    plain = pod(j, "c", phase="Failed", exit_code=1)
    assert match_pod_failure_policy(policy, plain).counts
    assert match_pod_failure_policy(None, plain).action is None


def test_condition_pattern_matches_status() -> None:
    """A pattern with status False matches only a False condition, with the pod message."""
    j = job()
    pattern = PodFailurePolicyOnPodConditionsPattern(
        type="DisruptionTarget", status=ConditionStatus.FALSE
    )
    policy = PodFailurePolicy(
        rules=(
            PodFailurePolicyRule(
                action=PodFailurePolicyAction.FAIL_JOB, on_pod_conditions=(pattern,)
            ),
        )
    )
    yes = pod(
        j, "a", phase="Failed", conditions=(PodCondition(type="DisruptionTarget", status="False"),)
    )
    no = pod(
        j, "b", phase="Failed", conditions=(PodCondition(type="DisruptionTarget", status="True"),)
    )
    assert (
        "Pod default/a has condition DisruptionTarget matching FailJob rule at index 0"
        == match_pod_failure_policy(policy, yes).message
    )
    assert match_pod_failure_policy(policy, no).action is None
