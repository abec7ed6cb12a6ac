"""
RollingUpdate: grow the new ReplicaSet within the surge, shrink the old ones within availability.

The counterparts of ``pkg/controller/deployment/rolling.go``, as pure
functions returning :class:`~controllers.deployment.actions.Scale` steps. A
sync takes at most one kind of step: if the new ReplicaSet moves, the old
ones wait for the next sync (:func:`rollout_step` encodes that rule).

Bounds every step keeps, with ``R = spec.replicas``:

* pods asked for over all ReplicaSets stay ``<= R + maxSurge`` while the new
  ReplicaSet grows (:func:`~controllers.deployment.util.new_rs_new_replicas`);
* old replicas are removed only while ``available >= R - maxUnavailable``
  still holds afterwards, counting the new ReplicaSet's unavailable pods
  against the budget; unhealthy old replicas go first, oldest ReplicaSet
  first, as they cost no availability.

One deliberate difference from Kubernetes: a ReplicaSet's available pods
are counted as at most its ``spec.replicas`` (:func:`counted_available`).
Right after a scale-down, a ReplicaSet's status still counts the pods it is
about to remove; Kubernetes trusts that stale count and can then scale down
further than ``maxUnavailable`` allows. With fresh statuses the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from controllers.api.apps import Deployment, ReplicaSet
from controllers.deployment.actions import Scale, apply_scales, scaled_down
from controllers.deployment.util import (
    by_creation,
    max_unavailable,
    new_rs_new_replicas,
    replicas_of,
    spec_replicas,
)
from controllers.planted import DEPLOYMENT_COUNTS_REPLICAS_AS_AVAILABLE
from reconcile import planted

__all__ = [
    "cleanup_unhealthy_replicas",
    "reconcile_new_replica_set",
    "reconcile_old_replica_sets",
    "rollout_step",
    "scale_down_old_replica_sets_for_rolling_update",
]


def counted_available(rs: ReplicaSet) -> int:
    """Available pods that will remain: ``status.availableReplicas`` capped by ``spec.replicas``."""
    if planted(DEPLOYMENT_COUNTS_REPLICAS_AS_AVAILABLE):
        return min(rs.status.replicas, replicas_of(rs))
    return min(rs.status.available_replicas, replicas_of(rs))


def reconcile_new_replica_set(
    deployment: Deployment, all_rss: Sequence[ReplicaSet], new_rs: ReplicaSet
) -> Scale | None:
    """
    ``reconcileNewReplicaSet``: the new ReplicaSet's next size, or ``None`` to leave it.

    Too big: straight down to ``replicas``. Too small: up as far as
    :func:`~controllers.deployment.util.new_rs_new_replicas` allows.
    ``all_rss`` includes ``new_rs``.
    """
    replicas = spec_replicas(deployment)
    current = replicas_of(new_rs)
    if current == replicas:
        return None
    target = replicas if current > replicas else new_rs_new_replicas(deployment, all_rss, new_rs)
    return None if target == current else Scale.of(new_rs, target)


def cleanup_unhealthy_replicas(
    old_rss: Sequence[ReplicaSet], deployment: Deployment, max_cleanup: int
) -> tuple[Scale, ...]:
    """
    ``cleanupUnhealthyReplicas``: drop unavailable old replicas, oldest ReplicaSet first.

    At most ``max_cleanup`` replicas in total; each ReplicaSet loses at most
    ``spec.replicas - status.availableReplicas``. (Kubernetes fails the sync
    when a ReplicaSet reports more available pods than it asks for; such a
    ReplicaSet is simply skipped here.)
    """
    del deployment  # Kubernetes passes it only for the events; kept for the mirror
    steps: list[Scale] = []
    cleaned = 0
    for rs in sorted(old_rss, key=by_creation):
        if cleaned >= max_cleanup:
            break
        unhealthy = replicas_of(rs) - rs.status.available_replicas
        if replicas_of(rs) == 0 or unhealthy <= 0:
            continue
        n = min(max_cleanup - cleaned, unhealthy)
        steps.append(Scale.of(rs, replicas_of(rs) - n))
        cleaned += n
    return tuple(steps)


def scale_down_old_replica_sets_for_rolling_update(
    all_rss: Sequence[ReplicaSet], old_rss: Sequence[ReplicaSet], deployment: Deployment
) -> tuple[Scale, ...]:
    """
    ``scaleDownOldReplicaSetsForRollingUpdate``: shed available old replicas above the minimum.

    Removes ``Σ available(all_rss) - (replicas - maxUnavailable)`` replicas,
    oldest ReplicaSet first, skipping empty ones (available as counted by
    :func:`counted_available`).
    """
    min_avail = spec_replicas(deployment) - max_unavailable(deployment)
    available = sum(counted_available(rs) for rs in all_rss)
    if available <= min_avail:
        return ()
    want = available - min_avail
    steps: list[Scale] = []
    done = 0
    for rs in sorted(old_rss, key=by_creation):
        if done >= want:
            break
        if replicas_of(rs) == 0:
            continue
        n = min(replicas_of(rs), want - done)
        steps.append(Scale.of(rs, replicas_of(rs) - n))
        done += n
    return tuple(steps)


def reconcile_old_replica_sets(
    all_rss: Sequence[ReplicaSet],
    old_rss: Sequence[ReplicaSet],
    new_rs: ReplicaSet,
    deployment: Deployment,
) -> tuple[Scale, ...]:
    """
    ``reconcileOldReplicaSets``: the old ReplicaSets' scale-down steps for this sync.

    The budget is ``Σ spec(all) - minAvailable - unavailable(new)``; within
    it, :func:`cleanup_unhealthy_replicas` runs first, then
    :func:`scale_down_old_replica_sets_for_rolling_update` sees the cleaned
    sizes. ``old_rss`` are the active old ReplicaSets; ``all_rss`` includes
    ``new_rs``. An empty result means nothing can move yet.
    """
    if sum(replicas_of(rs) for rs in old_rss) == 0:
        return ()
    all_pods = sum(replicas_of(rs) for rs in all_rss)
    min_avail = spec_replicas(deployment) - max_unavailable(deployment)
    new_unavailable = replicas_of(new_rs) - counted_available(new_rs)
    budget = all_pods - min_avail - new_unavailable
    if budget <= 0:
        return ()
    cleanup = cleanup_unhealthy_replicas(old_rss, deployment, budget)
    cleaned = apply_scales(old_rss, cleanup)
    scale_down = scale_down_old_replica_sets_for_rolling_update(
        [*cleaned, new_rs], cleaned, deployment
    )
    steps = cleanup + scale_down
    return steps if scaled_down(steps) > 0 else ()


def rollout_step(
    deployment: Deployment, new_rs: ReplicaSet, old_rss: Sequence[ReplicaSet]
) -> tuple[Scale, ...]:
    """
    One sync of ``rolloutRolling``: the new ReplicaSet's step if it has one, else the old ones'.

    ``old_rss`` are all old ReplicaSets; only the active ones (``spec.replicas > 0``)
    are scaled down. Empty when the rollout cannot move (or is done).
    """
    all_rss = [*old_rss, new_rs]
    step = reconcile_new_replica_set(deployment, all_rss, new_rs)
    if step is not None:
        return (step,)
    active = [rs for rs in old_rss if replicas_of(rs) > 0]
    return reconcile_old_replica_sets(all_rss, active, new_rs, deployment)
