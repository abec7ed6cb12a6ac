"""
Recreate: every old pod goes before any new pod starts.

The counterparts of ``pkg/controller/deployment/recreate.go``. The rollout
has three phases, one per sync until each holds:

1. scale every active old ReplicaSet to zero;
2. wait while any old pod may still run (the old ReplicaSets still report
   replicas, or a pod of theirs is not ``Succeeded``/``Failed``, including
   pods being deleted and ``Unknown`` ones);
3. create (or reuse) the new ReplicaSet at ``spec.replicas``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.deployment.actions import Scale
from controllers.deployment.util import replicas_of
from reconcile import Uid

__all__ = ["PodsByOwner", "old_pods_running", "scale_down_old_replica_sets_for_recreate"]

PodsByOwner = Mapping[Uid, Sequence[Pod]]
"""Pods by the uid of their controlling ReplicaSet (Kubernetes' ``podMap``)."""

_TERMINAL = frozenset({"Succeeded", "Failed"})


def scale_down_old_replica_sets_for_recreate(old_rss: Sequence[ReplicaSet]) -> tuple[Scale, ...]:
    """``scaleDownOldReplicaSetsForRecreate``: every active old ReplicaSet to zero."""
    return tuple(Scale.of(rs, 0) for rs in old_rss if replicas_of(rs) > 0)


def old_pods_running(
    new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet], pods: PodsByOwner
) -> bool:
    """
    ``oldPodsRunning``: whether an old pod may still be running.

    True while the old ReplicaSets report any replicas in their status, or
    a pod of theirs (``pods``, by controlling ReplicaSet uid, as Kubernetes'
    ``podMap``) is in a non-terminal phase, including pods being deleted.
    Pods of ``new_rs`` never count; only the old ReplicaSets' pods are read.
    """
    if sum(rs.status.replicas for rs in old_rss) > 0:
        return True
    new_uid = new_rs.metadata.uid if new_rs is not None else None
    for rs in old_rss:
        if rs.metadata.uid == new_uid:
            continue
        if any(pod.status.phase not in _TERMINAL for pod in pods.get(rs.metadata.uid, ())):
            return True
    return False
