"""The Job controller alone on a MemoryCluster (no scheduler, kubelet or GC), in virtual time.

The test plays the kubelet: it moves pods to ``Succeeded`` or ``Failed`` by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

import reconcile
from controllers import job as jobs
from controllers.api import install_admission
from controllers.api.batch import Job
from controllers.api.core import Pod
from controllers.api.pod import PodStatus
from reconcile import ObjectKey, controller_of
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.job.builders import job

KEY = ObjectKey(namespace="default", name="work")
Body = Callable[[MemoryCluster, VirtualClock], Awaitable[None]]


def harness(body: Body) -> None:
    """Run ``body`` while a manager runs only the Job controller (with events)."""

    async def scenario(clock: VirtualClock) -> None:
        api = MemoryCluster(clock=clock, seed=3)
        install_admission(api.admission)
        manager = reconcile.Manager(api, clock=clock)
        recorder = reconcile.EventRecorder(api, component="job-controller", clock=clock)
        jobs.setup(manager, recorder=recorder)
        async with manager:
            await body(api, clock)

    run(scenario)


def pods(api: MemoryCluster) -> list[Pod]:
    return list(api.list_nowait(Pod, namespace="default").items)


async def finish(api: MemoryCluster, pod: Pod, phase: str) -> None:
    """What a kubelet reports when the pod's containers are done."""
    fresh = api.get_nowait(Pod, pod.metadata.name, namespace="default")
    await api.update_status(attrs.evolve(fresh, status=PodStatus(phase=phase)))


async def settle(clock: VirtualClock, seconds: float = 5.0) -> None:
    await clock.advance(seconds)


def test_creates_tracked_pods_and_counts_each_success_once() -> None:
    """Pods get the finalizer and owner; a success is counted once and its finalizer released."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(job(completions=2, parallelism=2))
        await settle(clock)
        created = pods(api)
        assert 2 == len(created)
        for p in created:
            assert jobs.JOB_TRACKING_FINALIZER in p.metadata.finalizers
            ref = controller_of(p.metadata)
            assert ref is not None
            assert "Job" == ref.kind
        await finish(api, created[0], "Succeeded")
        await settle(clock)
        await finish(api, created[1], "Succeeded")
        await settle(clock)
        done = api.get_nowait(Job, KEY)
        assert (2, 0, 0) == (done.status.succeeded, done.status.failed, done.status.active)
        assert jobs.is_job_finished(done)
        assert all(jobs.JOB_TRACKING_FINALIZER not in p.metadata.finalizers for p in pods(api))
        messages = sorted(
            e.message
            for e in api.list_nowait(reconcile.Event).items
            if e.reason == "SuccessfulCreate"
        )
        assert sorted(f"Created pod: {p.metadata.name}" for p in created) == messages

    harness(body)


def test_a_deleted_job_releases_its_pods() -> None:
    """With no Job left (and no collector here), its pods lose the tracking finalizer."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(job(completions=3, parallelism=3))
        await settle(clock)
        assert 3 == len(pods(api))
        await api.delete(Job, KEY, propagation=reconcile.Propagation.BACKGROUND)
        await settle(clock)
        assert all(jobs.JOB_TRACKING_FINALIZER not in p.metadata.finalizers for p in pods(api))

    harness(body)


def test_pods_of_an_earlier_job_of_the_same_name_are_released_not_counted() -> None:
    """A Job re-created under the same name ignores the old Job's pods and frees them."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        first = await api.create(job(completions=1, parallelism=1))
        await settle(clock)
        [old] = pods(api)
        await api.delete(Job, KEY, propagation=reconcile.Propagation.BACKGROUND)
        await api.create(job(completions=1, parallelism=1))
        await finish(api, old, "Succeeded")
        await settle(clock)
        second = api.get_nowait(Job, KEY)
        assert first.metadata.uid != second.metadata.uid
        assert 0 == second.status.succeeded
        stale = api.get_nowait(Pod, old.metadata.name, namespace="default")
        assert jobs.JOB_TRACKING_FINALIZER not in stale.metadata.finalizers
        mine = [p for p in pods(api) if p.metadata.uid != old.metadata.uid]
        assert 1 == len(mine)

    harness(body)


def test_failed_pods_are_replaced_after_the_backoff() -> None:
    """A failed pod is counted, and its replacement waits the 10 s back-off."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(job(completions=1, parallelism=1))
        await settle(clock, 1)
        [first] = pods(api)
        await finish(api, first, "Failed")
        await settle(clock, 5)
        assert 1 == len(pods(api))
        assert 1 == api.get_nowait(Job, KEY).status.failed
        assert 10.0 == jobs.backoff_delay(1)
        await settle(clock, 6)
        assert 2 == len(pods(api))

    harness(body)


def test_more_successes_than_completions_are_reported() -> None:
    """Two pods of a one-completion Job both succeed: Complete, with TooManySucceededPods."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        created = await api.create(job(completions=1, parallelism=1))
        await settle(clock)
        [first] = pods(api)
        extra = jobs.pod_from_template(created).with_meta(name="work-extra", generate_name="")
        second = await api.create(extra)
        await finish(api, first, "Succeeded")
        await finish(api, second, "Succeeded")
        await settle(clock)
        done = api.get_nowait(Job, KEY)
        assert 2 == done.status.succeeded
        assert jobs.is_job_finished(done)
        warnings = [
            e.message
            for e in api.list_nowait(reconcile.Event).items
            if e.reason == "TooManySucceededPods"
        ]
        assert ["Too many succeeded pods running after completion count reached"] == warnings

    harness(body)
