"""
A DaemonSet's status from its nodes and pods: pure, with ``now`` passed in.

Counts are of nodes, not pods. On every node that should run the pod and
has one, the *first* pod (bound ones first, then the oldest, then by name)
decides whether the node counts as ready, available and updated.

Kubernetes: ``updateDaemonSetStatus`` and ``storeDaemonSetStatus`` in
pkg/controller/daemon/daemon_controller.go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import attrs

from controllers.api.apps import DaemonSet, DaemonSetStatus
from controllers.api.core import Pod
from controllers.daemonset.revisions import HASH_LABEL
from controllers.replicaset.pods import ZERO_TIME, available_at, ready_time

__all__ = ["by_age", "calculate_status", "next_available_in"]

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def by_age(pod: Pod) -> tuple[bool, dt.datetime, str]:
    """
    Sort key of the pods on one node: bound pods first, then the oldest, then by name.

    Kubernetes: ``podByCreationTimestampAndPhase``.
    """
    return (not pod.spec.node_name, pod.metadata.creation_timestamp or _EPOCH, pod.metadata.name)


def calculate_status(
    ds: DaemonSet,
    pods_by_node: Mapping[str, Sequence[Pod]],
    should_run: Mapping[str, bool],
    *,
    hash_: str,
    now: dt.datetime,
    observe: bool = True,
) -> DaemonSetStatus:
    """
    The status ``ds`` should have.

    Args:
        ds: The DaemonSet; its other status fields (``collisionCount``,
            ``conditions``) are kept.
        pods_by_node: Its pods by node, without finished pods being deleted.
        should_run: For every existing node, whether it should run the pod.
        hash_: The current revision's hash (for ``updatedNumberScheduled``).
        now: The instant availability is judged at.
        observe: Whether to record ``metadata.generation`` as observed
            (Kubernetes does only when the sync could act on it, that is when
            its expectations were satisfied).

    Returns:
        ``desiredNumberScheduled`` (nodes that should run the pod),
        ``currentNumberScheduled`` (of those, nodes with a pod),
        ``numberMisscheduled`` (other nodes with a pod), ``numberReady``,
        ``numberAvailable`` (ready for ``minReadySeconds``, inclusive),
        ``updatedNumberScheduled`` (first pod of the current revision) and
        ``numberUnavailable`` (desired minus available).
    """
    desired = current = misscheduled = ready = available = updated = 0
    min_ready = ds.spec.min_ready_seconds
    # Ready since at most this instant means available (inclusive, as upstream now is).
    latest = now - dt.timedelta(seconds=min_ready)
    for name, runs in should_run.items():
        pods = pods_by_node.get(name)
        if not runs:
            if pods:
                misscheduled += 1
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        first = pods[0] if len(pods) == 1 else min(pods, key=by_age)
        since = ready_time(first)
        if since is not None:
            ready += 1
            if min_ready == 0 or (since != ZERO_TIME and since <= latest):
                available += 1
        if first.metadata.labels.get(HASH_LABEL) == hash_:
            updated += 1
    return attrs.evolve(
        ds.status,
        desired_number_scheduled=desired,
        current_number_scheduled=current,
        number_misscheduled=misscheduled,
        number_ready=ready,
        number_available=available,
        updated_number_scheduled=updated,
        number_unavailable=desired - available,
        observed_generation=(ds.metadata.generation if observe else ds.status.observed_generation),
    )


def next_available_in(
    ds: DaemonSet, pods_by_node: Mapping[str, Sequence[Pod]], *, now: dt.datetime
) -> float | None:
    """
    Seconds from ``now`` until some ready daemon pod becomes available; ``None`` if none will.

    Kubernetes requeues ``minReadySeconds`` after any sync that saw ready
    but unavailable pods; waking exactly when the first becomes available
    reports it no later.
    """
    min_ready = ds.spec.min_ready_seconds
    if min_ready == 0:
        return None
    soonest: dt.datetime | None = None
    for pods in pods_by_node.values():
        for pod in pods:
            at = available_at(pod, min_ready)
            if at is not None and at > now and (soonest is None or at < soonest):
                soonest = at
    return None if soonest is None else (soonest - now).total_seconds()
