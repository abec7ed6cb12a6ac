"""The API server refuses Jobs Kubernetes refuses, naming the field."""

from __future__ import annotations

import attrs
import pytest

from controllers import Cluster, run
from controllers.api.batch import (
    Job,
    PodFailurePolicy,
    PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyRule,
)
from reconcile import InvalidError
from tests.controllers.job.builders import job


def refused(j: Job) -> list[str]:
    """The fields named by the API server's refusal of ``j``."""

    async def main() -> list[str]:
        async with Cluster(nodes=0) as cluster:
            with pytest.raises(InvalidError) as caught:
                await cluster.api.create(j)
            return [c.field for c in caught.value.causes]

    return run(main)


def exit_codes(*values: int) -> PodFailurePolicyRule:
    return PodFailurePolicyRule(
        action=PodFailurePolicyAction.FAIL_JOB,
        on_exit_codes=PodFailurePolicyOnExitCodesRequirement(
            operator=PodFailurePolicyOnExitCodesOperator.IN, values=values
        ),
    )


def test_pod_failure_policy_requires_restart_policy_never() -> None:
    """OnFailure with a podFailurePolicy is refused on the template's restartPolicy."""
    j = job(restart_policy="OnFailure", policy=PodFailurePolicy(rules=(exit_codes(42),)))
    assert ["spec.template.spec.restartPolicy"] == refused(j)


def test_exit_code_zero_is_refused_with_in() -> None:
    """In [0] is refused, naming the value."""
    j = job(policy=PodFailurePolicy(rules=(exit_codes(1, 0),)))
    assert ["spec.podFailurePolicy.rules[0].onExitCodes.values[1]"] == refused(j)


def test_a_rule_needs_exactly_one_requirement() -> None:
    """A rule with neither onExitCodes nor onPodConditions is refused."""
    rule = PodFailurePolicyRule(action=PodFailurePolicyAction.IGNORE)
    assert ["spec.podFailurePolicy.rules[0]"] == refused(
        job(policy=PodFailurePolicy(rules=(rule,)))
    )


def test_indexed_jobs_need_completions() -> None:
    """completionMode Indexed without completions is refused."""
    j = job(indexed=True, completions=None)
    j = attrs.evolve(j, spec=attrs.evolve(j.spec, completions=None))
    assert ["spec.completions"] == refused(j)


def test_per_index_limits_need_an_indexed_job() -> None:
    """backoffLimitPerIndex needs Indexed; maxFailedIndexes needs backoffLimitPerIndex."""
    j = job()
    per_index = attrs.evolve(j, spec=attrs.evolve(j.spec, backoff_limit_per_index=1))
    assert ["spec.backoffLimitPerIndex"] == refused(per_index)
    k = job(indexed=True, completions=3)
    most = attrs.evolve(k, spec=attrs.evolve(k.spec, max_failed_indexes=1))
    assert ["spec.maxFailedIndexes"] == refused(most)
