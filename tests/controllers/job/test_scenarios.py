"""
Job behaviours end to end on :class:`controllers.Cluster`, in virtual time.

The cluster runs the Job and TTL-after-finished controllers with the
scheduler, the garbage collector and simulated kubelets; containers follow
script annotations (``docs/container-scripts.md``).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from controllers import Cluster, run
from controllers.api.batch import (
    Job,
    PodFailurePolicy,
    PodFailurePolicyAction,
    PodFailurePolicyOnExitCodesOperator,
    PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule,
)
from controllers.api.core import Pod
from controllers.job import (
    COMPLETE,
    COMPLETION_INDEX,
    COMPLETION_INDEX_ENV,
    FAILED,
    FAILURE_TARGET,
    JOB_TRACKING_FINALIZER,
    SUCCESS_CRITERIA_MET,
    SUSPENDED,
    find_job_condition,
)
from tests.controllers.job.builders import job

T = TypeVar("T")

LONG = 1_000.0  # settle through back-offs of up to 10 minutes


def scenario(body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 3) -> T:
    """Run ``body`` with a fresh cluster of ``nodes`` nodes."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=11) as cluster:
            return await body(cluster)

    return run(main)


def get_job(cluster: Cluster, name: str = "work") -> Job:
    found = cluster.get("job", name)
    assert isinstance(found, Job)
    return found


def pods_of(cluster: Cluster, name: str = "work") -> list[Pod]:
    return [p for p in cluster.list("pods", labels=f"app={name}") if isinstance(p, Pod)]


def reason_of(j: Job, type_: str) -> str | None:
    found = find_job_condition(j.status.conditions, type_)
    return None if found is None else found.reason


def test_completes_after_enough_pods_succeed() -> None:
    """completions 5, parallelism 2: five pods succeed, never more than two at once."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(completions=5, parallelism=2))
        most = 0
        for _ in range(300):
            await cluster.advance(0.1)
            running = [p for p in pods_of(cluster) if p.status.phase not in ("Succeeded", "Failed")]
            most = max(most, len(running))
        await cluster.settle()
        j = get_job(cluster)
        assert 2 == most
        assert (5, 0, 0) == (j.status.succeeded, j.status.failed, j.status.active)
        assert "CompletionsReached" == reason_of(j, COMPLETE)
        assert "CompletionsReached" == reason_of(j, SUCCESS_CRITERIA_MET)
        assert j.status.completion_time is not None
        assert 5 == len(pods_of(cluster))
        assert all(JOB_TRACKING_FINALIZER not in p.metadata.finalizers for p in pods_of(cluster))
        messages = [e.message for e in cluster.events(j, reason="SuccessfulCreate")]
        assert sorted(f"Created pod: {p.metadata.name}" for p in pods_of(cluster)) == sorted(
            messages
        )
        assert ["Job completed"] == [e.message for e in cluster.events(j, reason="Completed")]

    scenario(body)


def test_work_queue_job_completes_when_one_pod_succeeds_and_none_is_active() -> None:
    """No completions, parallelism 3: done once a pod succeeded and the others finished."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(completions=None, parallelism=3))
        await cluster.settle()
        j = get_job(cluster)
        assert 3 == j.status.succeeded
        assert "CompletionsReached" == reason_of(j, COMPLETE)

    scenario(body)


def test_never_fails_on_the_seventh_failure_with_the_default_backoff_limit() -> None:
    """restartPolicy Never, exit 1: seven pods fail, then BackoffLimitExceeded."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(script="exit=1@1s"))
        await cluster.settle(within=LONG, limit=5 * LONG)
        j = get_job(cluster)
        assert 7 == len(pods_of(cluster))
        assert all(p.status.phase == "Failed" for p in pods_of(cluster))
        assert 7 == j.status.failed
        assert "BackoffLimitExceeded" == reason_of(j, FAILED)
        assert "BackoffLimitExceeded" == reason_of(j, FAILURE_TARGET)
        failed = find_job_condition(j.status.conditions, FAILED)
        assert failed is not None
        assert "Job has reached the specified backoff limit" == failed.message
        assert [failed.message] == [
            e.message for e in cluster.events(j, reason="BackoffLimitExceeded")
        ]

    scenario(body)


def test_never_waits_out_the_pod_failure_backoff_between_pods() -> None:
    """Each replacement pod is created 10 s, 20 s, 40 s ... after the previous one failed."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(script="exit=1@1s", backoff_limit=3))
        await cluster.settle(within=LONG, limit=5 * LONG)
        pods = sorted(pods_of(cluster), key=lambda p: p.metadata.creation_timestamp or 0)
        assert 4 == len(pods)
        gaps = []
        for before, after in itertools.pairwise(pods):
            finished = before.status.container_statuses[0].state.terminated
            assert finished is not None
            assert finished.finished_at is not None
            assert after.metadata.creation_timestamp is not None
            gaps.append((after.metadata.creation_timestamp - finished.finished_at).total_seconds())
        for gap, wanted in zip(gaps, (10, 20, 40), strict=True):
            assert wanted <= gap < wanted + 2

    scenario(body)


