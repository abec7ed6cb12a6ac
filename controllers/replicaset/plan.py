"""
The ReplicaSet controller's pure decisions: claim pods, scale, plan a sync.

No I/O, no clock, no asyncio: every function takes the ReplicaSet, the pods
from the cache and ``now``, and returns frozen values that
:mod:`controllers.replicaset.reconciler` applies. One sync, as Kubernetes'
``syncReplicaSet`` (pkg/controller/replicaset/replica_set.go) runs it:

1. :func:`claim`: of the *active* candidate pods, keep those the ReplicaSet
   controls that still match its selector, adopt matching orphans, release
   controlled pods that stopped matching. Pods controlled by anyone else are
   never touched. A ReplicaSet being deleted adopts and releases nothing.
2. :func:`scale` (only when expectations are satisfied and the ReplicaSet is
   not being deleted): ``diff = len(pods) - spec.replicas``; create
   ``min(-diff, 500)`` pods or delete the ``min(diff, 500)`` first in
   :func:`~controllers.replicaset.ranking.pods_to_delete` order. Creations
   are issued in :func:`slow_start_batches`.
3. :func:`~controllers.replicaset.status.calculate_status` and, with
   ``minReadySeconds``, when to look again.

:func:`plan` composes the three for one snapshot; the reconciler calls them
one at a time because the outcome of each write feeds the next step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

from controllers.api.apps import ReplicaSet, ReplicaSetStatus
from controllers.api.core import Pod
from controllers.planted import REPLICASET_ADOPTS_OWNED_PODS
from controllers.podcontrol.claims import Claim, claim_pods
from controllers.replicaset.pods import is_pod_active
from controllers.replicaset.ranking import pods_to_delete
from controllers.replicaset.status import calculate_status, desired_replicas, next_available_in
from reconcile import ObjectMeta, controller_of, owner_reference_to, planted, remove_owner_reference

__all__ = [
    "BURST_REPLICAS",
    "SLOW_START_INITIAL_BATCH",
    "Claim",
    "Plan",
    "Scale",
    "claim",
    "plan",
    "pod_from_template",
    "scale",
    "slow_start_batches",
]

BURST_REPLICAS = 500
"""Most pods one sync creates or deletes (Kubernetes' ``BurstReplicas``)."""

SLOW_START_INITIAL_BATCH = 1
"""The first slow-start batch (Kubernetes' ``SlowStartInitialBatchSize``)."""


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, ...]:
    """
    The batch sizes in which ``count`` calls are issued: ``initial``, then doubling.

    Each batch is ``min(2 * previous, remaining)``, so the sizes sum to
    ``count``: ``slow_start_batches(10) == (1, 2, 4, 3)``. The caller runs
    the calls of a batch concurrently and stops after the first batch with a
    failure, so a create that always fails (a quota, say) is tried a few
    times rather than ``count`` times. The cap of :data:`BURST_REPLICAS`
    per sync is applied before (by :func:`scale`), not here.

    Kubernetes: ``slowStartBatch`` in pkg/controller/replicaset/replica_set.go.

    Raises:
        ValueError: if ``count`` is negative or ``initial`` is below 1.
    """
    if count < 0:
        raise ValueError(f"count: must be >= 0, got {count}")
    if initial < 1:
        raise ValueError(f"initial: must be >= 1, got {initial}")
    sizes: list[int] = []
    remaining = count
    size = min(initial, remaining)
    while size > 0:
        sizes.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return tuple(sizes)


def pod_from_template(rs: ReplicaSet) -> Pod:
    """
    A new pod for ``rs``: its template, ``generateName: <rs name>-``, controlled by ``rs``.

    Labels, annotations and finalizers come from the template; the owner
    reference has ``controller`` and ``blockOwnerDeletion`` set. The API
    server picks the name. Kubernetes: ``GetPodFromTemplate`` in
    pkg/controller/controller_utils.go.
    """
    template = rs.spec.template
    meta = ObjectMeta(
        generate_name=f"{rs.metadata.name}-",
        namespace=rs.metadata.namespace,
        labels=template.metadata.labels,
        annotations=template.metadata.annotations,
        finalizers=template.metadata.finalizers,
        owner_references=(owner_reference_to(rs),),
    )
    return Pod(metadata=meta, spec=template.spec)


