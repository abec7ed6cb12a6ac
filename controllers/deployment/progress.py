"""
Deployment status and conditions: counts, ``Available``, ``Progressing`` and the deadline.

The counterparts of ``calculateStatus`` and ``syncRolloutStatus``
(``sync.go``, ``progress.go``) and of the predicates and condition helpers
of ``deployment_util.go``. Time is always passed in as ``now``.

How the deadline works: every sync that sees progress (more updated,
ready or available replicas, or fewer old ones) rewrites ``Progressing``
(reason ``ReplicaSetUpdated``), moving its ``lastUpdateTime`` to ``now``; a
sync that sees none after ``lastUpdateTime + progressDeadlineSeconds``
(strictly) marks it ``False``/``ProgressDeadlineExceeded``. A completed
rollout (``NewReplicaSetAvailable``) never times out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from controllers.api.apps import Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet
from controllers.deployment.util import max_unavailable, replicas_of, spec_replicas
from reconcile import ConditionStatus

__all__ = [
    "AVAILABLE",
    "PROGRESSING",
    "REPLICA_FAILURE",
    "Reason",
    "calculate_status",
    "deployment_complete",
    "deployment_progressing",
    "deployment_timed_out",
    "get_condition",
    "has_progress_deadline",
    "new_condition",
    "paused_condition",
    "remove_condition",
    "requeue_after",
    "rollout_status",
    "set_condition",
]

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
_MAX_INT32 = 2**31 - 1


class Reason:
    """Condition reasons the Deployment controller sets (Kubernetes' exact strings)."""

    NEW_RS_CREATED = "NewReplicaSetCreated"
    FOUND_NEW_RS = "FoundNewReplicaSet"
    RS_UPDATED = "ReplicaSetUpdated"
    NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
    TIMED_OUT = "ProgressDeadlineExceeded"
    PAUSED = "DeploymentPaused"
    RESUMED = "DeploymentResumed"
    RS_CREATE_ERROR = "ReplicaSetCreateError"
    MIN_AVAILABLE = "MinimumReplicasAvailable"
    MIN_UNAVAILABLE = "MinimumReplicasUnavailable"


# -- conditions -------------------------------------------------------------------------


def new_condition(
    type_: str, status: ConditionStatus, reason: str, message: str, *, now: dt.datetime
) -> DeploymentCondition:
    """``NewDeploymentCondition``: both timestamps at ``now``."""
    return DeploymentCondition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_update_time=now,
        last_transition_time=now,
    )


def get_condition(status: DeploymentStatus, type_: str) -> DeploymentCondition | None:
    """``GetDeploymentCondition``: the condition of ``type_``, if any."""
    return next((c for c in status.conditions if c.type == type_), None)


def remove_condition(status: DeploymentStatus, type_: str) -> DeploymentStatus:
    """``RemoveDeploymentCondition`` (``status`` itself when there is none)."""
    kept = tuple(c for c in status.conditions if c.type != type_)
    return status if len(kept) == len(status.conditions) else attrs.evolve(status, conditions=kept)


def set_condition(status: DeploymentStatus, condition: DeploymentCondition) -> DeploymentStatus:
    """
    ``SetDeploymentCondition``: put ``condition`` last, replacing its type.

    A no-op when the current one has the same status and reason (its
    timestamps stay); with the same status but another reason, the old
    ``lastTransitionTime`` is kept.
    """
    current = get_condition(status, condition.type)
    if current is not None and current.status == condition.status:
        if current.reason == condition.reason:
            return status
        condition = attrs.evolve(condition, last_transition_time=current.last_transition_time)
    kept = tuple(c for c in status.conditions if c.type != condition.type)
    return attrs.evolve(status, conditions=(*kept, condition))


# -- predicates -------------------------------------------------------------------------


def has_progress_deadline(deployment: Deployment) -> bool:
    """``HasProgressDeadline``: a deadline is set and is not ``MaxInt32``."""
    pds = deployment.spec.progress_deadline_seconds
    return pds is not None and pds != _MAX_INT32


