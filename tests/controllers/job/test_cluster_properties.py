"""
Job properties over the real embedded cluster (all controllers, simulated kubelets).

Hypothesis draws a Job (completions or a work queue, parallelism, Never or
OnFailure, backoffLimit, Indexed or not, maybe backoffLimitPerIndex, how
long a pod runs) and, for each
pod in the order the Job creates them, whether its container crashes (exit
code 1) as soon as it runs, and maybe when the controller manager restarts
(losing its caches, expectations and back-off records). A watch on Pods and Jobs checks after every
event that:

* no more pods are active (unfinished, not being deleted) than ``parallelism``;
* ``status.succeeded`` never exceeds ``completions``, and no pod is counted
  twice: counted and uncounted outcomes never exceed the finished (or
  deleted) pods;
* under ``restartPolicy: Never`` every pod is created no earlier than the
  pod-failure back-off allows after the failures seen before it;

and at the end that the Job finished, failed exactly when Kubernetes would
(more failures than ``backoffLimit`` under Never, restarts reaching it under
OnFailure, an index failing more than ``backoffLimitPerIndex`` times), and
counted each pod once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st

import controllers
import reconcile
from controllers.api.batch import Job
from controllers.api.core import Pod
from controllers.api.defaults import default_job
from controllers.job import (
    COMPLETE,
    COMPLETION_INDEX,
    FAILED,
    FAILURE_TARGET,
    backoff_delay,
    find_job_condition,
    parse_intervals,
)
from tests.controllers.job.builders import job

NAME = "work"


@attrs.frozen
class Case:
    completions: int | None
    parallelism: int
    restart_policy: str
    backoff_limit: int
    indexed: bool
    runtime: int
    crashes: tuple[bool, ...]
    restart_at: float | None  # when kube-controller-manager restarts
    per_index: int | None = None  # backoffLimitPerIndex (Indexed, Never)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    indexed = draw(st.booleans())
    completions = (
        draw(st.integers(1, 5)) if indexed else draw(st.one_of(st.none(), st.integers(1, 5)))
    )
    restart_policy = draw(st.sampled_from(["Never", "OnFailure"]))
    per_index = None
    if indexed and restart_policy == "Never":
        per_index = draw(st.one_of(st.none(), st.integers(0, 2)))
    return Case(
        completions=completions,
        parallelism=draw(st.integers(1, 3)),
        restart_policy=restart_policy,
        per_index=per_index,
        backoff_limit=draw(st.integers(0, 3)),
        indexed=indexed,
        runtime=draw(st.integers(2, 3)),
        crashes=tuple(draw(st.lists(st.booleans(), max_size=12))),
        restart_at=draw(st.one_of(st.none(), st.floats(0.5, 40))),
    )


def _active(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is None and pod.status.phase not in (
        "Succeeded",
        "Failed",
    )


def _finished_at(pod: Pod) -> dt.datetime:
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated is not None
    assert terminated.finished_at is not None
    return terminated.finished_at


class Observer:
    """Follows Pods and the Job in API order and checks the invariants of the module docstring."""

    def __init__(self, cluster: controllers.Cluster, case: Case) -> None:
        self.cluster, self.case = cluster, case
        self.pods: dict[str, Pod] = {}
        self.order: list[str] = []  # uids in creation order
        self.gone: set[str] = set()
        self.finished: set[str] = set()
        self.crashed: set[str] = set()
        self.failures = 0  # own failures since the last success, in stream order
        self.last_failure: dt.datetime | None = None
        self.last_success: dt.datetime | None = None
        self.failure_seen_at: float | None = None
        self.own_failures: list[dt.datetime] = []
        self.restarts: dict[str, int] = {}
        self.most_restarts = 0
        self.violations: list[str] = []

    def pod(self, kind: reconcile.EventType, pod: Pod) -> None:
        uid = pod.metadata.uid
        old = self.pods.get(uid)
        now = self.cluster.clock.time()
        if old is None and kind is reconcile.EventType.ADDED:
            self.order.append(uid)
            self._check_backoff(pod)
        if kind is reconcile.EventType.DELETED:
            self.gone.add(uid)
            self.finished.add(uid)
            return
        self.pods[uid] = pod
        phase = pod.status.phase
        was = old.status.phase if old is not None else ""
        if phase != was and phase in ("Succeeded", "Failed"):
            self.finished.add(uid)
            if phase == "Succeeded":
                self.failures, self.last_failure = 0, None
                self.last_success = _finished_at(pod)
            elif pod.metadata.deletion_timestamp is None:
                self.own_failures.append(_finished_at(pod))
                # Finish times have whole seconds: a failure no later than a success
                # the controller sees in the same sync is not "after the last success".
                if self.last_success is None or _finished_at(pod) > self.last_success:
                    self.failures += 1
                    self.last_failure = _finished_at(pod)
                    self.failure_seen_at = now
        if pod.metadata.deletion_timestamp is not None:
            self.finished.add(uid)
        restarts = sum(s.restart_count for s in pod.status.container_statuses)
        self.restarts[uid] = restarts if phase in ("Pending", "Running") else 0
        self.most_restarts = max(self.most_restarts, sum(self.restarts.values()))
        running = phase == "Running" and any(
            s.state.running is not None for s in pod.status.container_statuses
        )
        if running and uid not in self.crashed and _active(pod):
            self.crashed.add(uid)
            position = self.order.index(uid) if uid in self.order else 0
            if position < len(self.case.crashes) and self.case.crashes[position]:
                with contextlib.suppress(LookupError):  # finished meanwhile
                    self.cluster.crash_container(pod.metadata.name, code=1)
        active = sum(
            1 for p in self.pods.values() if _active(p) and p.metadata.uid not in self.gone
        )
        if active > self.case.parallelism:
            self.violations.append(f"{active} active pods at {now}")

    def _check_backoff(self, pod: Pod) -> None:
        if self.case.restart_policy != "Never" or self.last_failure is None:
            return
        if self.case.per_index is not None:
            return  # each index waits out its own back-off instead
        if self.failure_seen_at == self.cluster.clock.time():
            return  # the controller may not have seen that failure yet (same instant)
        created = pod.metadata.creation_timestamp
        assert created is not None
        earliest = self.last_failure + dt.timedelta(seconds=backoff_delay(self.failures))
        if created < earliest - dt.timedelta(milliseconds=1):
            self.violations.append(f"pod created at {created}, back-off until {earliest}")

    def job(self, j: Job) -> None:
        status = j.status
        completions = self.case.completions
        if completions is not None and status.succeeded > completions:
            self.violations.append(f"succeeded {status.succeeded} > {completions}")
        uncounted = status.uncounted_terminated_pods
        pending = 0 if uncounted is None else len(uncounted.succeeded) + len(uncounted.failed)
        counted = status.succeeded + status.failed + pending
        if not self.case.indexed and counted > len(self.finished):
            self.violations.append(f"{counted} counted of {len(self.finished)} finished pods")
        if self.case.indexed:
            indexes = parse_intervals(status.completed_indexes)
            if len(indexes) != status.succeeded:
                self.violations.append(f"completedIndexes {status.completed_indexes!r}")


async def _follow(
    cluster: controllers.Cluster,
    kind: type[reconcile.Resource],
    since: reconcile.ResourceVersion,
    observer: Observer,
) -> None:
    async for event in cluster.api.watch(kind, namespace="default", since=since):
        if event.type is reconcile.EventType.BOOKMARK:
            continue
        if isinstance(event.object, Pod):
            observer.pod(event.type, event.object)
        elif isinstance(event.object, Job):
            observer.job(event.object)


async def _run(case: Case) -> None:
    async with controllers.Cluster(nodes=2, seed=3, events=False) as cluster:
        observer = Observer(cluster, case)
        since = cluster.api.resource_version
        async with asyncio.TaskGroup() as tasks:
            watches = [
                tasks.create_task(_follow(cluster, Pod, since, observer)),
                tasks.create_task(_follow(cluster, Job, since, observer)),
            ]
            j = job(
                NAME,
                completions=case.completions,
                parallelism=case.parallelism,
                backoff_limit=None if case.per_index is not None else case.backoff_limit,
                restart_policy=case.restart_policy,
                indexed=case.indexed,
                script=f"exit=0@{case.runtime}s",
            )
            if case.per_index is not None:
                spec = attrs.evolve(j.spec, backoff_limit_per_index=case.per_index)
                j = default_job(attrs.evolve(j, spec=attrs.evolve(spec, backoff_limit=None)))
            await cluster.api.create(j)
            if case.restart_at is not None:
                await cluster.advance(case.restart_at)
                await cluster.restart_controller("kube-controller-manager")
                # The back-off record lives in the controller's memory, as upstream: it starts over.
                observer.failures, observer.last_failure = 0, None
            await cluster.settle(within=700, limit=5_000)
            for watch in watches:
                watch.cancel()
        assert [] == observer.violations
        _check_end(cluster.api.get_nowait(Job, NAME, namespace="default"), case, observer)


def _check_end(j: Job, case: Case, observer: Observer) -> None:
    complete = find_job_condition(j.status.conditions, COMPLETE)
    failed = find_job_condition(j.status.conditions, FAILED)
    assert (complete is None) != (failed is None), j.status.conditions
    limit = case.backoff_limit
    target = find_job_condition(j.status.conditions, FAILURE_TARGET)
    if case.per_index is not None:
        _check_per_index(j, case.per_index, observer)
    elif case.restart_policy == "Never":
        if failed is not None:
            assert target is not None
            assert target.last_transition_time is not None
            before = [t for t in observer.own_failures if t <= target.last_transition_time]
            assert len(before) > limit
        else:
            assert len(observer.own_failures) <= limit
    elif failed is not None:
        assert observer.most_restarts >= max(limit, 1)
    else:
        assert observer.most_restarts < limit or (limit == 0 and observer.most_restarts == 0)
    succeeded = [p for p in observer.pods.values() if p.status.phase == "Succeeded"]
    if case.indexed:
        assert len(parse_intervals(j.status.completed_indexes)) == j.status.succeeded
    elif complete is not None:
        assert len(succeeded) == j.status.succeeded
    else:
        # Pods still running when the Job failed count as failed, however they end.
        assert j.status.succeeded <= len(succeeded)
    if not case.indexed:
        assert len(observer.order) == j.status.succeeded + j.status.failed
    if complete is not None and case.completions is not None:
        assert case.completions == j.status.succeeded


def _check_per_index(j: Job, limit: int, observer: Observer) -> None:
    """An index fails for good at its ``limit + 1``-th failure; the Job fails iff one did."""
    failures: dict[str, int] = {}
    runs: dict[str, int] = {}
    for p in observer.pods.values():
        index = p.metadata.labels[COMPLETION_INDEX]
        runs[index] = runs.get(index, 0) + 1
        if p.status.phase == "Failed" and p.metadata.deletion_timestamp is None:
            failures[index] = failures.get(index, 0) + 1
    doomed = {int(i) for i, n in failures.items() if n > limit}
    assert doomed == parse_intervals(j.status.failed_indexes or "")
    assert all(n <= limit + 1 for n in runs.values()), runs
    failed = find_job_condition(j.status.conditions, FAILED)
    assert (failed is not None) == bool(doomed)


@settings(max_examples=100, deadline=None)
@given(cases())
@example(  # a failure and two successes finish within one second, seen in one sync
    Case(
        completions=3,
        parallelism=3,
        restart_policy="Never",
        backoff_limit=2,
        indexed=True,
        runtime=2,
        crashes=(False, False, True, True),
        restart_at=2.25,
    )
)
def test_jobs_on_the_cluster_keep_their_bounds(case: Case) -> None:
    """Parallelism, completions, single counting, back-off and the failure rule hold."""
    controllers.run(_run(case))
