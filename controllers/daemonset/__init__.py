"""
The DaemonSet controller: one pod on every eligible node.

Like kube-controller-manager's ``daemonset-controller``
(pkg/controller/daemon in Kubernetes): for each DaemonSet it judges every
node (node selector, required node affinity, taints against the template's
tolerations plus the daemon ones, see :mod:`~controllers.daemonset.nodes`),
creates a pod pinned by node affinity to each node that should run one and
has none (the scheduler binds it), deletes pods from nodes that must not
keep them, surplus pods, succeeded pods and failed pods (with a per-node
back-off, :mod:`~controllers.daemonset.backoff`), adopts matching orphans
and releases pods that stop matching. Templates are recorded as
ControllerRevisions (:mod:`~controllers.daemonset.revisions`), and a
changed template is rolled out by ``RollingUpdate``
(:mod:`~controllers.daemonset.rolling`; ``maxUnavailable`` and
``maxSurge`` both round up) or left to the user (``OnDelete``). The status
counts nodes (:mod:`~controllers.daemonset.status`).

Decisions are pure (:mod:`~controllers.daemonset.plan` composes them); the
:mod:`~controllers.daemonset.reconciler` and
:mod:`~controllers.daemonset.history` read the caches and write;
:mod:`~controllers.daemonset.watches` turns Pod and Node events into work.
``kubectl rollout status`` for DaemonSets is
:func:`controllers.kubectl.status.rollout_status`.

Differences from Kubernetes, each deliberate:

* Nodes are visited in name order (Kubernetes iterates a Go map), so which
  nodes a rolling update takes first is deterministic.
* With ``minReadySeconds``, and for a failed pod held by its back-off, the
  DaemonSet wakes exactly when the next pod becomes available or the
  back-off ends, rather than a fixed delay later.
* Orphaned ControllerRevisions are not adopted, and duplicates of the
  current revision are deleted without relabelling pods.
* Node events that change neither labels nor taints (heartbeats) enqueue
  nothing, before any DaemonSet is judged; pod updates that change nothing a
  sync reads (binding, container restarts) enqueue nothing either, and the
  controller's own status writes enqueue nothing.
* Syncs of one DaemonSet are at least :data:`MIN_SYNC_INTERVAL` apart, so a
  burst of pod events in one virtual instant costs one sync.
* Pods carry only the ``controller-revision-hash`` label, not the legacy
  ``pod-template-generation`` one.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    daemonset.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="daemonset-controller", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

import contextlib

from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.api.core import Node, Pod
from controllers.daemonset.backoff import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    FailureBackoff,
    backoff_remaining,
    next_backoff,
)
from controllers.daemonset.nodes import (
    DAEMON_TOLERATIONS,
    NETWORK_UNAVAILABLE_TOLERATION,
    Eligibility,
    daemon_pod,
    eligibility,
    node_should_run_daemon_pod,
    pin_to_node,
    target_node,
    with_daemon_tolerations,
)
from controllers.daemonset.plan import (
    BURST_REPLICAS,
    Claim,
    Manage,
    Plan,
    claim,
    judge_nodes,
    manage,
    plan,
    pods_by_node,
    settled_pods,
)
from controllers.daemonset.reconciler import (
    MIN_SYNC_INTERVAL,
    DaemonSetReconciler,
    SyncNodesError,
)
from controllers.daemonset.revisions import (
    DEFAULT_REVISION_HISTORY_LIMIT,
    HASH_LABEL,
    History,
    history_to_delete,
    new_revision,
    revision_data,
    split_history,
    template_hash,
)
from controllers.daemonset.rolling import (
    Rollout,
    allows_surge,
    is_rolling_update,
    rolling_update,
    split_new_old,
    surge_and_unavailable,
)
from controllers.daemonset.status import by_age, calculate_status, next_available_in
from controllers.daemonset.watches import (
    ExpectationsObserver,
    NodeHandler,
    daemonset_of,
    node_changed,
    pod_changed,
)
from controllers.podcontrol import pod_owners
from controllers.replicaset import INDEX_ORPHANS, orphan_namespaces
from reconcile import (
    Controller,
    EventRecorder,
    Expectations,
    Manager,
    Resource,
    Watch,
    enqueue_mapped,
    enqueue_owner,
)

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "BURST_REPLICAS",
    "CONTROLLER_NAME",
    "DAEMON_TOLERATIONS",
    "DEFAULT_REVISION_HISTORY_LIMIT",
    "HASH_LABEL",
    "MIN_SYNC_INTERVAL",
    "NETWORK_UNAVAILABLE_TOLERATION",
    "Claim",
    "DaemonSetReconciler",
    "Eligibility",
    "ExpectationsObserver",
    "FailureBackoff",
    "History",
    "Manage",
    "NodeHandler",
    "Plan",
    "Rollout",
    "SyncNodesError",
    "allows_surge",
    "backoff_remaining",
    "by_age",
    "calculate_status",
    "claim",
    "daemon_pod",
    "daemonset_of",
    "eligibility",
    "history_to_delete",
    "is_rolling_update",
    "judge_nodes",
    "manage",
    "new_revision",
    "next_available_in",
    "next_backoff",
    "node_changed",
    "node_should_run_daemon_pod",
    "pin_to_node",
    "plan",
    "pod_changed",
    "pods_by_node",
    "revision_data",
    "rolling_update",
    "settled_pods",
    "setup",
    "split_history",
    "split_new_old",
    "surge_and_unavailable",
    "target_node",
    "template_hash",
    "with_daemon_tolerations",
]

CONTROLLER_NAME = "daemonset-controller"


def setup(
    manager: Manager, *, recorder: EventRecorder | None = None, workers: int = 2
) -> Controller[DaemonSet]:
    """
    Add the DaemonSet controller (``daemonset-controller``) to ``manager``.

    The Pod cache gets the ``replicaset.orphans`` index (shared with the
    ReplicaSet controller) and an :class:`ExpectationsObserver`. Pod changes
    enqueue the controlling DaemonSet, or, for an orphan, every DaemonSet of
    its namespace whose selector matches it; node events enqueue the
    DaemonSets whose verdict on the node they change (:class:`NodeHandler`);
    ControllerRevision changes enqueue their DaemonSet. ``recorder`` (Kubernetes uses
    component ``daemonset-controller``) receives the events; ``workers`` is
    Kubernetes' ``--concurrent-daemonset-syncs`` (2).
    """
    pods = manager.store(Pod)
    daemonsets = manager.store(DaemonSet)
    informer = manager.informers.get(Pod)
    with contextlib.suppress(ValueError):  # already added by the ReplicaSet controller
        informer.add_indexer(INDEX_ORPHANS, orphan_namespaces)
    expectations = Expectations(clock=manager.clock)
    informer.add_handler(ExpectationsObserver(expectations, daemonsets))
    reconciler = DaemonSetReconciler(
        manager.client,
        daemonsets=daemonsets,
        pods=pods,
        nodes=manager.store(Node),
        revisions=manager.store(ControllerRevision),
        expectations=expectations,
        clock=manager.clock,
        recorder=recorder,
    )

    pod_daemonsets = pod_owners(daemonsets, daemonset_of, lambda ds: ds.spec.selector)

    def not_own_status_write(old: Resource | None, new: Resource | None) -> bool:
        """Our own status writes need no sync: we just made them."""
        return not (isinstance(new, DaemonSet) and reconciler.wrote(new))

    controller: Controller[DaemonSet] = Controller(
        name=CONTROLLER_NAME,
        reconciler=reconciler,
        for_=DaemonSet,
        predicates=(not_own_status_write,),
        watches=[
            Watch(kind=Pod, mapper=enqueue_mapped(pod_daemonsets), predicates=(pod_changed,)),
            # A revision deleted or edited by hand is put back by the next sync.
            Watch(kind=ControllerRevision, mapper=enqueue_owner(DaemonSet)),
        ],
        workers=workers,
    )
    # A handler rather than a watch: deciding who cares needs the node before and after.
    manager.informers.get(Node).add_handler(NodeHandler(daemonsets, controller.enqueue))
    return manager.add(controller)
