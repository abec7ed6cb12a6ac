"""
What the scheduler writes besides the binding: the ``PodScheduled`` condition.

Pure; no I/O, the time comes in as ``now``. :func:`with_scheduled` returns
``None`` when the pod already carries the condition, so repeated attempts
write nothing (no hot loop on status updates).
"""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.pod import Pod, set_pod_condition

__all__ = ["DEFAULT_SCHEDULER", "POD_SCHEDULED", "UNSCHEDULABLE", "is_pending", "with_scheduled"]

DEFAULT_SCHEDULER = "default-scheduler"
POD_SCHEDULED = "PodScheduled"
UNSCHEDULABLE = "Unschedulable"


def is_pending(pod: Pod) -> bool:
    """Whether ``pod`` waits for this scheduler: unbound, not deleting, ``schedulerName`` ours."""
    return (
        not pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and pod.spec.scheduler_name in ("", DEFAULT_SCHEDULER)
    )


def with_scheduled(
    pod: Pod, *, status: bool, reason: str = "", message: str = "", now: dt.datetime
) -> Pod | None:
    """
    ``pod`` with ``PodScheduled`` set, or ``None`` when it already says so.

    The transition time is kept while the status holds and set to ``now``
    when it changes, as Kubernetes does. (Binding sets ``True`` server-side:
    see :class:`~controllers.api.pod.Pod`.)
    """
    wanted = "True" if status else "False"
    updated = set_pod_condition(
        pod.status, POD_SCHEDULED, wanted, now=now, reason=reason, message=message
    )
    return None if updated is None else attrs.evolve(pod, status=updated)
