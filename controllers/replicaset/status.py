"""
A ReplicaSet's status from its pods: pure, with ``now`` passed in.

Kubernetes: ``calculateStatus`` in pkg/controller/replicaset/replica_set_utils.go
(which once read the clock itself; here time is an argument).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from controllers.api.apps import ReplicaSet, ReplicaSetCondition, ReplicaSetStatus
from controllers.api.core import Pod
from controllers.replicaset.pods import ZERO_TIME, available_at, ready_time
from reconcile import ConditionStatus

__all__ = [
    "REPLICA_FAILURE",
    "calculate_status",
    "desired_replicas",
    "next_available_in",
]

REPLICA_FAILURE = "ReplicaFailure"
"""The one condition type the ReplicaSet controller sets: creating or deleting pods failed."""


def desired_replicas(rs: ReplicaSet) -> int:
    """``spec.replicas``, defaulted to 1 when unset (as the API server defaults it)."""
    return 1 if rs.spec.replicas is None else rs.spec.replicas


def calculate_status(
    rs: ReplicaSet, pods: Sequence[Pod], *, now: dt.datetime, error: str | None = None
) -> ReplicaSetStatus:
    """
    The status ``rs`` should have, owning the active pods ``pods``.

    Args:
        rs: The ReplicaSet; its other status fields (``terminatingReplicas``)
            are kept.
        pods: The active pods it controls after claiming.
        now: The instant availability is judged at.
        error: The message of the error that creating or deleting pods
            raised in this sync, or ``None`` when that succeeded (or was
            not attempted).

    Returns:
        ``replicas`` (every pod), ``fullyLabeledReplicas`` (pods carrying
        every template label), ``readyReplicas``, ``availableReplicas``
        (ready for ``minReadySeconds``, inclusive), ``observedGeneration``
        and the ``ReplicaFailure`` condition: added ``True`` with reason
        ``FailedCreate`` (too few pods) or ``FailedDelete`` (too many) and
        the error as message when an error is given and the condition is
        absent (an existing one is left as it is), removed when no error is
        given.
    """
    template = tuple(rs.spec.template.metadata.labels.items())
    min_ready = rs.spec.min_ready_seconds
    # Ready since at most this instant means available (inclusive, as upstream now is).
    latest = now - dt.timedelta(seconds=min_ready)
    fully_labeled = ready = available = 0
    seen_labels: object = None  # pods made from one template share one labels value
    labeled = False
    for pod in pods:  # one tight pass: a sync may count 10,000 pods
        labels = pod.metadata.labels
        if labels is not seen_labels:
            seen_labels = labels
            labeled = all(labels.get(key) == value for key, value in template)
        fully_labeled += labeled
        since = ready_time(pod)
        if since is None:
            continue
        ready += 1
        if min_ready == 0 or (since != ZERO_TIME and since <= latest):
            available += 1
    conditions = rs.status.conditions
    failure = next((c for c in conditions if c.type == REPLICA_FAILURE), None)
    if error is not None and failure is None:
        diff = len(pods) - desired_replicas(rs)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        condition = ReplicaSetCondition(
            type=REPLICA_FAILURE,
            status=ConditionStatus.TRUE,
            last_transition_time=now,
            reason=reason,
            message=error,
        )
        conditions = (*conditions, condition)
    elif error is None and failure is not None:
        conditions = tuple(c for c in conditions if c.type != REPLICA_FAILURE)
    return attrs.evolve(
        rs.status,
        replicas=len(pods),
        fully_labeled_replicas=fully_labeled,
        ready_replicas=ready,
        available_replicas=available,
        observed_generation=rs.metadata.generation,
        conditions=conditions,
    )


def next_available_in(rs: ReplicaSet, pods: Sequence[Pod], *, now: dt.datetime) -> float | None:
    """
    Seconds from ``now`` until the next ready pod of ``pods`` becomes available.

    ``None`` when no ready pod is still waiting out ``minReadySeconds``. A
    pod whose ready time is unknown never becomes available and is ignored.
    Kubernetes requeues the ReplicaSet ``minReadySeconds`` (+1 s) after a pod
    turns ready; waking exactly when the first one becomes available reports
    it no later and with no guesswork.
    """
    min_ready = rs.spec.min_ready_seconds
    if min_ready == 0:
        return None
    soonest: dt.datetime | None = None
    for pod in pods:
        at = available_at(pod, min_ready)
        if at is not None and at > now and (soonest is None or at < soonest):
            soonest = at
    return None if soonest is None else (soonest - now).total_seconds()
