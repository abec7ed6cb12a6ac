"""
What the scheduler writes besides the binding: the ``PodScheduled`` condition.

Pure; no I/O, the time comes in as ``now``. :func:`with_scheduled` returns
``None`` when the pod already carries the condition, so repeated attempts
write nothing (no hot loop on status updates).
"""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.pod import Pod, PodCondition

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
    when it changes, as Kubernetes does.
    """
    wanted = "True" if status else "False"
    conditions = pod.status.conditions
    old = next((c for c in conditions if c.type == POD_SCHEDULED), None)
    if old is not None and (old.status, old.reason, old.message) == (wanted, reason, message):
        return None
    changed = old is None or old.status != wanted
    new = PodCondition(
        type=POD_SCHEDULED,
        status=wanted,
        last_transition_time=now if changed or old is None else old.last_transition_time,
        reason=reason,
        message=message,
    )
    if old is None:
        updated = (*conditions, new)
    else:
        updated = tuple(new if c is old else c for c in conditions)
    return attrs.evolve(pod, status=attrs.evolve(pod.status, conditions=updated))
