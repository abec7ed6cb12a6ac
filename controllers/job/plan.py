"""
One sync of a Job, decided purely: Kubernetes' ``syncJob`` without the I/O.

:func:`plan` takes the Job, the pods it tracks (see
:data:`~controllers.job.watches.INDEX_TRACKED`), the back-off record and
``now``, and returns a :class:`Plan` that
:mod:`controllers.job.reconciler` applies in this order:

1. delete or create pods (:func:`~controllers.job.manage.manage`, or every
   active pod when the Job fails);
2. write :attr:`Plan.status`: finished pods whose tracking finalizer is
   still on are recorded in ``status.uncountedTerminatedPods``
   (:func:`~controllers.job.tracking.record_finished`; succeeded indexes of
   an Indexed Job go straight to ``completedIndexes``), together with the
   interim ``FailureTarget`` / ``SuccessCriteriaMet`` condition;
3. remove the tracking finalizer from :attr:`Plan.remove_finalizers`;
4. :func:`~controllers.job.tracking.settle`: move the uncounted pods whose finalizer is gone into
   ``succeeded`` / ``failed`` and, once nothing is uncounted and no pod is
   terminating, add the final ``Complete`` / ``Failed`` condition.

A finished pod is therefore counted exactly once: it is recorded before its
finalizer goes, counted only after, and a pod without the finalizer is never
looked at again (so a sync costs O(active + recently finished pods), not
O(every pod the Job ever ran)).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import attrs

from controllers.api.batch import Job, JobCondition, JobStatus, UncountedTerminatedPods
from controllers.api.core import Pod
from controllers.job.backoff import BackoffRecord, remaining_backoff, update_backoff
from controllers.job.conditions import (
    COMPLETE,
    FAILED,
    FAILURE_TARGET,
    MESSAGES,
    SUCCESS_CRITERIA_MET,
    SUSPENDED,
    Reason,
    condition,
    find_job_condition,
    is_job_finished,
    set_job_condition,
)
from controllers.job.failures import (
    backoff_limit,
    is_pod_failed,
    match_pod_failure_policy,
    past_backoff_limit_on_failure,
    replaces_only_failed,
)
from controllers.job.indexes import completion_index, format_intervals, parse_intervals
from controllers.job.manage import BURST_PODS, Manage, manage
from controllers.job.perindex import (
    PerIndex,
    creatable_indexes,
    has_backoff_limit_per_index,
    next_failure_counts,
    per_index,
)
from controllers.job.pods import has_tracking_finalizer, is_indexed
from controllers.job.success import match_success_policy
from controllers.job.tracking import (
    count_uncounted,
    is_terminating,
    record_finished,
    valid_index,
)
from controllers.planted import JOB_IGNORES_BACKOFF_LIMIT
from controllers.replicaset import is_pod_active, is_pod_ready
from reconcile import ConditionStatus, FrozenDict, Uid, planted

__all__ = ["JobEvent", "Plan", "past_active_deadline", "plan"]

_EMPTY = UncountedTerminatedPods()


@attrs.frozen(kw_only=True)
class JobEvent:
    """An Event to record on the Job: ``Normal`` unless ``warning``."""

    reason: str
    message: str
    warning: bool = False


@attrs.frozen(kw_only=True)
class Plan:
    """
    Everything one sync of a Job would do, assuming every write succeeds.

    Attributes:
        status: The status to write before any finalizer is removed.
        remove_finalizers: Pods whose tracking finalizer comes off (their
            outcome is recorded in ``status``).
        create: Pods to create, one completion index (or ``None``) each.
        failure_counts: With ``backoffLimitPerIndex``, the failure and
            ignored-failure counts each created index's pod starts with.
        delete: Pods to delete.
        release_deleted: Whether the finalizer comes off :attr:`delete` first:
            pods stopped by a suspension or a lower parallelism are not
            counted, while pods stopped because the Job finishes are.
        finish: The final ``Complete`` / ``Failed`` condition, added by
            :func:`settle` once every finished pod is counted.
        terminating: Pods being deleted (after this sync's deletions).
        backoff: The pod-failure back-off record after this sync.
        requeue_after: Seconds until the Job needs another look (back-off
            or ``activeDeadlineSeconds``); ``None`` when only events will do.
        events: Events this sync records (the ``finish`` one comes from the reconciler).
    """

    status: JobStatus
    remove_finalizers: tuple[Pod, ...] = ()
    create: tuple[int | None, ...] = ()
    failure_counts: FrozenDict[int, tuple[int, int]] = attrs.field(factory=FrozenDict)
    delete: tuple[Pod, ...] = ()
    release_deleted: bool = False
    finish: JobCondition | None = None
    terminating: int = 0
    backoff: BackoffRecord = attrs.field(factory=BackoffRecord)
    requeue_after: float | None = None
    events: tuple[JobEvent, ...] = ()


def past_active_deadline(job: Job, *, now: dt.datetime) -> bool:
    """
    Whether the Job ran ``activeDeadlineSeconds`` or longer since ``startTime``.

    Never while suspended. Kubernetes: ``pastActiveDeadline``.
    """
    deadline = job.spec.active_deadline_seconds
    start = job.status.start_time
    if deadline is None or start is None or job.spec.suspend:
        return False
    return (now - start).total_seconds() >= deadline


def _finished_job(job: Job, pods: Sequence[Pod], removing: Collection[Uid]) -> Plan:
    """A finished Job only lets go of pods that still carry its finalizer."""
    strays = tuple(p for p in pods if has_tracking_finalizer(p) and p.metadata.uid not in removing)
    return Plan(status=job.status, remove_finalizers=strays)


@attrs.frozen(kw_only=True)
class _Tally:
    """What the tracked pods add up to at the start of a sync."""

    candidates: tuple[Pod, ...]  # carrying the finalizer, removal not pending
    active: tuple[Pod, ...]
    terminating: int
    succeeded: int  # distinct indexes for an Indexed Job
    failed: int
    indexes: frozenset[int]  # succeeded indexes, previous and new
    prev_indexes: frozenset[int]
    new_succeeded: tuple[Pod, ...]
    new_failed: tuple[Pod, ...]
    fail_message: str | None  # a FailJob rule matched


def _tally(job: Job, status: JobStatus, pods: Sequence[Pod], candidates: tuple[Pod, ...]) -> _Tally:
    indexed = is_indexed(job)
    uncounted = status.uncounted_terminated_pods or _EMPTY
    unc_s, unc_f = set(uncounted.succeeded), set(uncounted.failed)
    new_succeeded = tuple(
        p
        for p in candidates
        if p.status.phase == "Succeeded"
        and p.metadata.uid not in unc_s
        and p.metadata.uid not in unc_f
        and (not indexed or valid_index(job, p))
    )
    new_failed = tuple(
        p
        for p in candidates
        if p.status.phase != "Succeeded"
        and is_pod_failed(p, job)
        and p.metadata.uid not in unc_f
        and (not indexed or valid_index(job, p))
    )
    prev: frozenset[int] = frozenset()
    indexes: frozenset[int] = frozenset()
    if indexed:
        prev = parse_intervals(status.completed_indexes, completions=job.spec.completions)
        new = (completion_index(p) for p in new_succeeded)
        indexes = prev | {i for i in new if i is not None}
        succeeded = len(indexes)
    else:
        succeeded = status.succeeded + len(new_succeeded) + len(unc_s)
    failed = status.failed + len(unc_f)
    fail_message: str | None = None
    for pod in new_failed:
        match = match_pod_failure_policy(job.spec.pod_failure_policy, pod)
        failed += match.counts
        if fail_message is None and match.message is not None:
            fail_message = match.message
    return _Tally(
        candidates=candidates,
        active=tuple(p for p in pods if is_pod_active(p)),
        terminating=sum(1 for p in pods if is_terminating(p)),
        succeeded=succeeded,
        failed=failed,
        indexes=indexes,
        prev_indexes=prev,
        new_succeeded=new_succeeded,
        new_failed=new_failed,
        fail_message=fail_message,
    )


_Outcome = tuple[str, str, str]  # condition type, reason, message


def _judge(
    job: Job,
    tally: _Tally,
    pods: Sequence[Pod],
    failed_indexes: frozenset[int] | None,
    *,
    now: dt.datetime,
) -> tuple[_Outcome | None, _Outcome | None, float | None]:
    """
    The interim condition to write now, the final one, and when the deadline falls due.

    First that applies: an existing ``FailureTarget`` (final ``Failed``) or
    ``SuccessCriteriaMet`` (final ``Complete``), a ``FailJob`` rule, the
    backoff limit, the active deadline, failed indexes (``backoffLimitPerIndex``),
    an Indexed Job's success policy.
    """
    conditions = job.status.conditions
    target = find_job_condition(conditions, FAILURE_TARGET)
    criteria = find_job_condition(conditions, SUCCESS_CRITERIA_MET)
    if target is not None and target.status is ConditionStatus.TRUE:
        return None, (FAILED, target.reason, target.message), None
    if criteria is not None and criteria.status is ConditionStatus.TRUE:
        return None, (COMPLETE, criteria.reason, criteria.message), None
    if tally.fail_message is not None:
        return (FAILURE_TARGET, Reason.POD_FAILURE_POLICY, tally.fail_message), None, None
    reason: str | None = None
    # Every pod still pending or running counts its restarts, a terminating one too.
    limited = not planted(JOB_IGNORES_BACKOFF_LIMIT)
    if limited and (tally.failed > backoff_limit(job) or past_backoff_limit_on_failure(job, pods)):
        reason = Reason.BACKOFF_LIMIT_EXCEEDED
    elif past_active_deadline(job, now=now):
        reason = Reason.DEADLINE_EXCEEDED
    if reason is not None:
        return (FAILURE_TARGET, reason, MESSAGES[reason]), None, None
    deadline = job.spec.active_deadline_seconds
    start = job.status.start_time
    due: float | None = None
    if deadline is not None and not job.spec.suspend and start is not None:
        due = deadline - (now - start).total_seconds()
    if failed_indexes is not None:
        most = job.spec.max_failed_indexes
        if most is not None and len(failed_indexes) > most:
            reason = Reason.MAX_FAILED_INDEXES_EXCEEDED
        elif failed_indexes and len(failed_indexes) + tally.succeeded >= (
            job.spec.completions or 0
        ):
            reason = Reason.FAILED_INDEXES
        if reason is not None:
            return (FAILURE_TARGET, reason, MESSAGES[reason]), None, None
    if is_indexed(job):
        met = match_success_policy(
            job.spec.success_policy, job.spec.completions or 0, tally.indexes
        )
        if met is not None:
            return (SUCCESS_CRITERIA_MET, Reason.SUCCESS_POLICY, met), None, None
    return None, None, due


def plan(
    job: Job,
    pods: Sequence[Pod],
    *,
    now: dt.datetime,
    backoff: BackoffRecord | None = None,
    removing: Collection[Uid] = frozenset(),
    manage_pods: bool = True,
    burst: int = BURST_PODS,
) -> Plan:
    """
    One sync of ``job`` (see the module docstring).

    Args:
        job: The Job, defaulted as the API server stores it.
        pods: The pods it controls that are unfinished or still carry the
            tracking finalizer (finished pods without it are already counted).
        now: The current instant.
        backoff: The Job's pod-failure back-off record before this sync
            (none yet when ``None``).
        removing: Uids whose finalizer removal was issued but not yet seen.
        manage_pods: Whether creating and deleting is allowed (expectations
            are satisfied).
        burst: Most pods created or deleted.
    """
    if is_job_finished(job):
        return _finished_job(job, pods, removing)
    suspended = bool(job.spec.suspend)
    deleting = job.metadata.deletion_timestamp is not None
    candidates = tuple(
        p for p in pods if has_tracking_finalizer(p) and p.metadata.uid not in removing
    )
    status = count_uncounted(job.status, {p.metadata.uid for p in candidates})
    if status.start_time is None and not suspended:
        status = attrs.evolve(status, start_time=now)
    job = attrs.evolve(job, status=status)
    tally = _tally(job, status, pods, candidates)
    record = update_backoff(backoff or BackoffRecord(), tally.new_succeeded, tally.new_failed)
    indexes = None
    if has_backoff_limit_per_index(job):
        indexes = per_index(job, status, candidates, active=tally.active, succeeded=tally.indexes)
    interim, final, deadline_in = _judge(
        job, tally, pods, None if indexes is None else indexes.failed, now=now
    )
    requeue = [] if deadline_in is None else [deadline_in]

    stopping = interim is not None or final is not None
    if stopping:
        change = Manage(delete=tally.active)  # a finishing Job stops every pod
    elif manage_pods and not deleting:
        change = _manage(job, pods, tally, indexes, record, now=now, burst=burst)
        if change.backoff is not None:
            requeue.append(change.backoff)
    else:
        change = Manage()
    remaining = len(tally.active) - len(change.delete) + len(change.create)
    ready = sum(1 for p in tally.active if is_pod_ready(p))
    ready -= sum(1 for p in change.delete if is_pod_ready(p))
    terminating = tally.terminating + len(change.delete)

    events: list[JobEvent] = []
    if interim is None and final is None:
        interim, status, events = _progress(
            job, status, tally.succeeded, remaining, managed=manage_pods and not deleting, now=now
        )
    conditions = status.conditions
    if interim is not None:
        type_, reason, message = interim
        conditions = set_job_condition(
            conditions, type_, ConditionStatus.TRUE, reason, message, now=now
        )
        final = (FAILED if type_ == FAILURE_TARGET else COMPLETE, reason, message)

    uncounted = status.uncounted_terminated_pods or _EMPTY
    remove, uncounted, new_indexes, cut = record_finished(
        job,
        tally.candidates,
        uncounted,
        prev_indexes=tally.prev_indexes,
        finishing=final is not None,
        failing=final is not None and final[0] == FAILED,
        keep=frozenset()
        if indexes is None
        else frozenset(p.metadata.uid for p in indexes.delayed.values()),
    )
    if cut:
        requeue.append(0.0)
    if is_indexed(job):
        done = tally.prev_indexes | new_indexes
        status = attrs.evolve(status, completed_indexes=format_intervals(done), succeeded=len(done))
    if indexes is not None:
        status = attrs.evolve(status, failed_indexes=format_intervals(indexes.failed))
    status = attrs.evolve(
        status,
        active=remaining,
        ready=ready,
        terminating=terminating,
        conditions=conditions,
        uncounted_terminated_pods=uncounted,
    )
    return Plan(
        status=status,
        remove_finalizers=tuple(remove),
        create=change.create,
        failure_counts=FrozenDict(
            {}
            if indexes is None
            else {
                i: next_failure_counts(job, indexes.delayed.get(i))
                for i in change.create
                if i is not None
            }
        ),
        delete=change.delete,
        release_deleted=bool(change.delete) and not stopping,
        finish=None if final is None else condition(*final, now=now),
        terminating=terminating,
        backoff=record,
        requeue_after=min(requeue) if requeue else None,
        events=tuple(events),
    )


def _progress(
    job: Job, status: JobStatus, succeeded: int, remaining: int, *, managed: bool, now: dt.datetime
) -> tuple[_Outcome | None, JobStatus, list[JobEvent]]:
    """
    ``SuccessCriteriaMet`` once enough pods succeeded and none is active; else,
    when pods were managed, the ``Suspended`` condition (resuming restarts ``startTime``).
    """
    completions = job.spec.completions
    if completions is None:
        complete = succeeded > 0 and remaining == 0
    else:
        complete = succeeded >= completions and remaining == 0
    if complete:
        reason = Reason.COMPLETIONS_REACHED
        return (SUCCESS_CRITERIA_MET, reason, MESSAGES[reason]), status, []
    if not managed:
        return None, status, []
    conditions, events = _suspension(job, status.conditions, now=now)
    status = attrs.evolve(status, conditions=conditions)
    if events and not job.spec.suspend:
        status = attrs.evolve(status, start_time=now)  # resumed: the deadline restarts
    return None, status, events


def _manage(
    job: Job,
    pods: Sequence[Pod],
    tally: _Tally,
    indexes: PerIndex | None,
    record: BackoffRecord,
    *,
    now: dt.datetime,
    burst: int,
) -> Manage:
    """:func:`~controllers.job.manage.manage`, with each index's own back-off when per index."""
    blocked = _terminating_indexes(job, pods)
    if indexes is not None:
        blocked |= indexes.failed
    change = manage(
        job,
        tally.active,
        succeeded=tally.succeeded,
        succeeded_indexes=tally.indexes,
        terminating=tally.terminating,
        blocked_indexes=blocked,
        backoff=0.0 if indexes is not None else remaining_backoff(record, now=now),
        now=now,
        burst=burst,
    )
    if indexes is None or not change.create:
        return change
    now_ready, wait = creatable_indexes(change.create, indexes.delayed, now=now)
    return attrs.evolve(change, create=now_ready, backoff=wait)


def _terminating_indexes(job: Job, pods: Sequence[Pod]) -> frozenset[int]:
    """Indexes of terminating pods, when they are not replaced before they fail."""
    if not is_indexed(job) or not replaces_only_failed(job):
        return frozenset()
    found = (completion_index(p) for p in pods if is_terminating(p))
    return frozenset(i for i in found if i is not None)


def _suspension(
    job: Job, conditions: tuple[JobCondition, ...], *, now: dt.datetime
) -> tuple[tuple[JobCondition, ...], list[JobEvent]]:
    """The ``Suspended`` condition for ``spec.suspend``, and the event when it changed."""
    if job.spec.suspend:
        status, reason, event = ConditionStatus.TRUE, Reason.SUSPENDED, "Suspended"
    else:
        status, reason, event = ConditionStatus.FALSE, Reason.RESUMED, "Resumed"
    message = MESSAGES[reason]
    changed = set_job_condition(conditions, SUSPENDED, status, reason, message, now=now)
    if changed is conditions:
        return conditions, []
    return changed, [JobEvent(reason=event, message=message)]
