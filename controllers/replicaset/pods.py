"""
Pure facts about one pod that the ReplicaSet controller decides on.

Each function mirrors a Kubernetes helper (named in its docstring) and reads
only the pod and, where time matters, an injected ``now``: no clock, no I/O.
Timestamps are aware UTC datetimes, as the API server stamps them.
"""

from __future__ import annotations

import datetime as dt
import re

from controllers.api.core import Pod

__all__ = [
    "DELETION_COST_ANNOTATION",
    "ZERO_TIME",
    "available_at",
    "deletion_cost",
    "is_pod_active",
    "is_pod_available",
    "is_pod_ready",
    "max_restarts",
    "ready_time",
]

ZERO_TIME = dt.datetime.min.replace(tzinfo=dt.UTC)
"""Kubernetes' zero ``metav1.Time``: an instant that is unknown."""

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
"""Pods with a lower cost are deleted first on scale-down (an int32; ``0`` when absent)."""

_INT32 = (-(2**31), 2**31 - 1)
_DECIMAL = re.compile(r"[+-]?[0-9]+")


def is_pod_active(pod: Pod) -> bool:
    """
    Whether ``pod`` counts towards replicas: not finished and not being deleted.

    Kubernetes: ``IsPodActive`` in pkg/controller/controller_utils.go.
    """
    return pod.metadata.deletion_timestamp is None and pod.status.phase not in (
        "Succeeded",
        "Failed",
    )


def ready_time(pod: Pod) -> dt.datetime | None:
    """
    When ``pod`` last became ready, or ``None`` when it is not ready.

    A ready pod whose ``Ready`` condition has no transition time returns
    :data:`ZERO_TIME`: "ready since an unknown instant".
    """
    for condition in pod.status.conditions:
        if condition.type == "Ready":
            if condition.status != "True":
                return None
            return condition.last_transition_time or ZERO_TIME
    return None


def is_pod_ready(pod: Pod) -> bool:
    """
    Whether ``pod`` has the condition ``Ready=True``.

    Kubernetes: ``IsPodReady`` in pkg/api/v1/pod/util.go.
    """
    return ready_time(pod) is not None


def available_at(pod: Pod, min_ready_seconds: int) -> dt.datetime | None:
    """
    The instant from which ``pod`` counts as available, or ``None`` if it never will as it is.

    A pod that is not ready, or that is ready since an unknown instant while
    ``min_ready_seconds > 0``, has none. With ``min_ready_seconds == 0`` a
    ready pod is available at once (``datetime.min``).
    """
    since = ready_time(pod)
    if since is None:
        return None
    if min_ready_seconds == 0:
        return ZERO_TIME
    if since == ZERO_TIME:
        return None
    return since + dt.timedelta(seconds=min_ready_seconds)


def is_pod_available(pod: Pod, min_ready_seconds: int, now: dt.datetime) -> bool:
    """
    Whether ``pod`` has been ready for at least ``min_ready_seconds`` at ``now``.

    The comparison is inclusive (ready exactly ``min_ready_seconds`` ago is
    available), as in recent Kubernetes. Kubernetes: ``IsPodAvailable`` in
    pkg/api/v1/pod/util.go.
    """
    at = available_at(pod, min_ready_seconds)
    return at is not None and at <= now


def deletion_cost(pod: Pod) -> int:
    """
    The pod's ``controller.kubernetes.io/pod-deletion-cost``; ``0`` when absent or invalid.

    Kubernetes: ``GetDeletionCostFromPodAnnotations`` in
    pkg/apis/core/helper (an unparsable value is rejected by validation
    upstream; here it simply counts as the default).
    """
    text = pod.metadata.annotations.get(DELETION_COST_ANNOTATION)
    if text is None:
        return 0
    if _DECIMAL.fullmatch(text) is None:  # Go's ParseInt: no spaces, no underscores
        return 0
    cost = int(text)
    return cost if _INT32[0] <= cost <= _INT32[1] else 0


def max_restarts(pod: Pod) -> int:
    """
    The highest ``restartCount`` among the pod's (non-init) containers.

    Kubernetes: ``maxContainerRestarts`` in pkg/controller/controller_utils.go.
    """
    return max((c.restart_count for c in pod.status.container_statuses), default=0)
