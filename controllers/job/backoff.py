"""
The pod-failure back-off of a Job: pure, with ``now`` passed in.

After failed pods, a Job waits before creating replacements: 10 s after one
failure, doubling per further failure up to 10 minutes, counted from the
finish time of the latest failure. A success resets the count to the
failures that finished after it. Kubernetes: ``backoff_utils.go`` in
pkg/controller/job (``backoffRecord``, ``newBackoffRecord``,
``getFinishedTime``, ``getRemainingTimeForFailuresCount``) with the
constants ``DefaultJobPodFailureBackOff`` and ``MaxJobPodFailureBackOff``
of ``job_controller.go``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from controllers.api.core import Pod

__all__ = [
    "DEFAULT_POD_FAILURE_BACKOFF",
    "MAX_POD_FAILURE_BACKOFF",
    "BackoffRecord",
    "backoff_delay",
    "finish_time",
    "remaining_backoff",
    "update_backoff",
]

DEFAULT_POD_FAILURE_BACKOFF = 10.0
"""Seconds of back-off after the first failure (``DefaultJobPodFailureBackOff``)."""

MAX_POD_FAILURE_BACKOFF = 600.0
"""The back-off never exceeds this many seconds (``MaxJobPodFailureBackOff``, 10 min)."""


@attrs.frozen(kw_only=True)
class BackoffRecord:
    """
    Failures since the Job's latest success, and when the latest of them finished.

    Attributes:
        failures: Failed pods that finished after the latest succeeded one.
        last_failure: Finish time of the latest of those; ``None`` when there are none.
    """

    failures: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    last_failure: dt.datetime | None = None


def finish_time(pod: Pod) -> dt.datetime:
    """
    When ``pod`` finished, by Kubernetes' ``getFinishedTime`` rules, first that applies.

    1. The latest ``terminated.finishedAt`` when every (init and regular)
       container is terminated with a finish time;
    2. the ``lastTransitionTime`` of a ``Ready=False`` condition;
    3. ``deletionTimestamp - deletionGracePeriodSeconds``;
    4. the pod's ``creationTimestamp``.
    """
    statuses = (*pod.status.init_container_statuses, *pod.status.container_statuses)
    latest: dt.datetime | None = None
    for status in statuses:
        terminated = status.state.terminated
        if terminated is None or terminated.finished_at is None:
            latest = None
            break
        if latest is None or terminated.finished_at > latest:
            latest = terminated.finished_at
    if latest is not None:
        return latest
    for condition in pod.status.conditions:
        if (
            condition.type == "Ready"
            and condition.status == "False"
            and condition.last_transition_time is not None
        ):
            return condition.last_transition_time
    meta = pod.metadata
    if meta.deletion_timestamp is not None:
        grace = meta.deletion_grace_period_seconds or 0
        return meta.deletion_timestamp - dt.timedelta(seconds=grace)
    created = meta.creation_timestamp
    return created if created is not None else dt.datetime.min.replace(tzinfo=dt.UTC)


def update_backoff(
    record: BackoffRecord, succeeded: Sequence[Pod], failed: Sequence[Pod]
) -> BackoffRecord:
    """
    ``record`` after the newly finished pods ``succeeded`` and ``failed``.

    Without new successes the failures add up and the latest failure's finish
    time is kept. With one, only failures that finished strictly after the
    latest success count. Kubernetes: ``newBackoffRecord``.
    """
    if not failed:
        return BackoffRecord() if succeeded else record
    failures = sorted(finish_time(p) for p in failed)
    if not succeeded:
        return BackoffRecord(failures=record.failures + len(failures), last_failure=failures[-1])
    last_success = max(finish_time(p) for p in succeeded)
    after = [t for t in failures if t > last_success]
    return BackoffRecord(failures=len(after), last_failure=after[-1] if after else None)


def backoff_delay(failures: int) -> float:
    """
    Seconds to wait after ``failures`` consecutive failures: 0, 10, 20, 40 ... capped at 600.

    Raises:
        ValueError: if ``failures`` is negative.
    """
    if failures < 0:
        raise ValueError(f"failures: must be >= 0, got {failures}")
    if failures == 0:
        return 0.0
    delay = DEFAULT_POD_FAILURE_BACKOFF
    for _ in range(1, failures):
        delay *= 2
        if delay >= MAX_POD_FAILURE_BACKOFF:
            return MAX_POD_FAILURE_BACKOFF
    return delay


def remaining_backoff(record: BackoffRecord, *, now: dt.datetime) -> float:
    """
    Seconds from ``now`` until the Job may create pods again (0 when it may now).

    ``backoff_delay(record.failures)`` minus the time since
    ``record.last_failure``, never negative. Kubernetes:
    ``backoffRecord.getRemainingTime`` / ``getRemainingTimeForFailuresCount``.
    """
    if record.failures == 0 or record.last_failure is None:
        return 0.0
    elapsed = (now - record.last_failure).total_seconds()
    return max(backoff_delay(record.failures) - elapsed, 0.0)
