"""Counting finished pods exactly once: record, release, count (``controllers.job.tracking``)."""

from __future__ import annotations

from typing import Any

import attrs

from controllers.api.batch import Job, SuccessPolicy, SuccessPolicyRule, UncountedTerminatedPods
from controllers.job import (
    COMPLETE,
    FAILED,
    FAILURE_TARGET,
    MAX_UNCOUNTED_PODS,
    SUCCESS_CRITERIA_MET,
    find_job_condition,
    plan,
    settle,
)
from reconcile import Uid
from tests.controllers.job.builders import at, job, pod, stored

NOW = at(60)


def with_status(j: Job, **changes: Any) -> Job:
    return attrs.evolve(j, status=attrs.evolve(j.status, **changes))


def test_a_finished_pod_is_recorded_before_its_finalizer_goes_and_counted_after() -> None:
    """Succeeded pod: uncounted first (succeeded unchanged), counted once released."""
    j = stored(job(completions=2, parallelism=2))
    done = pod(j, "a", phase="Succeeded", exit_code=0, finished=10)
    running = pod(j, "b")
    decided = plan(j, [done, running], now=NOW)
    assert 0 == decided.status.succeeded
    assert UncountedTerminatedPods(succeeded=(Uid("uid-a"),)) == (
        decided.status.uncounted_terminated_pods
    )
    assert [done] == list(decided.remove_finalizers)
    counted = settle(decided.status, tracked=set(), terminating=0, finish=decided.finish, now=NOW)
    assert 1 == counted.succeeded
    assert UncountedTerminatedPods() == counted.uncounted_terminated_pods


def test_a_restart_between_record_and_release_counts_the_pod_once() -> None:
    """The status recorded the pod, the finalizer is still on: it is released, not re-recorded."""
    j = stored(job(completions=3, parallelism=1))
    done = pod(j, "a", phase="Succeeded", exit_code=0, finished=10)
    recorded = with_status(
        j, uncounted_terminated_pods=UncountedTerminatedPods(succeeded=(Uid("uid-a"),))
    )
    decided = plan(recorded, [done], now=NOW)
    assert recorded.status.uncounted_terminated_pods == decided.status.uncounted_terminated_pods
    assert [done] == list(decided.remove_finalizers)
    assert 1 == len(decided.create)  # one more pod for the remaining two completions
    counted = settle(decided.status, tracked=set(), terminating=0, finish=None, now=NOW)
    assert 1 == counted.succeeded


def test_a_pending_removal_is_counted_from_the_status_not_the_stale_cache() -> None:
    """Removal issued but not yet seen: the cached finalizer is ignored and the pod counted once."""
    j = stored(job(completions=1))
    done = pod(j, "a", phase="Succeeded", exit_code=0, finished=10)
    recorded = with_status(
        j, uncounted_terminated_pods=UncountedTerminatedPods(succeeded=(Uid("uid-a"),))
    )
    decided = plan(recorded, [done], now=NOW, removing={Uid("uid-a")})
    assert 1 == decided.status.succeeded
    assert () == decided.remove_finalizers
    criteria = find_job_condition(decided.status.conditions, SUCCESS_CRITERIA_MET)
    assert criteria is not None
    assert "CompletionsReached" == criteria.reason
    final = settle(decided.status, tracked=set(), terminating=0, finish=decided.finish, now=NOW)
    complete = find_job_condition(final.conditions, COMPLETE)
    assert complete is not None
    assert NOW == final.completion_time


def test_failed_condition_waits_for_every_pod_to_be_counted_and_gone() -> None:
    """FailureTarget first; Failed only with nothing uncounted and nothing terminating."""
    j = stored(job(completions=2, parallelism=2, backoff_limit=0))
    failed = pod(j, "a", phase="Failed", exit_code=1, finished=10)
    running = pod(j, "b")
    decided = plan(j, [failed, running], now=NOW)
    target = find_job_condition(decided.status.conditions, FAILURE_TARGET)
    assert target is not None
    assert "BackoffLimitExceeded" == target.reason
    assert [running] == list(decided.delete)
    assert {"uid-a", "uid-b"} == {p.metadata.uid for p in decided.remove_finalizers}
    assert 1 == decided.terminating
    waiting = settle(decided.status, tracked=set(), terminating=1, finish=decided.finish, now=NOW)
    assert find_job_condition(waiting.conditions, FAILED) is None
    assert 2 == waiting.failed  # the running pod counts as failed once the Job fails
    done = settle(waiting, tracked=set(), terminating=0, finish=decided.finish, now=NOW)
    assert find_job_condition(done.conditions, FAILED) is not None
    assert done.completion_time is None


def test_indexed_success_of_a_completed_index_is_released_uncounted() -> None:
    """A second success of index 0 is let go; completedIndexes and succeeded stay."""
    j = stored(job(completions=2, parallelism=1, indexed=True))
    j = with_status(j, completed_indexes="0", succeeded=1)
    again = pod(j, "a", phase="Succeeded", exit_code=0, finished=10, index=0)
    decided = plan(j, [again], now=NOW)
    assert ("0", 1) == (decided.status.completed_indexes, decided.status.succeeded)
    assert [again] == list(decided.remove_finalizers)
    assert (1,) == decided.create


def test_at_most_max_uncounted_pods_are_recorded_per_sync() -> None:
    """Many finished pods: 500 recorded now, the rest by a sync requeued at once."""
    j = stored(job(completions=1_000, parallelism=1_000))
    pods = [pod(j, f"p{i}", phase="Succeeded", exit_code=0, finished=5) for i in range(600)]
    decided = plan(j, pods, now=NOW)
    uncounted = decided.status.uncounted_terminated_pods
    assert uncounted is not None
    assert MAX_UNCOUNTED_PODS == len(uncounted.succeeded)
    assert MAX_UNCOUNTED_PODS == len(decided.remove_finalizers)
    assert 0.0 == decided.requeue_after


def test_pods_stopped_by_a_suspension_or_a_success_are_not_counted() -> None:
    """Suspension releases pods before deleting them; a met success policy counts them not."""
    j = stored(job(completions=2, parallelism=2, suspend=True))
    running = [pod(j, "a"), pod(j, "b")]
    decided = plan(j, running, now=NOW)
    assert (set(running), True) == (set(decided.delete), decided.release_deleted)
    indexed = stored(job(completions=3, parallelism=3, indexed=True))
    policy = SuccessPolicy(rules=(SuccessPolicyRule(succeeded_indexes="0"),))
    indexed = attrs.evolve(indexed, spec=attrs.evolve(indexed.spec, success_policy=policy))
    won = pod(indexed, "w", phase="Succeeded", exit_code=0, finished=5, index=0)
    others = [pod(indexed, "x", index=1), pod(indexed, "y", index=2)]
    decided = plan(indexed, [won, *others], now=NOW)
    assert (set(others), False) == (set(decided.delete), decided.release_deleted)
    assert {"uid-w", "uid-x", "uid-y"} == {p.metadata.uid for p in decided.remove_finalizers}
    assert UncountedTerminatedPods() == decided.status.uncounted_terminated_pods
    assert ("0", 1) == (decided.status.completed_indexes, decided.status.succeeded)
