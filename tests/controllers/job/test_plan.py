"""
The Job planner: bounds of ``manage`` and convergence of ``plan`` (hypothesis).

A "world" is a Job and its pods frozen in time: no kubelet moves a pod on,
so repeatedly planning and applying the plan (deletions mark pods,
creations add pending pods, finalizers come off, :func:`settle` counts)
must reach a fixpoint where nothing is written, and no pod is ever counted
twice on the way.
"""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.batch import Job, PodReplacementPolicy
from controllers.api.core import Pod
from controllers.job import (
    JOB_TRACKING_FINALIZER,
    BackoffRecord,
    Plan,
    completion_index,
    has_tracking_finalizer,
    manage,
    plan,
    settle,
    tracked_by,
    want_active,
)
from controllers.job.pods import is_indexed
from controllers.replicaset import is_pod_active
from reconcile import Uid, remove_finalizer
from tests.controllers.job.builders import at, job, pod, stored

NOW = at(100)
PHASES = ("Pending", "Running", "Succeeded", "Failed")


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    indexed = draw(st.booleans())
    completions = (
        draw(st.integers(1, 8)) if indexed else draw(st.one_of(st.none(), st.integers(0, 8)))
    )
    return stored(
        job(
            completions=completions,
            parallelism=draw(st.integers(0, 6)),
            indexed=indexed,
            suspend=draw(st.sampled_from([None, None, None, True])),
            backoff_limit=draw(st.integers(0, 8)),
            restart_policy=draw(st.sampled_from(["Never", "OnFailure"])),
        )
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Job, list[Pod]]:
    j = draw(jobs())
    pods: list[Pod] = []
    for i in range(draw(st.integers(0, 10))):
        phase = draw(st.sampled_from(PHASES))
        finished = phase in ("Succeeded", "Failed")
        index = draw(st.integers(0, (j.spec.completions or 0) + 1)) if is_indexed(j) else None
        p = pod(
            j,
            f"p{i}",
            phase=phase,
            index=index,
            exit_code=(0 if phase == "Succeeded" else 1) if finished else None,
            finished=draw(st.floats(0, 99)) if finished else None,
            ready=phase == "Running" and draw(st.booleans()),
            deleting=50.0 if draw(st.integers(0, 5)) == 0 else None,
        )
        if finished and draw(st.booleans()):
            p = attrs.evolve(p, metadata=remove_finalizer(p.metadata, JOB_TRACKING_FINALIZER))
            continue  # finished and counted before the world began: out of the index
        pods.append(p)
    return j, pods


def active_of(pods: list[Pod]) -> list[Pod]:
    return [p for p in pods if is_pod_active(p)]


@given(worlds(), st.integers(0, 10))
def test_manage_never_exceeds_parallelism_or_remaining_completions(
    world: tuple[Job, list[Pod]], succeeded: int
) -> None:
    """Creations stop at parallelism and at the completions still needed; none when suspended."""
    j, pods = world
    active = active_of(pods)
    indexes = (
        frozenset(range(min(succeeded, j.spec.completions or 0))) if is_indexed(j) else frozenset()
    )
    done = len(indexes) if is_indexed(j) else succeeded
    change = manage(j, active, succeeded=done, succeeded_indexes=indexes, now=NOW)
    assert not (change.create and change.delete)
    if change.create:
        after = len(active) + len(change.create)
        assert after <= (j.spec.parallelism or 0)
        assert after == want_active(j, active=len(active), succeeded=done)
        assert not j.spec.suspend
        if j.spec.completions is not None:
            assert after <= j.spec.completions - done
    if is_indexed(j) and change.create:
        taken = {completion_index(p) for p in active}
        created = [i for i in change.create if i is not None]
        assert len(created) == len(set(created)) == len(change.create)
        assert all(i < (j.spec.completions or 0) for i in created)
        assert not set(created) & (taken | indexes)
    if change.delete:
        assert {p.metadata.uid for p in change.delete} <= {p.metadata.uid for p in active}


@given(worlds(), st.floats(0.1, 600))
def test_manage_creates_nothing_during_the_backoff(
    world: tuple[Job, list[Pod]], wait: float
) -> None:
    """While the pod-failure back-off runs, missing pods wait and the wait is reported."""
    j, pods = world
    change = manage(j, active_of(pods), succeeded=0, backoff=wait, now=NOW)
    assert () == change.create
    if change.backoff is not None:
        assert wait == change.backoff


def _apply(j: Job, pods: list[Pod], decided: Plan, serial: int) -> tuple[Job, list[Pod]]:
    """What the reconciler's writes do, with every write succeeding and time frozen."""
    doomed = {p.metadata.uid for p in decided.delete}
    released = {p.metadata.uid for p in decided.remove_finalizers}
    world: list[Pod] = []
    for old in pods:
        p = old.with_meta(deletion_timestamp=NOW) if old.metadata.uid in doomed else old
        if p.metadata.uid in released or (decided.release_deleted and p.metadata.uid in doomed):
            p = attrs.evolve(p, metadata=remove_finalizer(p.metadata, JOB_TRACKING_FINALIZER))
        world.append(p)
    for n, index in enumerate(decided.create):
        name = f"new-{serial}-{n}"
        world.append(pod(j, name, phase="Pending", index=index, created=100))
    uncounted = decided.status.uncounted_terminated_pods
    kept: set[Uid] = set()
    if uncounted is not None:
        kept = {u for u in (*uncounted.succeeded, *uncounted.failed) if u not in released}
    status = settle(
        decided.status,
        tracked=kept,
        terminating=decided.terminating,
        finish=decided.finish,
        now=NOW,
    )
    # A finished pod without the finalizer leaves the tracking index.
    return attrs.evolve(j, status=status), [p for p in world if tracked_by(p)]