def test_on_failure_restarts_in_place_until_the_backoff_limit() -> None:
    """restartPolicy OnFailure, exit 1: one pod restarts; the Job fails at 6 restarts."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(script="exit=1@1s", restart_policy="OnFailure"))
        most = 0
        while find_job_condition(get_job(cluster).status.conditions, FAILURE_TARGET) is None:
            await cluster.advance(0.1)
            for p in pods_of(cluster):
                most = max(most, *(s.restart_count for s in p.status.container_statuses))
        await cluster.settle(within=LONG)
        j = get_job(cluster)
        # The sixth restart fails the Job in the same instant; the kubelet's events show it.
        assert 5 == most
        [started] = cluster.events(reason="Started")  # one Event, counted
        assert 7 == started.count  # the first run and six restarts
        assert 1 == len(cluster.events(j, reason="SuccessfulCreate"))
        assert [] == pods_of(cluster)  # the failing Job deleted it
        assert "BackoffLimitExceeded" == reason_of(j, FAILED)
        assert 1 == j.status.failed
        assert 0 == j.status.active

    scenario(body)


def test_indexed_job_completes_each_index_once() -> None:
    """Indexed, completions 4, parallelism 2: indexes 0-3 succeed once, with env and hostname."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(completions=4, parallelism=2, indexed=True))
        await cluster.settle()
        j = get_job(cluster)
        pods = pods_of(cluster)
        assert "0-3" == j.status.completed_indexes
        assert 4 == j.status.succeeded
        assert ["0", "1", "2", "3"] == sorted(
            p.metadata.annotations[COMPLETION_INDEX] for p in pods
        )
        for p in pods:
            index = p.metadata.labels[COMPLETION_INDEX]
            [env] = [e for e in p.spec.containers[0].env if e.name == COMPLETION_INDEX_ENV]
            assert env.value_from is not None
            assert env.value_from.field_ref is not None
            path = env.value_from.field_ref.field_path
            assert f"metadata.labels['{COMPLETION_INDEX}']" == path
            assert f"work-{index}" == p.spec.hostname
            assert p.metadata.name.startswith(f"work-{index}-")

    scenario(body)


def test_active_deadline_fails_the_job_and_stops_its_pods() -> None:
    """activeDeadlineSeconds 5 on pods that run forever: DeadlineExceeded at 5 s, pods deleted."""

    async def body(cluster: Cluster) -> None:
        start = cluster.clock.time()
        await cluster.api.create(job(script=None, parallelism=2, completions=2, deadline=5))
        await cluster.advance(4.9)
        assert find_job_condition(get_job(cluster).status.conditions, FAILED) is None
        await cluster.settle()
        j = get_job(cluster)
        assert "DeadlineExceeded" == reason_of(j, FAILED)
        target = find_job_condition(j.status.conditions, FAILURE_TARGET)
        assert target is not None
        assert target.last_transition_time is not None
        assert j.status.start_time is not None
        elapsed = (target.last_transition_time - j.status.start_time).total_seconds()
        assert 5 <= elapsed < 5.1
        assert "Job was active longer than specified deadline" == target.message
        assert [] == pods_of(cluster)  # deleted, finalizers released
        assert (0, 2) == (j.status.active, j.status.failed)
        assert cluster.clock.time() - start < 60

    scenario(body)


