"""
The TTL-after-finished controller's I/O: wait for the TTL, re-read, delete.

Kubernetes: ``processJob`` in
pkg/controller/ttlafterfinished/ttlafterfinished_controller.go.
"""

from __future__ import annotations

from controllers.api.batch import Job
from controllers.ttlafterfinished.plan import time_left
from reconcile import (
    Client,
    Clock,
    NotFoundError,
    Propagation,
    Request,
    Result,
    Store,
    delete_by_uid,
)

__all__ = ["TTLAfterFinishedReconciler"]

_SLACK = 0.001
"""Seconds added to a requeue so the wake-up lands just after the instant, not on it."""


class TTLAfterFinishedReconciler:
    """
    Deletes each finished Job whose ``ttlSecondsAfterFinished`` has passed.

    Args:
        client: Where Jobs are read fresh and deleted.
        jobs: The Job cache.
        clock: The source of ``now``.
    """

    def __init__(self, client: Client, *, jobs: Store[Job], clock: Clock) -> None:
        self._client = client
        self._jobs = jobs
        self._clock = clock

    async def reconcile(self, request: Request) -> Result:
        job = self._jobs.get(request)
        if job is None or job.metadata.deletion_timestamp is not None:
            return Result.done()
        left = time_left(job, now=self._clock.now())
        if left is None:
            return Result.done()
        if left > 0:
            return Result.after(left + _SLACK)
        # The cache may be stale (the TTL changed meanwhile): decide on a fresh copy.
        try:
            fresh = await self._client.get(Job, request)
        except NotFoundError:
            return Result.done()
        left = time_left(fresh, now=self._clock.now())
        if left is None or fresh.metadata.deletion_timestamp is not None:
            return Result.done()
        if left > 0:
            return Result.after(left + _SLACK)
        # Gone already, or a new Job of that name: nothing of ours to delete.
        await delete_by_uid(
            self._client, Job, request, fresh.metadata.uid, propagation=Propagation.BACKGROUND
        )
        return Result.done()
