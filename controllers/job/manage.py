"""
How many pods a Job runs: the pure half of Kubernetes' ``manageJob``.

Given the Job, its active pods and what already succeeded, :func:`manage`
decides which pods to create (with their completion indexes) or delete,
never both in one sync. Kubernetes: ``manageJob`` and
``activePodsForRemoval`` in pkg/controller/job/job_controller.go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import attrs

from controllers.api.batch import Job, PodReplacementPolicy
from controllers.api.core import Pod
from controllers.job.indexes import completion_index, first_pending_indexes
from controllers.job.pods import is_indexed
from controllers.replicaset import pods_to_delete

__all__ = ["BURST_PODS", "Manage", "manage", "parallelism", "want_active"]

BURST_PODS = 500
"""Most pods one sync creates or deletes (Kubernetes' ``MaxPodCreateDeletePerSync``)."""


def parallelism(job: Job) -> int:
    """``spec.parallelism``, defaulted to 1."""
    return 1 if job.spec.parallelism is None else job.spec.parallelism


@attrs.frozen(kw_only=True)
class Manage:
    """
    Pods to create and delete in one sync (at most one of the two is non-empty).

    Attributes:
        create: One entry per pod to create: its completion index, or ``None``
            for a NonIndexed Job.
        delete: Active pods to delete, first to go first.
        backoff: Seconds to wait before creating, when pods are missing but
            the pod-failure back-off has not elapsed; else ``None``.
    """

    create: tuple[int | None, ...] = ()
    delete: tuple[Pod, ...] = ()
    backoff: float | None = None


def want_active(job: Job, *, active: int, succeeded: int) -> int:
    """
    How many pods should be active.

    A work queue (no ``completions``) runs ``parallelism`` pods until one
    succeeds, then lets the active ones finish; otherwise
    ``min(completions - succeeded, parallelism)``, never below 0. A
    suspended Job runs none.
    """
    if job.spec.suspend:
        return 0
    completions = job.spec.completions
    if completions is None:
        return active if succeeded > 0 else parallelism(job)
    return max(0, min(completions - succeeded, parallelism(job)))


def _age(pod: Pod) -> tuple[dt.datetime, str]:
    created = pod.metadata.creation_timestamp
    return (created or dt.datetime.max.replace(tzinfo=dt.UTC), pod.metadata.name)


def _excess_indexed(
    job: Job, active: Sequence[Pod], succeeded: Collection[int]
) -> tuple[list[Pod], list[Pod]]:
    """Active pods of an Indexed Job split into kept ones and ones with a bad or duplicate index."""
    completions = job.spec.completions or 0
    kept: list[Pod] = []
    excess: list[Pod] = []
    seen: set[int] = set()
    # Oldest first, so the pod that has run longest keeps its index.
    for pod in sorted(active, key=_age):
        index = completion_index(pod)
        if index is None or index >= completions or index in succeeded or index in seen:
            excess.append(pod)
        else:
            seen.add(index)
            kept.append(pod)
    return kept, excess


def manage(
    job: Job,
    active: Sequence[Pod],
    *,
    succeeded: int,
    succeeded_indexes: Collection[int] = frozenset(),
    terminating: int = 0,
    backoff: float = 0.0,
    now: dt.datetime,
    burst: int = BURST_PODS,
) -> Manage:
    """
    The pods to create or delete so that ``job`` runs :func:`want_active` pods.

    Args:
        job: The Job (defaulted).
        active: Its active pods (not finished, not being deleted).
        succeeded: Successes so far, this sync's included (distinct indexes
            for an Indexed Job).
        succeeded_indexes: The succeeded indexes of an Indexed Job.
        terminating: Pods being deleted; with ``podReplacementPolicy: Failed``
            they are not replaced until they have failed.
        backoff: Seconds left of the pod-failure back-off
            (:func:`~controllers.job.backoff.remaining_backoff`).
        now: For the deletion order.
        burst: Most pods created or deleted.

    Returns:
        At most ``burst`` creations or deletions. An Indexed Job first drops
        pods with an invalid, out-of-range, succeeded or duplicate index;
        creations take the lowest free indexes. No creation while ``backoff``
        is positive (``Manage.backoff`` says how long to wait).
    """
    pods = list(active)
    if is_indexed(job):
        pods, excess = _excess_indexed(job, pods, succeeded_indexes)
        if excess:
            return Manage(delete=tuple(excess[:burst]))
    want = want_active(job, active=len(pods), succeeded=succeeded)
    if len(pods) > want:
        count = min(len(pods) - want, burst)
        return Manage(delete=pods_to_delete(pods, count, now=now))
    diff = want - len(pods)
    if job.spec.pod_replacement_policy is PodReplacementPolicy.FAILED:
        diff -= terminating
    if diff <= 0:
        return Manage()
    if backoff > 0:
        return Manage(backoff=backoff)
    diff = min(diff, burst)
    if not is_indexed(job):
        return Manage(create=(None,) * diff)
    taken = {i for i in (completion_index(p) for p in pods) if i is not None}
    indexes = first_pending_indexes(
        job.spec.completions or 0, diff, succeeded=succeeded_indexes, active=taken
    )
    return Manage(create=indexes)
