"""
The CronJob controller's I/O half: read the caches, plan (pure), write.

One reconcile of a CronJob (Kubernetes' ``sync`` in cronjob_controllerv2.go):

1. The Jobs it controls come from the Job cache's ``INDEX_CONTROLLER``
   index. An active Job the cache does not hold is looked up on the API
   server, so a slow watch does not make it "missing"; a running Job the
   cached CronJob does not list makes it re-read the CronJob, so a lagging
   cache does not make the Job "unexpected".
2. :func:`~controllers.cronjob.plan.plan` decides (told when the schedule or
   time zone changed since the last sync); its events are recorded.
3. With ``Replace``, the active Jobs are deleted (background propagation,
   uid precondition). If one cannot be deleted, nothing is created.
4. The Job of the due run is created. ``AlreadyExists`` means this run was
   created before (the name is derived from the schedule time): a Job the
   CronJob controls joins ``status.active`` if it is not there yet, one it
   does not control is left alone.
5. Finished Jobs beyond the history limits are deleted.
6. The status is written when it changed; a failed write raises after it,
   so the engine retries with backoff; otherwise the result asks for the
   next sync just after the next schedule time.

Events on the CronJob, with Kubernetes' reasons and messages, besides the
planner's: ``SuccessfulCreate`` "Created job NAME", ``FailedCreate`` "Error
creating job: ERROR", ``SuccessfulDelete`` "Deleted job NAME",
``FailedDelete`` "Deleted job: ERROR".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from controllers.api.batch import CronJob, CronJobStatus, Job
from controllers.cronjob.jobs import finished_condition
from controllers.cronjob.plan import Plan, plan, record_created
from controllers.namespace import is_terminating_refusal
from reconcile import (
    INDEX_CONTROLLER,
    AlreadyExistsError,
    ApiError,
    Client,
    Clock,
    EventRecorder,
    NotFoundError,
    ObjectKey,
    Preconditions,
    Propagation,
    Request,
    ResourceVersion,
    Result,
    Store,
    is_controlled_by,
)

__all__ = ["CronJobReconciler", "SyncError"]


class SyncError(Exception):
    """Creating or deleting a Job failed; raised once the status is written, for a backoff."""


class CronJobReconciler:
    """
    Runs each CronJob's Jobs on its schedule (see the module docstring).

    Args:
        client: Where Jobs and statuses are written.
        cron_jobs: The CronJob cache.
        jobs: The Job cache (with the ``INDEX_CONTROLLER`` index every store has).
        clock: The source of ``now``.
        recorder: Receives the events; none are recorded without one.
    """

    def __init__(
        self,
        client: Client,
        *,
        cron_jobs: Store[CronJob],
        jobs: Store[Job],
        clock: Clock,
        recorder: EventRecorder | None = None,
    ) -> None:
        self._client = client
        self._cron_jobs = cron_jobs
        self._jobs = jobs
        self._clock = clock
        self._recorder = recorder
        # The CronJob as our last status write left it, with the version it
        # replaced: while the cache still holds that version, the write is the
        # fresher copy (a Job event can arrive before our own status write).
        self._written: dict[ObjectKey, tuple[ResourceVersion, CronJob]] = {}
        # Each CronJob's schedule and time zone at its last sync: a change
        # waits for the new schedule's next time.
        self._timings: dict[ObjectKey, tuple[str, str, str | None]] = {}

    def wrote(self, cron_job: CronJob) -> bool:
        """Whether ``cron_job`` (as cached) is this reconciler's own last status write."""
        last = self._written.get(cron_job.metadata.key)
        return last is not None and (
            last[1].metadata.resource_version == cron_job.metadata.resource_version
        )

    async def reconcile(self, request: Request) -> Result:
        cron_job = self._cron_jobs.get(request)
        if cron_job is None:
            self._written.pop(request, None)
            self._timings.pop(request, None)
            return Result.done()
        last = self._written.get(request)
        if last is not None and last[0] == cron_job.metadata.resource_version:
            cron_job = last[1]
        jobs = list(self._jobs.by_index(INDEX_CONTROLLER, cron_job.metadata.uid))
        jobs += await self._uncached_active(cron_job, jobs)
        cron_job = await self._fresher(cron_job, jobs)
        spec = cron_job.spec
        timing = (cron_job.metadata.uid, spec.schedule, spec.time_zone)
        previous = self._timings.get(request, timing)
        self._timings[request] = timing
        changed = previous[0] == timing[0] and previous != timing  # same CronJob, new timing
        decided = plan(cron_job, jobs, now=self._clock.now(), schedule_changed=changed)
        for event in decided.events:
            await self._event(cron_job, event.type, event.reason, event.message)
        status, error = await self._apply(cron_job, decided)
        if status != cron_job.status:
            written = await self._client.update_status(attrs.evolve(cron_job, status=status))
            self._written[request] = (cron_job.metadata.resource_version, written)
        if error is not None:
            raise error
        if decided.requeue_after is None:
            return Result.done()
        return Result.after(decided.requeue_after)

    async def _uncached_active(self, cron_job: CronJob, cached: Sequence[Job]) -> list[Job]:
        """Active Jobs missing from the cache that the API server still has."""
        known = {job.metadata.uid for job in cached}
        found = []
        for ref in cron_job.status.active:
            if ref.uid in known:
                continue
            try:
                job = await self._client.get(Job, ObjectKey(namespace=ref.namespace, name=ref.name))
            except NotFoundError:
                continue
            if job.metadata.uid == ref.uid:
                found.append(job)
        return found

    async def _fresher(self, cron_job: CronJob, jobs: Sequence[Job]) -> CronJob:
        """
        The live CronJob if it lists a running Job the cached one does not (a lagging cache).

        Only asked when such a Job exists, before calling it unexpected.
        """
        listed = {ref.uid for ref in cron_job.status.active}
        strays = {
            j.metadata.uid
            for j in jobs
            if j.metadata.uid not in listed and finished_condition(j) is None
        }
        if not strays:
            return cron_job
        try:
            live = await self._client.get(CronJob, cron_job.metadata.key)
        except NotFoundError:
            return cron_job
        if live.metadata.uid == cron_job.metadata.uid and any(
            ref.uid in strays for ref in live.status.active
        ):
            return live
        return cron_job

    async def _apply(
        self, cron_job: CronJob, decided: Plan
    ) -> tuple[CronJobStatus, SyncError | None]:
        """Make the plan's writes; the status they leave and the first failure."""
        status = decided.status
        error: SyncError | None = None
        kept = await self._delete(cron_job, decided.replace)
        if kept:
            # Not replaced: keep them active and start nothing this time.
            uids = {job.metadata.uid for job in kept}
            restored = tuple(r for r in cron_job.status.active if r.uid in uids)
            status = attrs.evolve(status, active=status.active + restored)
            names = ", ".join(job.metadata.name for job in kept)
            error = SyncError(f"could not replace job(s) {names}")
        elif decided.create is not None and decided.scheduled_time is not None:
            status, error = await self._create(
                cron_job, decided.create, decided.scheduled_time, status
            )
        failed = await self._delete(cron_job, decided.cleanup)
        if failed and error is None:
            error = SyncError(f"could not delete job {failed[0].metadata.name}")
        return status, error

    async def _create(
        self, cron_job: CronJob, job: Job, scheduled: dt.datetime, status: CronJobStatus
    ) -> tuple[CronJobStatus, SyncError | None]:
        try:
            created = await self._client.create(job)
        except AlreadyExistsError:
            # This run was created before: by us (then it belongs in the
            # status) or by someone else (then it is theirs).
            try:
                existing = await self._client.get(Job, job.metadata.key)
            except NotFoundError:
                return status, SyncError(f"job {job.metadata.name} exists and is gone")
            if not is_controlled_by(existing.metadata, cron_job.metadata.uid):
                return status, None
            return record_created(status, existing, scheduled), None
        except ApiError as exc:
            if is_terminating_refusal(exc):
                return status, None  # every create would fail; the namespace takes the CronJob
            await self._event(cron_job, "Warning", "FailedCreate", f"Error creating job: {exc}")
            return status, SyncError(str(exc))
        await self._event(
            cron_job, "Normal", "SuccessfulCreate", f"Created job {created.metadata.name}"
        )
        return record_created(status, created, scheduled), None

    async def _delete(self, cron_job: CronJob, jobs: Sequence[Job]) -> list[Job]:
        """Delete ``jobs`` (``deleteJob``); the ones that could not be deleted."""
        failed = []
        for job in jobs:
            try:
                await self._client.delete(
                    Job,
                    job.metadata.key,
                    propagation=Propagation.BACKGROUND,
                    preconditions=Preconditions(uid=job.metadata.uid),
                )
            except NotFoundError:
                continue  # gone already: as good as deleted
            except ApiError as exc:
                await self._event(cron_job, "Warning", "FailedDelete", f"Deleted job: {exc}")
                failed.append(job)
                continue
            await self._event(
                cron_job, "Normal", "SuccessfulDelete", f"Deleted job {job.metadata.name}"
            )
        return failed

    async def _event(self, cron_job: CronJob, type: str, reason: str, message: str) -> None:
        if self._recorder is None:
            return
        if type == "Warning":
            await self._recorder.warning(cron_job, reason=reason, message=message)
        else:
            await self._recorder.normal(cron_job, reason=reason, message=message)
