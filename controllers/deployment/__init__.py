"""
The Deployment controller: rollouts of pod templates through ReplicaSets.

Like kube-controller-manager's ``deployment-controller``
(``pkg/controller/deployment``). The decisions are pure functions, split as
Kubernetes splits them so each can be read beside its Go counterpart:

* :mod:`~controllers.deployment.util`: fenceposts, sizes, hashes, names;
* :mod:`~controllers.deployment.revisions`: revision annotations, history cleanup;
* :mod:`~controllers.deployment.rolling`, :mod:`~controllers.deployment.recreate`:
  the two strategies' steps;
* :mod:`~controllers.deployment.scaling`: proportional scaling;
* :mod:`~controllers.deployment.progress`: status, conditions, the deadline;
* :mod:`~controllers.deployment.plan`: one whole sync as a :class:`Plan`.

Where Kubernetes' helpers write as they go, these return decisions: a
:class:`Scale` per ReplicaSet resize (:mod:`~controllers.deployment.actions`),
collected into the :class:`Plan` that :mod:`~controllers.deployment.reconciler`
applies. Names mirror the Go helpers (``reconcileOldReplicaSets`` is
:func:`reconcile_old_replica_sets`), so each can be read beside its source.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    deployment.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="deployment-controller", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

import reconcile
from controllers.api.apps import Deployment, ReplicaSet
from controllers.api.core import Pod
from controllers.deployment.actions import Scale, apply_scales
from controllers.deployment.plan import (
    CreateReplicaSet,
    DeleteReplicaSet,
    Note,
    Plan,
    UpdateReplicaSet,
    plan,
)
from controllers.deployment.progress import (
    calculate_status,
    deployment_complete,
    deployment_progressing,
    deployment_timed_out,
    paused_condition,
    requeue_after,
    rollout_status,
)
from controllers.deployment.reconciler import DeploymentReconciler, pod_changed
from controllers.deployment.recreate import (
    old_pods_running,
    scale_down_old_replica_sets_for_recreate,
)
from controllers.deployment.revisions import cleanup_deployment, max_revision, revision
from controllers.deployment.rolling import (
    cleanup_unhealthy_replicas,
    counted_available,
    reconcile_new_replica_set,
    reconcile_old_replica_sets,
    rollout_step,
    scale_down_old_replica_sets_for_rolling_update,
)
from controllers.deployment.scaling import (
    find_active_or_latest,
    is_saturated,
    is_scaling_event,
    proportional_scale,
    replica_set_fraction,
    replica_set_proportion,
)
from controllers.deployment.util import (
    equal_ignore_hash,
    find_new_replica_set,
    find_old_replica_sets,
    go_round,
    max_surge,
    max_unavailable,
    min_available,
    new_rs_new_replicas,
    pod_template_hash,
    resolve_fenceposts,
)

__all__ = [
    "CONTROLLER_NAME",
    "CreateReplicaSet",
    "DeleteReplicaSet",
    "DeploymentReconciler",
    "Note",
    "Plan",
    "Scale",
    "UpdateReplicaSet",
    "apply_scales",
    "calculate_status",
    "cleanup_deployment",
    "cleanup_unhealthy_replicas",
    "counted_available",
    "deployment_complete",
    "deployment_progressing",
    "deployment_timed_out",
    "equal_ignore_hash",
    "find_active_or_latest",
    "find_new_replica_set",
    "find_old_replica_sets",
    "go_round",
    "is_saturated",
    "is_scaling_event",
    "max_revision",
    "max_surge",
    "max_unavailable",
    "min_available",
    "new_rs_new_replicas",
    "old_pods_running",
    "paused_condition",
    "plan",
    "pod_changed",
    "pod_template_hash",
    "proportional_scale",
    "reconcile_new_replica_set",
    "reconcile_old_replica_sets",
    "replica_set_fraction",
    "replica_set_proportion",
    "requeue_after",
    "resolve_fenceposts",
    "revision",
    "rollout_status",
    "rollout_step",
    "scale_down_old_replica_sets_for_recreate",
    "scale_down_old_replica_sets_for_rolling_update",
    "setup",
]

CONTROLLER_NAME = "deployment-controller"


def setup(
    manager: reconcile.Manager, *, recorder: reconcile.EventRecorder | None = None
) -> reconcile.Controller[Deployment]:
    """
    Add the Deployment controller to ``manager``.

    It reconciles Deployments, owns ReplicaSets (their changes enqueue their
    Deployment; orphans enqueue the Deployments that select them) and
    watches Pods only for what Recreate waits on (a pod of an old
    ReplicaSet finishing or disappearing). ``recorder`` (Kubernetes uses
    component ``deployment-controller``) receives the ``ScalingReplicaSet``
    and ``SelectingAll`` events; without one none are recorded.
    """
    deployments = manager.store(Deployment)
    replica_sets = manager.store(ReplicaSet)
    pods = manager.store(Pod)
    reconciler = DeploymentReconciler(
        manager.client,
        deployments=deployments,
        replica_sets=replica_sets,
        pods=pods,
        clock=manager.clock,
        recorder=recorder,
    )
    controller: reconcile.Controller[Deployment] = reconcile.Controller(
        name=CONTROLLER_NAME,
        reconciler=reconciler,
        for_=Deployment,
        owns=(ReplicaSet,),
        watches=[
            reconcile.Watch(
                kind=ReplicaSet, mapper=reconcile.enqueue_mapped(reconciler.orphan_deployments)
            ),
            reconcile.Watch(
                kind=Pod,
                mapper=reconcile.enqueue_mapped(reconciler.recreate_deployment_of),
                predicates=(pod_changed,),
            ),
        ],
    )
    return manager.add(controller)
