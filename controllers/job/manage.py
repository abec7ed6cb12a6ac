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

from controllers.api.batch import Job
from controllers.api.core import Pod
from controllers.job.failures import replaces_only_failed
from controllers.job.indexes import completion_index, first_pending_indexes
from controllers.job.pods import is_indexed
from controllers.planted import JOB_IGNORES_PARALLELISM
from controllers.replicaset import pods_to_delete
from reconcile import planted

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
    if planted(JOB_IGNORES_PARALLELISM):
        return max(0, completions - succeeded)
    return max(0, min(completions - succeeded, parallelism(job)))


def _split_indexed(
    job: Job, active: Sequence[Pod], *, now: dt.datetime
) -> tuple[list[Pod], list[Pod]]:
    """
    Active pods of an Indexed Job: those to remove first, and the rest.

    Pods without a valid index or with one at or above ``completions`` go;
    of several pods sharing an index, all but the one the deletion order
    ranks last go. Kubernetes: ``appendDuplicatedIndexPodsForRemoval``.
    """
    completions = job.spec.completions or 0
    remove: list[Pod] = []
    groups: dict[int, list[Pod]] = {}
    for pod in active:
        index = completion_index(pod)
        if index is None or index >= completions:
            remove.append(pod)
        else:
            groups.setdefault(index, []).append(pod)
    left: list[Pod] = []
    for index in sorted(groups):
        group = groups[index]
        if len(group) == 1:
            left.append(group[0])
            continue
        doomed = pods_to_delete(group, len(group) - 1, now=now)
        gone = {p.metadata.uid for p in doomed}
        remove.extend(doomed)
        left.extend(p for p in group if p.metadata.uid not in gone)
    return remove, left


def manage(
    job: Job,
    active: Sequence[Pod],
    *,
    succeeded: int,
    succeeded_indexes: Collection[int] = frozenset(),
    terminating: int = 0,
    blocked_indexes: Collection[int] = frozenset(),
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
        terminating: Pods being deleted; when only failed pods are replaced
            (:func:`~controllers.job.failures.replaces_only_failed`) they are
            not replaced until they have failed.
        blocked_indexes: Indexes no pod may be created for (those of
            terminating pods that are not replaced yet).
        backoff: Seconds left of the pod-failure back-off
            (:func:`~controllers.job.backoff.remaining_backoff`).
        now: For the deletion order.
        burst: Most pods created or deleted.

    Returns:
        At most ``burst`` creations or deletions, never both. Deletions
        bring the active pods down to :func:`want_active`, an Indexed Job's
        pods with an invalid, out-of-range or duplicate index first;
        creations take the lowest free indexes. No creation while ``backoff``
        is positive (``Manage.backoff`` says how long to wait).
    """
    want = want_active(job, active=len(active), succeeded=succeeded)
    at_least = max(len(active) - want, 0)
    remove, left = _split_indexed(job, active, now=now) if is_indexed(job) else ([], list(active))
    if len(remove) < at_least:
        remove.extend(pods_to_delete(left, at_least - len(remove), now=now))
    if remove:
        return Manage(delete=tuple(remove[:burst]))
    diff = want - len(active)
    if replaces_only_failed(job):
        diff -= terminating
    if diff <= 0:
        return Manage()
    if backoff > 0:
        return Manage(backoff=backoff)
    diff = min(diff, burst)
    if not is_indexed(job):
        return Manage(create=(None,) * diff)
    taken = {i for i in (completion_index(p) for p in active) if i is not None}
    indexes = first_pending_indexes(
        job.spec.completions or 0,
        diff,
        succeeded=succeeded_indexes,
        active=taken | set(blocked_indexes),
    )
    return Manage(create=indexes)
