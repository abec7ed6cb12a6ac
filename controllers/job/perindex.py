"""
``backoffLimitPerIndex``: failures counted per index of an Indexed Job. Pure.

Each pod carries how many failed pods its index had before it, in the
annotation ``batch.kubernetes.io/job-index-failure-count`` (and ignored
failures in ``...-ignored-failure-count``). An index whose failed pod had
already used up ``backoffLimitPerIndex`` retries (or that a ``FailIndex``
rule matched) is failed for good: it is listed in ``status.failedIndexes``
and never run again. A failed pod keeps its tracking finalizer until its
replacement exists, so that the count can be carried over; the replacement
waits out a back-off computed from that pod alone.

Kubernetes: ``calculateFailedIndexes``, ``isIndexFailed``,
``getPodsWithDelayedDeletionPerIndex``, ``getNewIndexFailureCounts`` in
pkg/controller/job/indexed_job_utils.go and ``getRemainingTimePerIndex`` in
backoff_utils.go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence

import attrs

from controllers.api.batch import Job, JobStatus, PodFailurePolicyAction
from controllers.api.core import Pod
from controllers.job.backoff import BackoffRecord, finish_time, remaining_backoff
from controllers.job.failures import is_pod_failed, match_pod_failure_policy
from controllers.job.indexes import completion_index, parse_intervals
from controllers.job.pods import INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT, is_indexed
from reconcile import FrozenDict

__all__ = [
    "INDEX_FAILURE_COUNT",
    "INDEX_IGNORED_FAILURE_COUNT",
    "PerIndex",
    "creatable_indexes",
    "has_backoff_limit_per_index",
    "index_failure_count",
    "index_ignored_failure_count",
    "is_index_failed",
    "next_failure_counts",
    "per_index",
]

_INT32_MAX = 2**31 - 1


def has_backoff_limit_per_index(job: Job) -> bool:
    """Whether ``job`` is Indexed with ``backoffLimitPerIndex``."""
    return is_indexed(job) and job.spec.backoff_limit_per_index is not None


def _count(pod: Pod, key: str) -> int:
    text = pod.metadata.annotations.get(key, "")
    if not text.isascii() or not text.isdigit():
        return 0  # absent or tampered with: start from zero, as upstream does
    value = int(text)
    return value if value <= _INT32_MAX else 0


def index_failure_count(pod: Pod) -> int:
    """The pod's :data:`INDEX_FAILURE_COUNT`; 0 when absent or invalid."""
    return _count(pod, INDEX_FAILURE_COUNT)


def index_ignored_failure_count(pod: Pod) -> int:
    """The pod's :data:`INDEX_IGNORED_FAILURE_COUNT`; 0 when absent or invalid."""
    return _count(pod, INDEX_IGNORED_FAILURE_COUNT)


def is_index_failed(job: Job, pod: Pod) -> bool:
    """
    Whether ``pod``'s failure fails its index for good.

    So when a ``FailIndex`` rule matches it, or when it counts as a failure
    and its index had already failed ``backoffLimitPerIndex`` times before it.
    """
    if not is_pod_failed(pod, job):
        return False
    match = match_pod_failure_policy(job.spec.pod_failure_policy, pod)
    if match.action is PodFailurePolicyAction.FAIL_INDEX:
        return True
    limit = job.spec.backoff_limit_per_index or 0
    return match.counts and index_failure_count(pod) >= limit


def next_failure_counts(job: Job, replaced: Pod | None) -> tuple[int, int]:
    """The failure and ignored-failure counts of the pod replacing ``replaced`` (none: 0, 0)."""
    if replaced is None:
        return 0, 0
    count, ignored = index_failure_count(replaced), index_ignored_failure_count(replaced)
    if match_pod_failure_policy(job.spec.pod_failure_policy, replaced).counts:
        return count + 1, ignored
    return count, ignored + 1


@attrs.frozen(kw_only=True)
class PerIndex:
    """
    The per-index state of one sync.

    Attributes:
        failed: Failed indexes, previous (``status.failedIndexes``) and new.
        delayed: Per index, the failed pod whose finalizer stays until its
            replacement exists (its counts carry over).
    """

    failed: frozenset[int] = frozenset()
    delayed: FrozenDict[int, Pod] = attrs.field(factory=FrozenDict)


def per_index(
    job: Job,
    status: JobStatus,
    candidates: Sequence[Pod],
    *,
    active: Iterable[Pod],
    succeeded: Collection[int],
) -> PerIndex:
    """
    Failed indexes and delayed pods, from the pods still carrying the finalizer.

    ``candidates`` are those pods (removal not pending); ``active`` the
    active pods; ``succeeded`` the succeeded indexes.
    """
    completions = job.spec.completions or 0
    failed = set(parse_intervals(status.failed_indexes or "", completions=completions))
    valid: list[tuple[int, Pod]] = []
    for pod in candidates:
        index = completion_index(pod)
        if index is not None and index < completions:
            valid.append((index, pod))
    failed.update(i for i, p in valid if is_index_failed(job, p))
    busy = {i for i in (completion_index(p) for p in active) if i is not None}
    delayed: dict[int, Pod] = {}
    for index, pod in valid:
        if not is_pod_failed(pod, job) or index in succeeded or index in failed or index in busy:
            continue
        last = delayed.get(index)
        if last is None or (
            _absolute(last) <= _absolute(pod) and finish_time(pod) >= finish_time(last)
        ):
            delayed[index] = pod
    return PerIndex(failed=frozenset(failed), delayed=FrozenDict(delayed))


def _absolute(pod: Pod) -> int:
    return index_failure_count(pod) + index_ignored_failure_count(pod)


def creatable_indexes(
    indexes: Sequence[int | None], delayed: Mapping[int, Pod], *, now: dt.datetime
) -> tuple[tuple[int | None, ...], float | None]:
    """
    Of ``indexes`` to create, those whose back-off has passed; else the shortest wait.

    An index's back-off counts from the finish of its delayed failed pod,
    with that pod's failures (counted and ignored) plus one.
    """
    ready: list[int | None] = []
    soonest: float | None = None
    for index in indexes:
        pod = delayed.get(index) if index is not None else None
        wait = 0.0
        if pod is not None:
            record = BackoffRecord(failures=_absolute(pod) + 1, last_failure=finish_time(pod))
            wait = remaining_backoff(record, now=now)
        if wait == 0:
            ready.append(index)
        elif soonest is None or wait < soonest:
            soonest = wait
    if ready:
        return tuple(ready), None
    return (), soonest
