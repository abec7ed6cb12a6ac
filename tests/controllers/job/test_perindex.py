"""``backoffLimitPerIndex``: failures counted per index, failed indexes, their own back-off."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers import Cluster, run
from controllers.api.batch import (
    Job,
    PodFailurePolicy,
    PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyRule,
)
from controllers.api.core import Pod
from controllers.job import (
    COMPLETION_INDEX,
    FAILED,
    FAILURE_TARGET,
    find_job_condition,
    plan,
)
from controllers.job.perindex import (
    INDEX_FAILURE_COUNT,
    creatable_indexes,
    index_failure_count,
    is_index_failed,
    next_failure_counts,
)
from tests.controllers.job.builders import at, job, pod, stored

NOW = at(100)


def per_index_job(*, completions: int = 3, limit: int = 1, most: int | None = None) -> Job:
    j = stored(job(completions=completions, parallelism=completions, indexed=True))
    spec = attrs.evolve(j.spec, backoff_limit_per_index=limit, max_failed_indexes=most)
    return attrs.evolve(j, spec=spec)


def failed(j: Job, name: str, index: int, count: int, *, finished: float = 50) -> Pod:
    p = pod(j, name, phase="Failed", exit_code=1, finished=finished, index=index)
    return p.with_meta(annotations={**p.metadata.annotations, INDEX_FAILURE_COUNT: str(count)})


@given(st.integers(0, 5), st.integers(0, 5))
def test_an_index_fails_once_its_retries_are_used_up(count: int, limit: int) -> None:
    """A counted failure fails its index iff the index had already failed ``limit`` times."""
    j = per_index_job(limit=limit)
    assert (count >= limit) == is_index_failed(j, failed(j, "a", 0, count))


def test_fail_index_rule_fails_the_index_at_once() -> None:
    """FailIndex on exit code 3 fails the index whatever its count."""
    j = per_index_job(limit=5)
    rule = PodFailurePolicyRule(
        action=PodFailurePolicyAction.FAIL_INDEX,
        on_exit_codes=PodFailurePolicyOnExitCodesRequirement(
            operator=PodFailurePolicyOnExitCodesOperator.IN, values=(3,)
        ),
    )
    j = attrs.evolve(
        j, spec=attrs.evolve(j.spec, pod_failure_policy=PodFailurePolicy(rules=(rule,)))
    )
    p = pod(j, "a", phase="Failed", exit_code=3, finished=5, index=0)
    assert is_index_failed(j, p)


def test_the_replacement_carries_the_count_and_waits_its_own_backoff() -> None:
    """A failed pod (count 1) is kept until index 1's replacement (count 2) is due 20 s later."""
    j = per_index_job(limit=3)
    first = failed(j, "a", 1, 1, finished=90)
    running = [pod(j, "b", index=0), pod(j, "c", index=2)]
    waiting = plan(j, [first, *running], now=NOW)
    assert () == waiting.create
    assert waiting.requeue_after is not None
    assert 10.0 == waiting.requeue_after  # 2 failures: 20 s from 90 s, now is 100 s
    assert first not in waiting.remove_finalizers
    due = plan(j, [first, *running], now=at(110))
    assert (1,) == due.create
    assert {1: (2, 0)} == dict(due.failure_counts)
    assert (2, 0) == next_failure_counts(j, first)
    assert 1 == index_failure_count(first)
    assert ((), 10.0) == creatable_indexes((1,), {1: first}, now=NOW)


def test_failed_indexes_fail_the_job_once_every_index_is_done() -> None:
    """Index 0 failed for good, 1 and 2 succeeded: FailedIndexes "Job has failed indexes"."""
    j = per_index_job(limit=0)
    pods = [
        failed(j, "a", 0, 0),
        pod(j, "b", phase="Succeeded", exit_code=0, finished=40, index=1),
        pod(j, "c", phase="Succeeded", exit_code=0, finished=40, index=2),
    ]
    decided = plan(j, pods, now=NOW)
    target = find_job_condition(decided.status.conditions, FAILURE_TARGET)
    assert target is not None
    assert ("FailedIndexes", "Job has failed indexes") == (target.reason, target.message)
    assert "0" == decided.status.failed_indexes
    assert "1,2" == decided.status.completed_indexes


def test_too_many_failed_indexes_fail_the_job_early() -> None:
    """maxFailedIndexes 0: the first failed index fails the Job."""
    j = per_index_job(limit=0, most=0)
    decided = plan(j, [failed(j, "a", 0, 0), pod(j, "b", index=1)], now=NOW)
    target = find_job_condition(decided.status.conditions, FAILURE_TARGET)
    assert target is not None
    assert "MaxFailedIndexesExceeded" == target.reason
    assert "Job has exceeded the specified maximal number of failed indexes" == target.message


def test_each_index_gets_its_retries_on_the_cluster() -> None:
    """backoffLimitPerIndex 1, pods that always fail: two pods per index, then FailedIndexes."""

    async def body(cluster: Cluster) -> None:
        j = job(completions=3, parallelism=3, indexed=True, script="exit=1@1s")
        j = attrs.evolve(j, spec=attrs.evolve(j.spec, backoff_limit_per_index=1))
        await cluster.api.create(j)
        await cluster.settle(within=100)
        done = cluster.get("job", "work")
        assert isinstance(done, Job)
        failure = find_job_condition(done.status.conditions, FAILED)
        assert failure is not None
        assert "FailedIndexes" == failure.reason
        assert ("0-2", 6) == (done.status.failed_indexes, done.status.failed)
        created = cluster.events(done, reason="SuccessfulCreate")
        assert 6 == len(created)
        pods = cluster.list("pods")
        counts = sorted(
            (p.metadata.labels[COMPLETION_INDEX], p.metadata.annotations[INDEX_FAILURE_COUNT])
            for p in pods
        )
        assert [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1"), ("2", "0"), ("2", "1")] == counts

    async def main() -> None:
        async with Cluster(nodes=2, seed=4) as cluster:
            await body(cluster)

    run(main)