def deployment_complete(deployment: Deployment, status: DeploymentStatus) -> bool:
    """``DeploymentComplete``: all replicas updated and available, and the generation observed."""
    replicas = spec_replicas(deployment)
    return (
        status.updated_replicas == replicas
        and status.replicas == replicas
        and status.available_replicas == replicas
        and status.observed_generation >= deployment.metadata.generation
    )


def deployment_progressing(deployment: Deployment, status: DeploymentStatus) -> bool:
    """
    ``DeploymentProgressing``: ``status`` shows progress over ``deployment.status``.

    More updated, ready or available replicas, or fewer old ones.
    """
    old = deployment.status
    return (
        status.updated_replicas > old.updated_replicas
        or status.replicas - status.updated_replicas < old.replicas - old.updated_replicas
        or status.ready_replicas > old.ready_replicas
        or status.available_replicas > old.available_replicas
    )


def deployment_timed_out(
    deployment: Deployment, status: DeploymentStatus, *, now: dt.datetime
) -> bool:
    """
    ``DeploymentTimedOut``: the ``Progressing`` condition of ``status`` is past the deadline.

    Already ``ProgressDeadlineExceeded`` stays timed out; ``NewReplicaSetAvailable``
    never times out; otherwise ``lastUpdateTime + progressDeadlineSeconds < now``.
    """
    if not has_progress_deadline(deployment):
        return False
    condition = get_condition(status, PROGRESSING)
    if condition is None or condition.reason == Reason.NEW_RS_AVAILABLE:
        return False
    if condition.reason == Reason.TIMED_OUT:
        return True
    return _deadline(deployment, condition) < now


def _deadline(deployment: Deployment, condition: DeploymentCondition) -> dt.datetime:
    since = condition.last_update_time or dt.datetime.min.replace(tzinfo=dt.UTC)
    seconds = deployment.spec.progress_deadline_seconds or 0
    return since + dt.timedelta(seconds=seconds)


# -- status -----------------------------------------------------------------------------


def calculate_status(
    deployment: Deployment,
    all_rss: Sequence[ReplicaSet],
    new_rs: ReplicaSet | None,
    *,
    now: dt.datetime,
) -> DeploymentStatus:
    """
    ``calculateStatus``: counts summed over ``all_rss`` and the ``Available`` condition.

    ``unavailableReplicas`` compares the *desired* sizes (``spec``) with the
    available pods. Other conditions are carried over from ``deployment``.
    """
    available = sum(rs.status.available_replicas for rs in all_rss)
    wanted = sum(replicas_of(rs) for rs in all_rss)
    status = attrs.evolve(
        deployment.status,
        observed_generation=deployment.metadata.generation,
        replicas=sum(rs.status.replicas for rs in all_rss),
        updated_replicas=new_rs.status.replicas if new_rs is not None else 0,
        ready_replicas=sum(rs.status.ready_replicas for rs in all_rss),
        available_replicas=available,
        unavailable_replicas=max(0, wanted - available),
    )
    if available >= spec_replicas(deployment) - max_unavailable(deployment):
        ok = (ConditionStatus.TRUE, Reason.MIN_AVAILABLE, "Deployment has minimum availability.")
    else:
        ok = (
            ConditionStatus.FALSE,
            Reason.MIN_UNAVAILABLE,
            "Deployment does not have minimum availability.",
        )
    return set_condition(status, new_condition(AVAILABLE, *ok, now=now))


def _replica_failure(
    all_rss: Sequence[ReplicaSet], new_rs: ReplicaSet | None
) -> DeploymentCondition | None:
    """``getReplicaFailures``: the new ReplicaSet's ``ReplicaFailure``, else the first found."""
    for rs in [new_rs, *all_rss] if new_rs is not None else all_rss:
        for c in rs.status.conditions:
            if c.type == REPLICA_FAILURE:
                return DeploymentCondition(
                    type=c.type,
                    status=c.status,
                    reason=c.reason,
                    message=c.message,
                    last_update_time=c.last_transition_time,
                    last_transition_time=c.last_transition_time,
                )
    return None