def _writes(decided: Plan, j: Job) -> bool:
    return bool(decided.create or decided.delete or decided.remove_finalizers) or (
        decided.status != j.status
    )


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_plan_converges_and_never_counts_a_pod_twice(world: tuple[Job, list[Pod]]) -> None:
    """A frozen world reaches a fixpoint in a few syncs; counts never exceed the pods there were."""
    j, pods = world
    seen: set[Uid] = {p.metadata.uid for p in pods}
    record = BackoffRecord()
    for step in range(8):
        decided = plan(j, pods, now=NOW, backoff=record)
        record = decided.backoff
        if not _writes(decided, j):
            break
        j, pods = _apply(j, pods, decided, step)
        seen |= {p.metadata.uid for p in pods}
        status = j.status
        uncounted = status.uncounted_terminated_pods
        pending = 0 if uncounted is None else len(uncounted.succeeded) + len(uncounted.failed)
        if is_indexed(j):
            assert status.succeeded <= (j.spec.completions or 0)
            assert status.failed + pending <= len(seen)
        else:
            assert status.succeeded + status.failed + pending <= len(seen)
        if decided.create:
            assert len(active_of(pods)) <= (j.spec.parallelism or 0)
    else:
        raise AssertionError(f"no fixpoint after 8 syncs: {decided}")
    # At the fixpoint no pod carries the finalizer unless it may still finish.
    assert all(is_pod_active(p) for p in pods if has_tracking_finalizer(p))


@given(worlds())
def test_finished_job_only_releases_pods(world: tuple[Job, list[Pod]]) -> None:
    """A Complete or Failed Job creates and deletes nothing; its status stays as it is."""
    j, pods = world
    decided = plan(j, pods, now=NOW)
    j, pods = _apply(j, pods, decided, 0)
    for _ in range(6):
        decided = plan(j, pods, now=NOW)
        if decided.finish is not None and decided.status == j.status and not _writes(decided, j):
            break
        j, pods = _apply(j, pods, decided, 1)
    if any(c.type in ("Complete", "Failed") for c in j.status.conditions):
        again = plan(j, pods, now=NOW + dt.timedelta(seconds=5))
        assert (j.status, (), ()) == (again.status, again.create, again.delete)


def test_indexed_duplicates_and_strays_are_deleted_first() -> None:
    """Two pods of index 0 and one of index 9 (of 3): the later duplicate and the stray go."""
    j = stored(job(indexed=True, completions=3, parallelism=3))
    older = pod(j, "a", index=0, created=1, ready=True)
    newer = pod(j, "b", index=0, created=5)
    stray = pod(j, "c", index=9, created=2)
    keep = pod(j, "d", index=1, created=2)
    change = manage(j, [older, newer, stray, keep], succeeded=0, now=NOW)
    assert {"c", "b"} == {p.metadata.name for p in change.delete}
    assert () == change.create


def test_terminating_pods_block_their_index_when_only_failed_pods_are_replaced() -> None:
    """podReplacementPolicy Failed: a terminating pod's index waits until it has failed."""
    j = stored(job(indexed=True, completions=2, parallelism=2))
    j = attrs.evolve(
        j, spec=attrs.evolve(j.spec, pod_replacement_policy=PodReplacementPolicy.FAILED)
    )
    leaving = pod(j, "a", index=0, deleting=50)
    decided = plan(j, [leaving], now=NOW)
    assert (1,) == decided.create


def test_a_job_created_suspended_has_no_start_time_and_runs_nothing() -> None:
    """Created suspended: Suspended (JobSuspended) with an event, no startTime, no pods."""
    j = stored(job(completions=2, parallelism=2, suspend=True))
    decided = plan(j, [], now=NOW)
    assert () == decided.create
    assert decided.status.start_time is None
    [suspended] = [c for c in decided.status.conditions if c.type == "Suspended"]
    assert ("JobSuspended", "Job suspended") == (suspended.reason, suspended.message)
    assert ["Suspended"] == [e.reason for e in decided.events]


def test_on_failure_restarts_of_terminating_pods_count_towards_the_backoff_limit() -> None:
    """OnFailure: a pod being deleted but still running keeps its restarts in the sum."""
    j = stored(job(restart_policy="OnFailure", completions=2, parallelism=1, backoff_limit=3))
    running = pod(j, "a", restarts=2)
    leaving = pod(j, "b", restarts=1, deleting=90)  # released when parallelism went down
    leaving = attrs.evolve(
        leaving, metadata=remove_finalizer(leaving.metadata, JOB_TRACKING_FINALIZER)
    )
    decided = plan(j, [running, leaving], now=NOW)
    [target] = [c for c in decided.status.conditions if c.type == "FailureTarget"]
    assert "BackoffLimitExceeded" == target.reason