def claim(rs: ReplicaSet, pods: Iterable[Pod]) -> Claim:
    """
    Sort ``pods`` into kept, adopted and released ones (inactive pods are ignored).

    See :func:`~controllers.podcontrol.claim_pods`. Kubernetes: ``ClaimPods``
    as ``syncReplicaSet`` calls it, on the active pods only.
    """
    active: Iterable[Pod] = (p for p in pods if is_pod_active(p))
    if planted(REPLICASET_ADOPTS_OWNED_PODS):
        active = (_as_orphan(rs, p) for p in active)
    return claim_pods(rs.metadata, rs.spec.selector, active)


def _as_orphan(rs: ReplicaSet, pod: Pod) -> Pod:
    """``pod`` without another controller's reference (only when the bug is planted)."""
    ref = controller_of(pod.metadata)
    if ref is None or ref.uid == rs.metadata.uid:
        return pod
    return attrs.evolve(pod, metadata=remove_owner_reference(pod.metadata, ref.uid))


@attrs.frozen(kw_only=True)
class Scale:
    """
    Pods to create and delete in one sync (at most one of the two is non-empty).

    Attributes:
        create: How many pods to create from the template.
        delete: The pods to delete, first to go first.
    """

    create: int = 0
    delete: tuple[Pod, ...] = ()


def scale(
    rs: ReplicaSet,
    pods: Sequence[Pod],
    *,
    related: Iterable[Pod] = (),
    now: dt.datetime,
    burst: int = BURST_REPLICAS,
) -> Scale:
    """
    How to bring the active pods ``pods`` of ``rs`` towards ``spec.replicas``.

    At most ``burst`` pods are created or deleted; the rest waits for the
    next sync. Victims are chosen by
    :func:`~controllers.replicaset.ranking.pods_to_delete` with ``related``
    pods for the co-location rank. Kubernetes: ``manageReplicas`` in
    pkg/controller/replicaset/replica_set.go.
    """
    diff = len(pods) - desired_replicas(rs)
    if diff < 0:
        return Scale(create=min(-diff, burst))
    if diff > 0:
        return Scale(delete=pods_to_delete(pods, min(diff, burst), related=related, now=now))
    return Scale()


@attrs.frozen(kw_only=True)
class Plan:
    """
    Everything one sync of a ReplicaSet would do, assuming every write succeeds.

    Attributes:
        claim: Pods kept, adopted and released.
        scale: Pods created and deleted (empty when not managing).
        status: The status after the claim, before the scaling takes effect.
        requeue_after: Seconds until a ready pod becomes available, if any.
    """

    claim: Claim
    scale: Scale
    status: ReplicaSetStatus
    requeue_after: float | None

    @property
    def writes_pods(self) -> bool:
        """Whether any pod would be adopted, released, created or deleted."""
        return bool(
            self.claim.adopt or self.claim.release or self.scale.create or self.scale.delete
        )


def plan(
    rs: ReplicaSet,
    pods: Iterable[Pod],
    *,
    now: dt.datetime,
    manage: bool = True,
    related: Iterable[Pod] = (),
) -> Plan:
    """
    One sync of ``rs`` over a snapshot of candidate ``pods`` (see the module docstring).

    Args:
        rs: The ReplicaSet.
        pods: Pods it controls and orphans in its namespace (others are ignored).
        now: The current instant.
        manage: Whether creating and deleting is allowed: expectations are
            satisfied. A ReplicaSet being deleted never scales.
        related: Pods of sibling ReplicaSets, for the deletion rank.
    """
    claimed = claim(rs, pods)
    mine = (*claimed.owned, *claimed.adopt)
    if manage and rs.spec.selector is not None and rs.metadata.deletion_timestamp is None:
        change = scale(rs, mine, related=related, now=now)
    else:
        change = Scale()
    return Plan(
        claim=claimed,
        scale=change,
        status=calculate_status(rs, mine, now=now),
        requeue_after=next_available_in(rs, mine, now=now),
    )
