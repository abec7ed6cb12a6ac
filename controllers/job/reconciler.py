"""
The Job controller's I/O half: read the caches, plan (pure), write.

One reconcile of a Job (Kubernetes' ``syncJob``):

1. Its pods come from the :data:`~controllers.job.watches.INDEX_TRACKED`
   index: unfinished pods and pods still carrying the tracking finalizer.
   Pods of an earlier Job of the same name that still carry the finalizer
   are released.
2. :func:`~controllers.job.plan.plan` decides; pods are deleted (uid
   precondition) or created in slow-start batches guarded by
   :class:`reconcile.Expectations`.
3. The status recording the newly finished pods as uncounted is written,
   then their finalizers are removed (a conflict re-reads the pod once),
   then :func:`~controllers.job.plan.settle` counts them and, when the Job
   is done, adds ``Complete`` / ``Failed``, and that status is written.
4. The result asks to run again when the back-off or the active deadline
   falls due.

Syncs of one Job are batched: a sync asked for less than
:data:`SYNC_BATCH_PERIOD` after the previous one waits for the rest of the
period, unless the Job's spec changed (Kubernetes batches pod events the
same way, ``syncJobBatchPeriod``).

Events on the Job, with Kubernetes' reasons and messages:
``SuccessfulCreate`` "Created pod: NAME", ``FailedCreate``,
``SuccessfulDelete`` "Deleted pod: NAME", ``Completed`` "Job completed"
(with a ``TooManySucceededPods`` warning when more pods succeeded than needed),
the failure reason with its message (warning), ``Suspended``, ``Resumed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import attrs

from controllers.api.batch import Job
from controllers.api.core import Pod
from controllers.job.backoff import BackoffRecord
from controllers.job.conditions import COMPLETE, find_job_condition
from controllers.job.manage import BURST_PODS
from controllers.job.plan import JobEvent, Plan, plan
from controllers.job.pods import JOB_TRACKING_FINALIZER, has_tracking_finalizer, pod_from_template
from controllers.job.tracking import settle
from controllers.job.watches import INDEX_TRACKED, FinalizerRemovals
from controllers.planted import JOB_LEAVES_TRACKING_FINALIZER
from controllers.podcontrol import PodControl, concurrently
from controllers.replicaset import slow_start_batches
from reconcile import (
    ApiError,
    Client,
    Clock,
    ConflictError,
    EventRecorder,
    Expectations,
    NotFoundError,
    ObjectKey,
    Request,
    ResourceVersion,
    Result,
    Store,
    Uid,
    controller_of,
    planted,
    remove_finalizer,
)

__all__ = ["SYNC_BATCH_PERIOD", "JobReconciler", "SyncJobError"]

SYNC_BATCH_PERIOD = 1.0
"""Seconds between two syncs of one Job prompted by pod events (``syncJobBatchPeriod``)."""

_SLACK = 0.001
"""Seconds added to a requeue so the wake-up lands just after the instant, not on it."""


class SyncJobError(Exception):
    """Creating, deleting or releasing pods failed; raised once the status is written."""


class JobReconciler:
    """
    Runs each Job's pods to completion or failure (see the module docstring).

    Args:
        client: Where pods and statuses are written.
        jobs: The Job cache.
        pods: The Pod cache, with the :data:`~controllers.job.watches.INDEX_TRACKED` index.
        expectations: Shared with the Pod informer's
            :class:`~controllers.job.watches.JobPodObserver`.
        removals: Likewise.
        clock: The source of ``now``.
        recorder: Receives the events; none are recorded without one.
        burst: Most pods created or deleted per sync.
    """

    def __init__(
        self,
        client: Client,
        *,
        jobs: Store[Job],
        pods: Store[Pod],
        expectations: Expectations,
        removals: FinalizerRemovals,
        clock: Clock,
        recorder: EventRecorder | None = None,
        burst: int = BURST_PODS,
    ) -> None:
        self._client = client
        self._jobs = jobs
        self._pods = pods
        self._expectations = expectations
        self._removals = removals
        self._clock = clock
        self._recorder = recorder
        self._burst = burst
        self._control = PodControl(client, expectations, recorder)
        # By key, with the uid of the Job it belongs to: a new Job of the same name starts afresh.
        self._backoff: dict[ObjectKey, tuple[Uid, BackoffRecord]] = {}
        # The Job as our last status write left it, with the versions our writes replaced
        # since the cache last caught up: while the cache holds one of them, the write is
        # the fresher copy (a sync on the stale one could count or create twice).
        self._written: dict[ObjectKey, tuple[frozenset[ResourceVersion], Job]] = {}
        self._synced: dict[ObjectKey, tuple[float, int, bool]] = {}

    def backoff(self, key: ObjectKey) -> BackoffRecord:
        """The pod-failure back-off record of the Job ``key`` (empty when none)."""
        found = self._backoff.get(key)
        return BackoffRecord() if found is None else found[1]

    async def reconcile(self, request: Request) -> Result:
        job = self._jobs.get(request)
        tracked = self._pods.by_index(INDEX_TRACKED, f"{request.namespace}/{request.name}")
        if job is None:
            self._forget(request)
            # Pods of a deleted Job are never counted; they must not be kept alive either.
            orphans = [p for p in tracked if has_tracking_finalizer(p)]
            if planted(JOB_LEAVES_TRACKING_FINALIZER):
                orphans = []  # "the garbage collector deletes them anyway"
            unreleased = await self._release(request, orphans)
            if unreleased:
                error = next(iter(unreleased.values()))
                raise SyncJobError(str(error)) from error
            return Result.done()
        if self._expectations.observe_owner(request, job.metadata.uid):
            self._written.pop(request, None)  # another Job of that name
            self._synced.pop(request, None)
        started = self._clock.time()
        shape = (job.metadata.generation, job.metadata.deletion_timestamp is not None)
        previous = self._synced.get(request)
        if previous is not None and (previous[1], previous[2]) == shape:
            wait = previous[0] + SYNC_BATCH_PERIOD - started
            if wait > SYNC_BATCH_PERIOD / 1000:
                return Result.after(wait)
        self._synced[request] = (started, *shape)
        last = self._written.get(request)
        if last is not None and job.metadata.resource_version in last[0]:
            job = last[1]
        uid = job.metadata.uid
        mine: list[Pod] = []
        strays: list[Pod] = []
        for pod in tracked:
            ref = controller_of(pod.metadata)
            if ref is not None and ref.uid == uid:
                mine.append(pod)
            elif has_tracking_finalizer(pod):
                strays.append(pod)
        removing = self._removals.pending(request)
        decided = plan(
            job,
            mine,
            now=self._clock.now(),
            backoff=self._record_of(request, uid),
            removing=removing,
            manage_pods=self._expectations.satisfied(request),
            burst=self._burst,
        )
        return await self._apply(request, job, decided, strays)

    def _record_of(self, key: ObjectKey, uid: Uid) -> BackoffRecord | None:
        found = self._backoff.get(key)
        return None if found is None or found[0] != uid else found[1]

    def _forget(self, key: ObjectKey) -> None:
        self._expectations.forget(key)
        self._backoff.pop(key, None)
        self._written.pop(key, None)
        self._synced.pop(key, None)

    async def _apply(
        self,
        key: ObjectKey,
        job: Job,
        decided: Plan,
        strays: Sequence[Pod],
    ) -> Result:
        errors: list[Exception] = []
        status = decided.status
        if decided.delete:
            errors += await self._delete(job, key, decided.delete, release=decided.release_deleted)
        elif decided.create:
            failed, create_errors = await self._create(
                job, key, decided.create, decided.failure_counts
            )
            errors += create_errors
            status = attrs.evolve(status, active=status.active - failed)
        for event in decided.events:
            await self._event(job, event)
        if status != job.status:
            job = await self._write(key, job, attrs.evolve(job, status=status))
        self._backoff[key] = (job.metadata.uid, decided.backoff)
        unreleased = await self._release(key, [*decided.remove_finalizers, *strays])
        errors += unreleased.values()  # still tracked: counted by a retry
        final = settle(
            status,
            tracked=unreleased.keys() | _kept(decided),
            terminating=decided.terminating,
            finish=decided.finish,
            now=self._clock.now(),
        )
        if final != job.status:
            job = await self._write(key, job, attrs.evolve(job, status=final))
        if decided.finish is not None and find_job_condition(final.conditions, decided.finish.type):
            self._backoff.pop(key, None)
            if decided.finish.type == COMPLETE:
                completions = job.spec.completions
                if completions is not None and final.succeeded > completions:
                    message = "Too many succeeded pods running after completion count reached"
                    await self._event(
                        job, JobEvent(reason="TooManySucceededPods", message=message, warning=True)
                    )
                await self._event(job, JobEvent(reason="Completed", message="Job completed"))
            else:
                finish = decided.finish
                await self._event(
                    job, JobEvent(reason=finish.reason, message=finish.message, warning=True)
                )
        if errors:
            raise SyncJobError(str(errors[0])) from errors[0]
        delay = decided.requeue_after
        return Result.done() if delay is None else Result.after(max(delay, 0.0) + _SLACK)

    async def _write(self, key: ObjectKey, job: Job, new: Job) -> Job:
        written = await self._client.update_status(new)
        replaced = frozenset({job.metadata.resource_version})
        last = self._written.get(key)
        if last is not None and last[1].metadata.resource_version == job.metadata.resource_version:
            replaced |= last[0]  # written over our own write: the older versions are stale too
        self._written[key] = (replaced, written)
        return written

    async def _event(self, job: Job, event: JobEvent) -> None:
        if self._recorder is None:
            return
        if event.warning:
            await self._recorder.warning(job, reason=event.reason, message=event.message)
        else:
            await self._recorder.normal(job, reason=event.reason, message=event.message)

    # -- pods ------------------------------------------------------------------------------

    async def _create(
        self,
        job: Job,
        key: ObjectKey,
        indexes: Sequence[int | None],
        failures: Mapping[int, tuple[int, int]],
    ) -> tuple[int, list[Exception]]:
        """Create pods in slow-start batches; returns how many were not created, and errors."""
        self._expectations.expect_creations(key, len(indexes))
        shared = pod_from_template(job) if indexes and indexes[0] is None else None
        pods = [
            shared or pod_from_template(job, i, failures=None if i is None else failures.get(i))
            for i in indexes
        ]
        return await self._control.create(job, key, pods, batches=slow_start_batches(len(pods)))

    async def _delete(
        self, job: Job, key: ObjectKey, victims: Sequence[Pod], *, release: bool
    ) -> list[Exception]:
        """Delete ``victims``; with ``release``, their finalizer comes off first (never counted)."""
        uids = [p.metadata.uid for p in victims]
        self._expectations.expect_deletions(key, uids)
        if release:
            self._removals.expect(key, uids)
        return await concurrently([self._delete_one(job, key, p, release=release) for p in victims])

    async def _delete_one(
        self, job: Job, key: ObjectKey, pod: Pod, *, release: bool
    ) -> Exception | None:
        uid = pod.metadata.uid
        if release and has_tracking_finalizer(pod):
            error = await self._release_one(key, pod)
            if error is not None:
                self._expectations.deletion_observed(key, uid)
                return error
        return await self._control.delete_one(job, key, pod, failure_event=False)

    async def _release(self, key: ObjectKey, pods: Sequence[Pod]) -> dict[Uid, Exception]:
        """Remove the tracking finalizer from ``pods``; the uids where that failed, with why."""
        if not pods:
            return {}
        self._removals.expect(key, [p.metadata.uid for p in pods])
        if len(pods) == 1:
            results = [await self._release_one(key, pods[0])]
        else:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(self._release_one(key, p)) for p in pods]
            results = [t.result() for t in tasks]
        return {p.metadata.uid: e for p, e in zip(pods, results, strict=True) if e is not None}

    async def _release_one(self, key: ObjectKey, pod: Pod) -> Exception | None:
        for attempt in range(2):
            try:
                await self._client.update(
                    attrs.evolve(
                        pod, metadata=remove_finalizer(pod.metadata, JOB_TRACKING_FINALIZER)
                    )
                )
                return None
            except NotFoundError:
                return None  # gone: its finalizer with it
            except ConflictError as exc:
                if attempt:
                    self._removals.observed(key, pod.metadata.uid)
                    return exc
                try:
                    pod = await self._client.get(Pod, pod.metadata.key)
                except NotFoundError:
                    return None
                if not has_tracking_finalizer(pod):
                    return None
            except ApiError as exc:
                self._removals.observed(key, pod.metadata.uid)
                return exc
        return None


def _kept(decided: Plan) -> set[Uid]:
    """Uncounted uids of pods this sync does not release: they keep their finalizer."""
    released = {p.metadata.uid for p in decided.remove_finalizers}
    uncounted = decided.status.uncounted_terminated_pods
    if uncounted is None:
        return set()
    return {u for u in (*uncounted.succeeded, *uncounted.failed) if u not in released}
