"""
What Pod events mean for Jobs: the tracking index, the mapping, the expectations.

Everything here runs inside the Pod informer, synchronously, O(1) per event.

* :data:`INDEX_TRACKED` indexes the pods a sync must read, by their Job's
  ``namespace/name``: pods not yet finished and pods still carrying the
  tracking finalizer. A finished pod whose finalizer is gone is counted in
  the Job's status and drops out, so a sync never reads the thousands of
  pods a Job ran before.
* :class:`JobPodObserver` lowers creation and deletion
  :class:`reconcile.Expectations` and tells :class:`FinalizerRemovals` when a
  removal has been seen (Kubernetes: ``addPod``/``updatePod``/``deletePod``
  and ``finalizerExpectations`` in pkg/controller/job/job_controller.go).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs

from controllers.api.batch import Job
from controllers.api.core import Pod
from controllers.job.pods import has_tracking_finalizer
from controllers.podcontrol import PodExpectationsObserver, owner_key
from controllers.replicaset import is_pod_active, ready_time
from reconcile import Expectations, ObjectKey, Resource, Store, Uid

__all__ = [
    "INDEX_TRACKED",
    "FinalizerRemovals",
    "JobPodObserver",
    "job_of",
    "pod_changed",
    "tracked_by",
]

INDEX_TRACKED = "job.tracked"
"""Pod cache index: unfinished or finalizer-carrying pods, by their Job's ``namespace/name``."""


def job_of(pod: Pod) -> ObjectKey | None:
    """The key of the Job controlling ``pod`` (by its owner reference), if any."""
    return owner_key(pod, kind="Job", group="batch")


def tracked_by(pod: Pod) -> tuple[str, ...]:
    """The :data:`INDEX_TRACKED` indexer."""
    key = job_of(pod)
    if key is None:
        return ()
    finished = pod.status.phase in ("Succeeded", "Failed")
    if finished and not has_tracking_finalizer(pod):
        return ()
    return (f"{key.namespace}/{key.name}",)


def _restarts(pod: Pod) -> int:
    return sum(s.restart_count for s in pod.status.container_statuses) + sum(
        s.restart_count for s in pod.status.init_container_statuses
    )


def pod_changed(old: Resource | None, new: Resource | None) -> bool:
    """
    Pod events a Job sync can notice: adds, deletes, and changes of phase, deletion
    mark, finalizers, readiness, restarts (``OnFailure`` limits) or conditions
    (pod failure policies).
    """
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        return True
    return (
        old.status.phase != new.status.phase
        or is_pod_active(old) != is_pod_active(new)
        or old.metadata.finalizers != new.metadata.finalizers
        or ready_time(old) != ready_time(new)
        or _restarts(old) != _restarts(new)
        or old.metadata.owner_references != new.metadata.owner_references
    )


@final
@attrs.define(eq=False)
class FinalizerRemovals:
    """
    Per Job, the pods whose tracking finalizer was removed but not yet seen so.

    A sync skips them: the cache may still show the finalizer on a pod the
    status already counted. Kubernetes: ``uidTrackingExpectations``.
    """

    _pending: dict[ObjectKey, set[Uid]] = attrs.field(factory=dict, init=False)

    def expect(self, key: ObjectKey, uids: Iterable[Uid]) -> None:
        """Removals of the finalizer of ``uids`` are about to be issued."""
        self._pending.setdefault(key, set()).update(uids)

    def observed(self, key: ObjectKey, uid: Uid) -> None:
        """The pod ``uid`` was seen without the finalizer (or gone), or its removal failed."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.discard(uid)
            if not pending:
                del self._pending[key]

    def pending(self, key: ObjectKey) -> frozenset[Uid]:
        """The uids of ``key`` whose removal is not yet seen."""
        return frozenset(self._pending.get(key, ()))

    def forget(self, key: ObjectKey) -> None:
        """Drop everything about ``key`` (its Job is gone)."""
        self._pending.pop(key, None)


@attrs.frozen
class JobPodObserver:
    """
    The Pod informer handler feeding :class:`reconcile.Expectations` and :class:`FinalizerRemovals`.

    A pod controlled by a cached Job (same uid) that appears is a creation;
    one that gets a deletion timestamp or leaves the cache is a deletion
    (a :class:`~controllers.podcontrol.PodExpectationsObserver`). A pod seen
    without the tracking finalizer, or gone, ends its pending removal.
    """

    expectations: Expectations
    removals: FinalizerRemovals
    jobs: Store[Job]
    _pods: PodExpectationsObserver[Job] = attrs.field(init=False)

    @_pods.default
    def _observer(self) -> PodExpectationsObserver[Job]:
        return PodExpectationsObserver(self.expectations, self.jobs, job_of)

    def on_add(self, obj: Pod) -> None:
        self._pods.on_add(obj)
        key = self._pods.owner(obj)
        if key is not None and not has_tracking_finalizer(obj):
            self.removals.observed(key, obj.metadata.uid)

    def on_update(self, old: Pod, new: Pod) -> None:
        key = job_of(new)
        if key is None:
            return
        if not has_tracking_finalizer(new):
            self.removals.observed(key, new.metadata.uid)
        self._pods.on_update(old, new)

    def on_delete(self, obj: Pod) -> None:
        key = job_of(obj)
        if key is None:
            return
        self.removals.observed(key, obj.metadata.uid)
        self._pods.on_delete(obj)