def rollout_status(
    deployment: Deployment,
    all_rss: Sequence[ReplicaSet],
    new_rs: ReplicaSet | None,
    *,
    now: dt.datetime,
) -> DeploymentStatus:
    """
    ``syncRolloutStatus``: the status to write after a rollout step (see the module docstring).

    ``deployment.status`` is the baseline progress is measured against and
    the source of the current conditions.
    """
    status = calculate_status(deployment, all_rss, new_rs, now=now)
    deadline = has_progress_deadline(deployment)
    if not deadline:
        status = remove_condition(status, PROGRESSING)
    current = get_condition(deployment.status, PROGRESSING)
    settled = (
        status.replicas == status.updated_replicas
        and current is not None
        and current.reason == Reason.NEW_RS_AVAILABLE
    )
    subject = (
        f'ReplicaSet "{new_rs.metadata.name}"'
        if new_rs is not None
        else f'Deployment "{deployment.metadata.name}"'
    )
    if deadline and not settled:
        if deployment_complete(deployment, status):
            status = set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    ConditionStatus.TRUE,
                    Reason.NEW_RS_AVAILABLE,
                    f"{subject} has successfully progressed.",
                    now=now,
                ),
            )
        elif deployment_progressing(deployment, status):
            # Always rewritten, even with the same reason: lastUpdateTime restarts the deadline.
            condition = new_condition(
                PROGRESSING,
                ConditionStatus.TRUE,
                Reason.RS_UPDATED,
                f"{subject} is progressing.",
                now=now,
            )
            if current is not None:
                if current.status is ConditionStatus.TRUE:
                    condition = attrs.evolve(
                        condition, last_transition_time=current.last_transition_time
                    )
                status = remove_condition(status, PROGRESSING)
            status = set_condition(status, condition)
        elif deployment_timed_out(deployment, status, now=now):
            status = set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    ConditionStatus.FALSE,
                    Reason.TIMED_OUT,
                    f"{subject} has timed out progressing.",
                    now=now,
                ),
            )
    failure = _replica_failure(all_rss, new_rs)
    if failure is not None:
        return set_condition(status, failure)
    return remove_condition(status, REPLICA_FAILURE)


def requeue_after(
    deployment: Deployment, status: DeploymentStatus, *, now: dt.datetime
) -> float | None:
    """
    ``requeueStuckDeployment``: seconds until the deadline check is due, or ``None``.

    ``None`` without a deadline or ``Progressing`` condition, or once the
    rollout is complete or timed out. Otherwise one second past the
    deadline (the check is strict), and never less than one second.
    """
    condition = get_condition(status, PROGRESSING)
    if not has_progress_deadline(deployment) or condition is None:
        return None
    if deployment_complete(deployment, status) or condition.reason in (
        Reason.TIMED_OUT,
        Reason.NEW_RS_AVAILABLE,
    ):
        return None
    after = (_deadline(deployment, condition) - now).total_seconds()
    return max(after, 0.0) + 1.0


def paused_condition(deployment: Deployment, *, now: dt.datetime) -> DeploymentStatus:
    """
    ``checkPausedConditions``: ``deployment.status`` with the pause or resume recorded.

    Paused without a ``DeploymentPaused`` condition: ``Progressing=Unknown``
    ``DeploymentPaused``; resumed while it says so: ``DeploymentResumed``.
    A ``ProgressDeadlineExceeded`` condition is never overwritten, and
    nothing changes without a progress deadline.
    """
    status = deployment.status
    if not has_progress_deadline(deployment):
        return status
    current = get_condition(status, PROGRESSING)
    if current is not None and current.reason == Reason.TIMED_OUT:
        return status
    paused_recorded = current is not None and current.reason == Reason.PAUSED
    if deployment.spec.paused and not paused_recorded:
        reason, message = Reason.PAUSED, "Deployment is paused"
    elif not deployment.spec.paused and paused_recorded:
        reason, message = Reason.RESUMED, "Deployment is resumed"
    else:
        return status
    return set_condition(
        status, new_condition(PROGRESSING, ConditionStatus.UNKNOWN, reason, message, now=now)
    )
