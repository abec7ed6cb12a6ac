"""
The Job controller: runs a Job's pods until enough succeed, or the Job fails.

Like kube-controller-manager's ``job-controller`` (pkg/controller/job in
Kubernetes): ``parallelism`` and ``completions`` (a work queue when
completions is unset), ``NonIndexed`` and ``Indexed`` completion modes, the
``backoffLimit`` (failed pods under ``restartPolicy: Never``, container
restarts under ``OnFailure``), the pod-failure back-off, the active
deadline, suspend and resume, ``podFailurePolicy`` (``FailJob``, ``Ignore``,
``Count``, ``FailIndex``), an Indexed Job's ``backoffLimitPerIndex`` and
``maxFailedIndexes`` and its ``successPolicy``, pods tracked with the
``batch.kubernetes.io/job-tracking`` finalizer and
``status.uncountedTerminatedPods`` so that no finished pod is lost or
counted twice (also across a restart), the interim ``FailureTarget`` /
``SuccessCriteriaMet`` and final ``Failed`` / ``Complete`` conditions, and
Kubernetes' events.

Decisions are pure: :mod:`~controllers.job.plan` (one sync),
:mod:`~controllers.job.manage` (how many pods), :mod:`~controllers.job.tracking`
(counting finished pods once), :mod:`~controllers.job.backoff`,
:mod:`~controllers.job.failures`, :mod:`~controllers.job.indexes`,
:mod:`~controllers.job.perindex`, :mod:`~controllers.job.success`,
:mod:`~controllers.job.conditions` and :mod:`~controllers.job.pods`. The
:mod:`~controllers.job.reconciler` reads the caches and writes;
:mod:`~controllers.job.watches` turns Pod events into work.

Differences from Kubernetes, each deliberate:

* The API server here does not generate a Job's selector; the controller
  owns the pods it created (controller reference) and labels them with
  ``batch.kubernetes.io/job-name`` and ``batch.kubernetes.io/controller-uid``.
  Orphan pods are never adopted.
* A pod-triggered sync runs at once when the previous sync is more than a
  batch period old, instead of always waiting a period.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    job.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="job-controller", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

import contextlib

from controllers.api.batch import Job
from controllers.api.core import Pod
from controllers.job.backoff import (
    DEFAULT_POD_FAILURE_BACKOFF,
    MAX_POD_FAILURE_BACKOFF,
    BackoffRecord,
    backoff_delay,
    finish_time,
    remaining_backoff,
    update_backoff,
)
from controllers.job.conditions import (
    COMPLETE,
    FAILED,
    FAILURE_TARGET,
    SUCCESS_CRITERIA_MET,
    SUSPENDED,
    Reason,
    condition,
    find_job_condition,
    finished_condition_time,
    is_condition_true,
    is_job_finished,
    set_job_condition,
)
from controllers.job.failures import (
    PolicyMatch,
    backoff_limit,
    is_pod_failed,
    match_pod_failure_policy,
    past_backoff_limit_on_failure,
    replaces_only_failed,
    restarts,
)
from controllers.job.indexes import (
    COMPLETION_INDEX,
    COMPLETION_INDEX_ENV,
    completion_index,
    first_pending_indexes,
    format_intervals,
    parse_intervals,
)
from controllers.job.manage import BURST_PODS, Manage, manage, want_active
from controllers.job.perindex import (
    PerIndex,
    creatable_indexes,
    has_backoff_limit_per_index,
    index_failure_count,
    index_ignored_failure_count,
    is_index_failed,
    next_failure_counts,
    per_index,
)
from controllers.job.plan import JobEvent, Plan, past_active_deadline, plan
from controllers.job.pods import (
    INDEX_FAILURE_COUNT,
    INDEX_IGNORED_FAILURE_COUNT,
    JOB_NAME_LABEL,
    JOB_TRACKING_FINALIZER,
    has_tracking_finalizer,
    pod_from_template,
)
from controllers.job.reconciler import SYNC_BATCH_PERIOD, JobReconciler, SyncJobError
from controllers.job.success import SUCCESS_POLICY_MESSAGE, match_success_policy
from controllers.job.tracking import (
    MAX_UNCOUNTED_PODS,
    count_uncounted,
    is_terminating,
    record_finished,
    settle,
)
from controllers.job.watches import (
    INDEX_TRACKED,
    FinalizerRemovals,
    JobPodObserver,
    job_of,
    pod_changed,
    tracked_by,
)
from reconcile import (
    Controller,
    EventRecorder,
    Expectations,
    Manager,
    ObjectKey,
    Resource,
    Watch,
    enqueue_mapped,
)

__all__ = [
    "BURST_PODS",
    "COMPLETE",
    "COMPLETION_INDEX",
    "COMPLETION_INDEX_ENV",
    "CONTROLLER_NAME",
    "DEFAULT_POD_FAILURE_BACKOFF",
    "FAILED",
    "FAILURE_TARGET",
    "INDEX_FAILURE_COUNT",
    "INDEX_IGNORED_FAILURE_COUNT",
    "INDEX_TRACKED",
    "JOB_NAME_LABEL",
    "JOB_TRACKING_FINALIZER",
    "MAX_POD_FAILURE_BACKOFF",
    "MAX_UNCOUNTED_PODS",
    "SUCCESS_CRITERIA_MET",
    "SUCCESS_POLICY_MESSAGE",
    "SUSPENDED",
    "SYNC_BATCH_PERIOD",
    "BackoffRecord",
    "FinalizerRemovals",
    "JobEvent",
    "JobPodObserver",
    "JobReconciler",
    "Manage",
    "PerIndex",
    "Plan",
    "PolicyMatch",
    "Reason",
    "SyncJobError",
    "backoff_delay",
    "backoff_limit",
    "completion_index",
    "condition",
    "count_uncounted",
    "creatable_indexes",
    "find_job_condition",
    "finish_time",
    "finished_condition_time",
    "first_pending_indexes",
    "format_intervals",
    "has_backoff_limit_per_index",
    "has_tracking_finalizer",
    "index_failure_count",
    "index_ignored_failure_count",
    "is_condition_true",
    "is_index_failed",
    "is_job_finished",
    "is_pod_failed",
    "is_terminating",
    "job_of",
    "manage",
    "match_pod_failure_policy",
    "match_success_policy",
    "next_failure_counts",
    "parse_intervals",
    "past_active_deadline",
    "past_backoff_limit_on_failure",
    "per_index",
    "plan",
    "pod_changed",
    "pod_from_template",
    "record_finished",
    "remaining_backoff",
    "replaces_only_failed",
    "restarts",
    "set_job_condition",
    "settle",
    "setup",
    "tracked_by",
    "update_backoff",
    "want_active",
]

CONTROLLER_NAME = "job-controller"


def setup(
    manager: Manager, *, recorder: EventRecorder | None = None, workers: int = 5
) -> Controller[Job]:
    """
    Add the Job controller (``job-controller``) to ``manager``.

    The Pod cache gets the :data:`INDEX_TRACKED` index and a
    :class:`JobPodObserver`; pod changes a sync can notice enqueue the
    controlling Job. ``recorder`` (Kubernetes uses component
    ``job-controller``) receives the events; ``workers`` is Kubernetes'
    ``--concurrent-job-syncs`` (5).
    """
    pods = manager.store(Pod)
    jobs = manager.store(Job)
    informer = manager.informers.get(Pod)
    with contextlib.suppress(ValueError):  # already added by an earlier setup
        informer.add_indexer(INDEX_TRACKED, tracked_by)
    expectations = Expectations(clock=manager.clock)
    removals = FinalizerRemovals()
    informer.add_handler(JobPodObserver(expectations, removals, jobs))
    reconciler = JobReconciler(
        manager.client,
        jobs=jobs,
        pods=pods,
        expectations=expectations,
        removals=removals,
        clock=manager.clock,
        recorder=recorder,
    )

    def pod_job(obj: Resource) -> list[ObjectKey]:
        key = job_of(obj) if isinstance(obj, Pod) else None
        return [] if key is None else [key]

    controller: Controller[Job] = Controller(
        name=CONTROLLER_NAME,
        reconciler=reconciler,
        for_=Job,
        watches=[Watch(kind=Pod, mapper=enqueue_mapped(pod_job), predicates=(pod_changed,))],
        workers=workers,
    )
    return manager.add(controller)
