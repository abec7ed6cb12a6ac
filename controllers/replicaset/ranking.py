"""
Which pods a ReplicaSet deletes first when it has too many.

Kubernetes sorts the candidates with ``ActivePodsWithRanks.Less``
(pkg/controller/controller_utils.go) and deletes the head of the list
(``getPodsToDelete`` in pkg/controller/replicaset/replica_set.go). The rules,
first difference decides, each "deleted first" side named first:

1. unassigned (no ``spec.nodeName``) before assigned;
2. phase ``Pending`` before ``Unknown`` before ``Running``;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` first;
5. more co-located related pods on the same node first (the *rank*);
6. both ready: ready more recently first, compared in ``floor(log2)`` buckets
   of the time since (an unknown ready time counts as most recent);
7. more container restarts first;
8. created more recently first, in log2 buckets (no timestamp: newest);
9. finally the pod UID, ascending (Kubernetes' pseudo-random tie-break).

Design: Kubernetes compares pairs, and its rule 6/8 tie-break ("same bucket:
the lower UID goes first, unless the two instants are identical, in which
case carry on with the next rule") is not transitive, so no sort key can
reproduce it exactly. :func:`deletion_key` is a total order instead: within
a bucket it consults the later rules (restarts, creation) before the UID.
It agrees with Kubernetes whenever the instants are identical or the later
rules tie, and it makes the choice deterministic for property tests.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence

from controllers.api.core import Pod
from controllers.replicaset.pods import (
    ZERO_TIME,
    deletion_cost,
    is_pod_active,
    max_restarts,
    ready_time,
)

__all__ = ["DeletionKey", "co_located", "deletion_key", "pods_to_delete", "time_bucket"]

DeletionKey = tuple[int, int, int, int, int, int, int, int, int, int, str]
"""A pod's place in the deletion order: smaller keys are deleted first."""

_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}
"""Phases missing here (``""``) rank as Pending, as a Go map look-up of a missing key gives 0."""


def time_bucket(at: dt.datetime, now: dt.datetime) -> int:
    """
    ``floor(log2(nanoseconds from at to now))``, or ``-1`` when ``at`` is not in the past.

    Kubernetes: ``logarithmicRankDiff`` in pkg/controller/controller_utils.go
    (computed here on integers, so exact at powers of two).
    """
    delta = now - at
    nanos = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    return nanos.bit_length() - 1 if nanos > 0 else -1


def co_located(related: Iterable[Pod]) -> Counter[str]:
    """
    How many *active* pods of ``related`` each node runs (unassigned ones under ``""``).

    Kubernetes: ``getPodsRankedByRelatedPodsOnSameNode`` in
    pkg/controller/replicaset/replica_set.go.
    """
    return Counter(p.spec.node_name for p in related if is_pod_active(p))


def deletion_key(pod: Pod, *, rank: int, now: dt.datetime) -> DeletionKey:
    """
    The sort key of ``pod`` in the deletion order (see the module docstring).

    Args:
        pod: An active pod of the ReplicaSet.
        rank: Active related pods on the pod's node (:func:`co_located`).
        now: The instant ready and creation times are bucketed against.
    """
    ready = ready_time(pod)
    if ready is None or ready == ZERO_TIME:
        ready_known, ready_bucket = 0, 0  # not ready (rule 6 is moot), or "most recent"
    else:
        ready_known, ready_bucket = 1, time_bucket(ready, now)
    created = pod.metadata.creation_timestamp
    if created is None:
        created_known, created_bucket = 0, 0
    else:
        created_known, created_bucket = 1, time_bucket(created, now)
    return (
        1 if pod.spec.node_name else 0,
        _PHASE_ORDER.get(pod.status.phase, 0),
        0 if ready is None else 1,
        deletion_cost(pod),
        -rank,
        ready_known,
        ready_bucket,
        -max_restarts(pod),
        created_known,
        created_bucket,
        pod.metadata.uid,
    )


def pods_to_delete(
    pods: Sequence[Pod], count: int, *, related: Iterable[Pod] = (), now: dt.datetime
) -> tuple[Pod, ...]:
    """
    The ``count`` pods of ``pods`` to delete first, in deletion order.

    Args:
        pods: The ReplicaSet's active pods.
        count: How many to delete; all of them (in their given order, no
            sorting) when ``count >= len(pods)``.
        related: Pods of every ReplicaSet controlled by the same owner (say,
            the Deployment's), for the co-location rank; Kubernetes ranks
            a ReplicaSet without a controller with no related pods at all.
        now: The reference instant of the log2 buckets.

    Kubernetes: ``getPodsToDelete`` in pkg/controller/replicaset/replica_set.go.
    """
    if count <= 0:
        return ()
    if count >= len(pods):
        return tuple(pods)
    on_node = co_located(related)
    ranked = sorted(pods, key=lambda p: deletion_key(p, rank=on_node[p.spec.node_name], now=now))
    return tuple(ranked[:count])
