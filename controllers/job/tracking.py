"""
Tracking finished pods with the ``batch.kubernetes.io/job-tracking`` finalizer. Pure.

A finished pod's outcome goes through three states, so that it is counted
exactly once even if the controller stops between any two writes:

1. recorded: its uid is in ``status.uncountedTerminatedPods`` (written to the
   API) while the pod still carries the finalizer (:func:`record_finished`);
2. released: the finalizer is removed from the pod;
3. counted: the uid leaves ``uncountedTerminatedPods`` and ``succeeded`` or
   ``failed`` grows by one (:func:`count_uncounted`, :func:`settle`).

A pod without the finalizer is never recorded again. Succeeded pods of an
Indexed Job skip the uid list: their index in ``completedIndexes`` is what
counts. Kubernetes: ``trackJobStatusAndRemoveFinalizers``,
``flushUncountedAndRemoveFinalizers`` and ``cleanUncountedPodsWithoutFinalizers``
in pkg/controller/job/job_controller.go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import attrs

from controllers.api.batch import Job, JobCondition, JobStatus, UncountedTerminatedPods
from controllers.api.core import Pod
from controllers.job.conditions import COMPLETE, find_job_condition
from controllers.job.failures import is_pod_failed, match_pod_failure_policy
from controllers.job.indexes import completion_index
from controllers.job.pods import is_indexed
from controllers.planted import JOB_COUNTS_FINISHED_POD_TWICE
from reconcile import Uid, planted

__all__ = [
    "MAX_UNCOUNTED_PODS",
    "count_uncounted",
    "is_terminating",
    "record_finished",
    "settle",
    "valid_index",
]

MAX_UNCOUNTED_PODS = 500
"""Most finished pods recorded as uncounted in one sync (Kubernetes' ``MaxUncountedPods``)."""

_EMPTY = UncountedTerminatedPods()


def valid_index(job: Job, pod: Pod) -> bool:
    """Whether ``pod`` has a completion index below ``completions``."""
    index = completion_index(pod)
    return index is not None and index < (job.spec.completions or 0)


def is_terminating(pod: Pod) -> bool:
    """Being deleted but not yet finished: its containers may still run."""
    return pod.metadata.deletion_timestamp is not None and pod.status.phase not in (
        "Succeeded",
        "Failed",
    )


def count_uncounted(status: JobStatus, tracked: Collection[Uid]) -> JobStatus:
    """
    ``status`` with the uncounted pods that are no longer ``tracked`` counted.

    ``tracked`` holds the uids of pods that still carry the tracking
    finalizer; an uncounted pod without it (or gone) moves from
    ``uncountedTerminatedPods`` to ``succeeded`` or ``failed``. Kubernetes:
    ``cleanUncountedPodsWithoutFinalizers``.
    """
    uncounted = status.uncounted_terminated_pods or _EMPTY
    done_s = [u for u in uncounted.succeeded if u not in tracked]
    done_f = [u for u in uncounted.failed if u not in tracked]
    if planted(JOB_COUNTS_FINISHED_POD_TWICE):
        # Counts a success still tracked now, and again once its finalizer is gone.
        early = sum(1 for u in uncounted.succeeded if u in tracked)
        status = attrs.evolve(status, succeeded=status.succeeded + early)
    if not done_s and not done_f and status.uncounted_terminated_pods is not None:
        return status
    return attrs.evolve(
        status,
        succeeded=status.succeeded + len(done_s),
        failed=status.failed + len(done_f),
        uncounted_terminated_pods=UncountedTerminatedPods(
            succeeded=tuple(u for u in uncounted.succeeded if u in tracked),
            failed=tuple(u for u in uncounted.failed if u in tracked),
        ),
    )


def settle(
    status: JobStatus,
    *,
    tracked: Collection[Uid],
    terminating: int,
    finish: JobCondition | None,
    now: dt.datetime,
) -> JobStatus:
    """
    The status after the finalizers came off the pods no longer ``tracked``.

    Counts them (:func:`count_uncounted`) and adds ``finish`` (setting
    ``completionTime`` for ``Complete``) once nothing is uncounted and no pod
    is ``terminating``.
    """
    status = count_uncounted(status, tracked)
    uncounted = status.uncounted_terminated_pods or _EMPTY
    if finish is None or uncounted.succeeded or uncounted.failed or terminating:
        return status
    if find_job_condition(status.conditions, finish.type) is not None:
        return status
    final = attrs.evolve(finish, last_probe_time=now, last_transition_time=now)
    return attrs.evolve(
        status,
        conditions=(*status.conditions, final),
        completion_time=now if finish.type == COMPLETE else status.completion_time,
    )


def record_finished(
    job: Job,
    candidates: Sequence[Pod],
    uncounted: UncountedTerminatedPods,
    *,
    prev_indexes: Collection[int] = frozenset(),
    finishing: bool = False,
    failing: bool = False,
    keep: Collection[Uid] = frozenset(),
) -> tuple[list[Pod], UncountedTerminatedPods, frozenset[int], bool]:
    """
    Finished pods (every pod when ``finishing``) recorded before their finalizer goes.

    When the Job is ``failing``, pods that did not succeed count as failed,
    however they end; when it finishes by success, stopped pods count as
    nothing. Pods in ``keep`` (failed pods awaiting their replacement, with
    ``backoffLimitPerIndex``) are left alone unless the Job finishes.

    ``candidates`` are the pods still carrying the tracking finalizer (whose
    removal is not pending); ``prev_indexes`` the succeeded indexes already
    in ``completedIndexes``. With a pod failure policy a failed pod waits for
    the ``Failed`` phase (its exit codes decide); ``Ignore`` matches are
    released uncounted. Returns the pods to release, the new uncounted uids, the new succeeded
    indexes, and whether :data:`MAX_UNCOUNTED_PODS` cut the work short.
    Kubernetes: the loop of ``trackJobStatusAndRemoveFinalizers``.
    """
    indexed = is_indexed(job)
    policy = job.spec.pod_failure_policy
    deleting = job.metadata.deletion_timestamp is not None
    unc_s, unc_f = list(uncounted.succeeded), list(uncounted.failed)
    seen_s, seen_f = set(unc_s), set(unc_f)
    remove: list[Pod] = []
    new_indexes: set[int] = set()
    for pod in candidates:
        failed = is_pod_failed(pod, job)
        phase = pod.status.phase
        # With a pod failure policy, wait for the Failed phase: its exit codes decide.
        releasable = phase == "Succeeded" or (failed and (policy is None or phase == "Failed"))
        if not (finishing or deleting or releasable):
            continue
        if not (finishing or deleting) and pod.metadata.uid in keep:
            continue  # its index failure count still has to reach its replacement
        remove.append(pod)
        uid = pod.metadata.uid
        if phase == "Succeeded" and uid not in seen_f:
            index = completion_index(pod)
            if not indexed:
                if uid not in seen_s:
                    seen_s.add(uid)
                    unc_s.append(uid)
            elif index is not None and valid_index(job, pod) and index not in prev_indexes:
                new_indexes.add(index)
        elif (
            (failed or failing)
            and uid not in seen_f
            and (not indexed or valid_index(job, pod))
            and match_pod_failure_policy(policy, pod).counts
        ):
            seen_f.add(uid)
            unc_f.append(uid)
        if len(new_indexes) + len(unc_s) + len(unc_f) >= MAX_UNCOUNTED_PODS:
            return (
                remove,
                UncountedTerminatedPods(succeeded=tuple(unc_s), failed=tuple(unc_f)),
                frozenset(new_indexes),
                True,
            )
    new = UncountedTerminatedPods(succeeded=tuple(unc_s), failed=tuple(unc_f))
    return remove, new, frozenset(new_indexes), False