def test_suspend_deletes_active_pods_and_resume_restarts_the_clock() -> None:
    """Suspending deletes running pods (JobSuspended); resuming recreates them (JobResumed)."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(script="exit=0@30s", parallelism=2, completions=2))
        await cluster.advance(5)
        assert 2 == len([p for p in pods_of(cluster) if p.status.phase == "Running"])
        j = get_job(cluster)
        first_start = j.status.start_time
        await cluster.api.update(attrs.evolve(j, spec=attrs.evolve(j.spec, suspend=True)))
        await cluster.settle()
        j = get_job(cluster)
        assert "JobSuspended" == reason_of(j, SUSPENDED)
        assert 0 == j.status.active
        assert [] == [p for p in pods_of(cluster) if p.metadata.deletion_timestamp is None]
        await cluster.advance(10)
        assert [] == pods_of(cluster)
        j = get_job(cluster)
        assert (0, 0) == (j.status.succeeded, j.status.failed)  # stopped pods count as nothing
        await cluster.api.update(attrs.evolve(j, spec=attrs.evolve(j.spec, suspend=False)))
        await cluster.advance(1)
        j = get_job(cluster)
        assert "JobResumed" == reason_of(j, SUSPENDED)
        assert j.status.start_time is not None
        assert first_start is not None
        assert j.status.start_time > first_start
        await cluster.settle()
        j = get_job(cluster)
        assert "CompletionsReached" == reason_of(j, COMPLETE)
        assert (2, 0) == (j.status.succeeded, j.status.failed)
        assert ["Job suspended"] == [e.message for e in cluster.events(j, reason="Suspended")]
        assert ["Job resumed"] == [e.message for e in cluster.events(j, reason="Resumed")]

    scenario(body)


def _policy(*rules: PodFailurePolicyRule) -> PodFailurePolicy:
    return PodFailurePolicy(rules=rules)


def test_pod_failure_policy_fails_the_job_on_exit_code_42() -> None:
    """FailJob on exit code 42 in container main: the first failure fails the Job."""

    async def body(cluster: Cluster) -> None:
        rule = PodFailurePolicyRule(
            action=PodFailurePolicyAction.FAIL_JOB,
            on_exit_codes=PodFailurePolicyOnExitCodesRequirement(
                container_name="main",
                operator=PodFailurePolicyOnExitCodesOperator.IN,
                values=(42,),
            ),
        )
        await cluster.api.create(job(script="exit=42@1s", policy=_policy(rule)))
        await cluster.settle(within=LONG)
        j = get_job(cluster)
        assert 1 == len(pods_of(cluster))
        assert "PodFailurePolicy" == reason_of(j, FAILED)
        failed = find_job_condition(j.status.conditions, FAILED)
        assert failed is not None
        name = pods_of(cluster)[0].metadata.name
        assert (
            f"Container main for pod default/{name} failed with exit code 42 "
            "matching FailJob rule at index 0"
        ) == failed.message

    scenario(body)


def test_pod_failure_policy_ignores_disruptions() -> None:
    """Ignore on DisruptionTarget: an evicted pod is replaced without counting as a failure."""

    async def body(cluster: Cluster) -> None:
        rule = PodFailurePolicyRule(
            action=PodFailurePolicyAction.IGNORE,
            on_pod_conditions=(PodFailurePolicyOnPodConditionsPattern(type="DisruptionTarget"),),
        )
        await cluster.api.create(job(script="exit=0@20s", backoff_limit=0, policy=_policy(rule)))
        await cluster.advance(5)
        [victim] = pods_of(cluster)
        await cluster.drain(victim.spec.node_name)
        await cluster.settle(within=LONG)
        j = get_job(cluster)
        assert "CompletionsReached" == reason_of(j, COMPLETE)
        assert (1, 0) == (j.status.succeeded, j.status.failed)

    scenario(body)


def test_ttl_after_finished_deletes_the_job_and_its_pods() -> None:
    """ttlSecondsAfterFinished 100: the Job and its pods are gone 100 s after it completed."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(ttl=100))
        await cluster.settle()
        j = get_job(cluster)
        done = find_job_condition(j.status.conditions, COMPLETE)
        assert done is not None
        assert done.last_transition_time is not None
        finished = (done.last_transition_time - cluster.clock.now()).total_seconds()
        await cluster.advance(finished + 99.9)
        assert 1 == len(cluster.list("jobs"))
        await cluster.advance(0.2)
        await cluster.settle()
        assert [] == cluster.list("jobs")
        assert [] == pods_of(cluster)

    scenario(body)


def test_counting_survives_a_controller_restart() -> None:
    """Restarting kube-controller-manager mid-run neither loses nor double-counts a pod."""

    async def body(cluster: Cluster) -> None:
        await cluster.api.create(job(completions=12, parallelism=3, script="exit=0@2s"))
        for _ in range(4):
            await cluster.advance(2.3)
            await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        j = get_job(cluster)
        succeeded = [p for p in pods_of(cluster) if p.status.phase == "Succeeded"]
        assert 12 == j.status.succeeded
        assert 12 == len(succeeded)
        assert "CompletionsReached" == reason_of(j, COMPLETE)

    scenario(body)
