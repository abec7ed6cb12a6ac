"""
The ReplicaSet controller: keeps ``spec.replicas`` pods matching each ReplicaSet's selector.

Like kube-controller-manager's ``replicaset-controller``
(pkg/controller/replicaset in Kubernetes): it adopts matching orphan pods
and releases pods that stop matching (never touching pods another
controller owns), creates and deletes pods in slow-start batches of at most
500 per sync guarded by expectations, deletes pods in Kubernetes' order,
and reports ``replicas``, ``fullyLabeledReplicas``, ``readyReplicas``,
``availableReplicas``, ``observedGeneration`` and the ``ReplicaFailure``
condition.

Decisions are pure: :mod:`~controllers.replicaset.plan` (claim, scale,
slow start, pod template), :mod:`~controllers.replicaset.ranking` (which
pods go first), :mod:`~controllers.replicaset.status` and
:mod:`~controllers.replicaset.pods` (readiness, availability). The
:mod:`~controllers.replicaset.reconciler` reads the caches and writes;
:mod:`~controllers.replicaset.watches` turns Pod events into work.

Differences from Kubernetes, each deliberate:

* With ``minReadySeconds`` the set wakes itself exactly when the next ready
  pod becomes available, instead of ``minReadySeconds`` (+1 s) after a pod
  turned ready.
* Pod updates that change nothing a sync counts (binding, ``Pending`` →
  ``Running``, restarts) enqueue nothing; the controller's own status writes
  enqueue nothing either.
* Syncs of one set are at least :data:`MIN_SYNC_INTERVAL` apart, so a burst
  of pod events in one (virtual) instant costs one sync, not hundreds.
* The deletion order is a total order (see :mod:`~controllers.replicaset.ranking`).

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    replicaset.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="replicaset-controller", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

import contextlib

from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.planted import REPLICASET_ADOPTS_OWNED_PODS
from controllers.podcontrol import pod_owners
from controllers.replicaset.plan import (
    BURST_REPLICAS,
    SLOW_START_INITIAL_BATCH,
    Claim,
    Plan,
    Scale,
    claim,
    plan,
    pod_from_template,
    scale,
    slow_start_batches,
)
from controllers.replicaset.pods import (
    DELETION_COST_ANNOTATION,
    available_at,
    deletion_cost,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    max_restarts,
    ready_time,
)
from controllers.replicaset.ranking import co_located, deletion_key, pods_to_delete, time_bucket
from controllers.replicaset.reconciler import (
    MIN_SYNC_INTERVAL,
    ManageReplicasError,
    ReplicaSetReconciler,
)
from controllers.replicaset.status import (
    REPLICA_FAILURE,
    calculate_status,
    desired_replicas,
    next_available_in,
)
from controllers.replicaset.watches import (
    INDEX_ORPHANS,
    ExpectationsObserver,
    orphan_namespaces,
    pod_counts_changed,
    replicaset_of,
    with_matching,
)
from reconcile import (
    Controller,
    EventRecorder,
    Expectations,
    Manager,
    Resource,
    Watch,
    enqueue_mapped,
    planted,
)

__all__ = [
    "BURST_REPLICAS",
    "CONTROLLER_NAME",
    "DELETION_COST_ANNOTATION",
    "INDEX_ORPHANS",
    "MIN_SYNC_INTERVAL",
    "REPLICA_FAILURE",
    "SLOW_START_INITIAL_BATCH",
    "Claim",
    "ExpectationsObserver",
    "ManageReplicasError",
    "Plan",
    "ReplicaSetReconciler",
    "Scale",
    "available_at",
    "calculate_status",
    "claim",
    "co_located",
    "deletion_cost",
    "deletion_key",
    "desired_replicas",
    "is_pod_active",
    "is_pod_available",
    "is_pod_ready",
    "max_restarts",
    "next_available_in",
    "orphan_namespaces",
    "plan",
    "pod_counts_changed",
    "pod_from_template",
    "pods_to_delete",
    "ready_time",
    "replicaset_of",
    "scale",
    "setup",
    "slow_start_batches",
    "time_bucket",
]

CONTROLLER_NAME = "replicaset-controller"


def setup(
    manager: Manager, *, recorder: EventRecorder | None = None, workers: int = 5
) -> Controller[ReplicaSet]:
    """
    Add the ReplicaSet controller (``replicaset-controller``) to ``manager``.

    The Pod cache gets the :data:`INDEX_ORPHANS` index and an
    :class:`ExpectationsObserver`. Pod changes enqueue the controlling
    ReplicaSet, or, for an orphan, every ReplicaSet of its namespace whose
    selector matches it. ``recorder`` (Kubernetes uses component
    ``replicaset-controller``) receives the pod creation and deletion events;
    ``workers`` is Kubernetes' ``--concurrent-replicaset-syncs`` (5).
    """
    pods = manager.store(Pod)
    replicasets = manager.store(ReplicaSet)
    informer = manager.informers.get(Pod)
    with contextlib.suppress(ValueError):  # already added by an earlier setup
        informer.add_indexer(INDEX_ORPHANS, orphan_namespaces)
    expectations = Expectations(clock=manager.clock)
    informer.add_handler(ExpectationsObserver(expectations, replicasets))
    reconciler = ReplicaSetReconciler(
        manager.client,
        replicasets=replicasets,
        pods=pods,
        expectations=expectations,
        clock=manager.clock,
        recorder=recorder,
    )

    pod_replicasets = pod_owners(replicasets, replicaset_of, lambda rs: rs.spec.selector)
    if planted(REPLICASET_ADOPTS_OWNED_PODS):
        pod_replicasets = with_matching(pod_replicasets, replicasets)

    def not_own_status_write(old: Resource | None, new: Resource | None) -> bool:
        """Our own status writes need no sync: we just made them."""
        return not (isinstance(new, ReplicaSet) and reconciler.wrote(new))

    controller: Controller[ReplicaSet] = Controller(
        name=CONTROLLER_NAME,
        reconciler=reconciler,
        for_=ReplicaSet,
        predicates=(not_own_status_write,),
        watches=[
            Watch(
                kind=Pod,
                mapper=enqueue_mapped(pod_replicasets),
                predicates=(pod_counts_changed,),
            )
        ],
        workers=workers,
    )
    return manager.add(controller)
