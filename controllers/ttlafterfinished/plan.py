"""
When a finished Job expires: pure, with ``now`` passed in.

Kubernetes: ``timeLeft`` / ``getFinishAndExpireTime`` / ``needsCleanup`` in
pkg/controller/ttlafterfinished/ttlafterfinished_controller.go.
"""

from __future__ import annotations

import datetime as dt

from controllers.api.batch import Job
from controllers.job import finished_condition_time

__all__ = ["expire_time", "needs_cleanup", "time_left"]


def needs_cleanup(job: Job) -> bool:
    """Whether ``job`` has ``ttlSecondsAfterFinished`` and is finished (``Complete``/``Failed``)."""
    return job.spec.ttl_seconds_after_finished is not None and (
        finished_condition_time(job) is not None
    )


def expire_time(job: Job) -> dt.datetime | None:
    """
    When ``job`` is to be deleted: its finish time plus ``ttlSecondsAfterFinished``.

    The finish time is the ``lastTransitionTime`` of its ``Complete`` or
    ``Failed`` condition. ``None`` when the Job has no TTL or is not finished.
    """
    ttl = job.spec.ttl_seconds_after_finished
    finished = finished_condition_time(job)
    if ttl is None or finished is None:
        return None
    return finished + dt.timedelta(seconds=ttl)


def time_left(job: Job, *, now: dt.datetime) -> float | None:
    """
    Seconds until ``job`` expires (0 or less: expired); ``None`` when it never does as it is.
    """
    expires = expire_time(job)
    return None if expires is None else (expires - now).total_seconds()
