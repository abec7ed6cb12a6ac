"""An Indexed Job's success policy (``success_policy.go``), pure and on the cluster."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers import Cluster, run
from controllers.api.batch import Job, SuccessPolicy, SuccessPolicyRule
from controllers.job import (
    COMPLETE,
    COMPLETION_INDEX,
    SUCCESS_CRITERIA_MET,
    find_job_condition,
    match_success_policy,
)
from tests.controllers.job.builders import job


def rules(*given_rules: SuccessPolicyRule) -> SuccessPolicy:
    return SuccessPolicy(rules=given_rules)


def test_rules_match_in_order_and_name_their_index() -> None:
    """The first met rule is reported as "Matched rules at index I"."""
    policy = rules(
        SuccessPolicyRule(succeeded_indexes="0-2"),
        SuccessPolicyRule(succeeded_count=2),
    )
    assert match_success_policy(policy, 5, {0, 1}) == "Matched rules at index 1"
    assert match_success_policy(policy, 5, {0, 1, 2}) == "Matched rules at index 0"
    assert match_success_policy(policy, 5, {4}) is None
    assert match_success_policy(None, 5, {0, 1, 2}) is None


def test_indexes_with_a_count_need_that_many_of_them() -> None:
    """succeededIndexes "1-3" with succeededCount 2: any two of 1, 2, 3."""
    policy = rules(SuccessPolicyRule(succeeded_indexes="1-3", succeeded_count=2))
    assert match_success_policy(policy, 5, {0, 1}) is None
    assert match_success_policy(policy, 5, {1, 3}) is not None


def test_malformed_or_out_of_range_index_lists_never_match() -> None:
    """A rule whose list is malformed, or lies beyond completions, is skipped."""
    assert match_success_policy(rules(SuccessPolicyRule(succeeded_indexes="x")), 5, {0}) is None
    assert match_success_policy(rules(SuccessPolicyRule(succeeded_indexes="7-9")), 5, {0}) is None


@given(st.sets(st.integers(0, 9)), st.integers(1, 10))
def test_a_count_rule_matches_exactly_when_enough_indexes_succeeded(
    done: set[int], count: int
) -> None:
    """succeededCount alone: met iff at least that many indexes succeeded."""
    met = match_success_policy(rules(SuccessPolicyRule(succeeded_count=count)), 10, done)
    assert (len(done) >= count) == (met is not None)


def test_success_policy_completes_the_job_and_stops_the_other_pods() -> None:
    """Index 0 succeeding meets the policy: SuccessCriteriaMet, others deleted, then Complete."""

    async def body(cluster: Cluster) -> None:
        j = job(completions=4, parallelism=4, indexed=True, script=None)
        policy = rules(SuccessPolicyRule(succeeded_indexes="0"))
        await cluster.api.create(attrs.evolve(j, spec=attrs.evolve(j.spec, success_policy=policy)))
        await cluster.advance(5)
        pods = cluster.list("pods")
        assert 4 == len(pods)
        first = next(p for p in pods if p.metadata.labels[COMPLETION_INDEX] == "0")
        cluster.crash_container(first.metadata.name, code=0)  # index 0 finishes successfully
        await cluster.settle()
        done = cluster.get("job", "work")
        assert isinstance(done, Job)
        criteria = find_job_condition(done.status.conditions, SUCCESS_CRITERIA_MET)
        complete = find_job_condition(done.status.conditions, COMPLETE)
        assert criteria is not None
        assert complete is not None
        assert ("SuccessPolicy", "Matched rules at index 0") == (criteria.reason, criteria.message)
        assert ("SuccessPolicy", "Matched rules at index 0") == (complete.reason, complete.message)
        assert ("0", 1, 0) == (
            done.status.completed_indexes,
            done.status.succeeded,
            done.status.active,
        )
        assert ["Succeeded"] == [
            p.status.phase for p in cluster.list("pods") if p.metadata.deletion_timestamp is None
        ]

    async def main() -> None:
        async with Cluster(nodes=2, seed=9) as cluster:
            await body(cluster)

    run(main)
