"""Status, conditions and the progress deadline."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import DeploymentCondition, DeploymentStatus
from controllers.deployment import (
    calculate_status,
    deployment_complete,
    deployment_progressing,
    deployment_timed_out,
    paused_condition,
    requeue_after,
    rollout_status,
)
from controllers.deployment.progress import (
    AVAILABLE,
    PROGRESSING,
    Reason,
    get_condition,
    new_condition,
    set_condition,
)
from reconcile import ConditionStatus
from tests.controllers.deployment.builders import at, deployment, replica_set

TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def progressing(
    reason: str, *, updated: float, status: ConditionStatus = TRUE
) -> DeploymentCondition:
    return DeploymentCondition(
        type=PROGRESSING,
        status=status,
        reason=reason,
        last_update_time=at(updated),
        last_transition_time=at(0),
    )


def test_calculate_status_counts_and_unavailable_uses_spec() -> None:
    """Counts are summed from status; unavailable compares spec sizes with available pods."""
    d = deployment(4, image="nginx:2", generation=3)
    old = replica_set(d, image="nginx:1", replicas=3, actual=4, available=4)
    new = replica_set(d, image="nginx:2", replicas=2, actual=1, available=0)
    s = calculate_status(d, [old, new], new, now=at(5))
    assert (3, 5, 1, 4, 4, 1) == (
        s.observed_generation,
        s.replicas,
        s.updated_replicas,
        s.ready_replicas,
        s.available_replicas,
        s.unavailable_replicas,
    )
    available = get_condition(s, AVAILABLE)
    assert available is not None
    assert (TRUE, Reason.MIN_AVAILABLE) == (available.status, available.reason)


def test_available_false_below_minimum() -> None:
    """Fewer than replicas - maxUnavailable available pods: Available=False."""
    d = deployment(4)
    s = calculate_status(d, [replica_set(d, replicas=4, available=2)], None, now=at(0))
    condition = get_condition(s, AVAILABLE)
    assert condition is not None
    assert (FALSE, Reason.MIN_UNAVAILABLE) == (condition.status, condition.reason)


def test_set_condition_same_status_and_reason_is_a_no_op() -> None:
    """Timestamps stay when status and reason are unchanged; a new reason keeps the transition."""
    s = DeploymentStatus(conditions=(progressing(Reason.RS_UPDATED, updated=10),))
    same = new_condition(PROGRESSING, TRUE, Reason.RS_UPDATED, "x", now=at(99))
    assert s is set_condition(s, same)
    other = new_condition(PROGRESSING, TRUE, Reason.NEW_RS_AVAILABLE, "y", now=at(99))
    c = get_condition(set_condition(s, other), PROGRESSING)
    assert c is not None
    assert (at(0), at(99)) == (c.last_transition_time, c.last_update_time)


@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5))
def test_complete_means_every_count_equals_replicas(
    updated: int, replicas: int, available: int, want: int
) -> None:
    """Complete ⇔ updated = replicas = available = spec.replicas (with the generation seen)."""
    d = deployment(want)
    s = DeploymentStatus(
        observed_generation=1,
        updated_replicas=updated,
        replicas=replicas,
        available_replicas=available,
    )
    assert (updated == replicas == available == want) == deployment_complete(d, s)


def test_progressing_compares_with_the_previous_status() -> None:
    """More updated/ready/available or fewer old replicas is progress; nothing else is."""
    base = DeploymentStatus(replicas=5, updated_replicas=2, ready_replicas=3, available_replicas=3)
    d = deployment(4, status=base)
    assert not deployment_progressing(d, base)
    assert deployment_progressing(d, attrs.evolve(base, updated_replicas=3, replicas=6))
    assert deployment_progressing(d, attrs.evolve(base, replicas=4))
    assert deployment_progressing(d, attrs.evolve(base, available_replicas=4))
    assert not deployment_progressing(d, attrs.evolve(base, available_replicas=2))


def test_deadline_is_strict_and_completion_never_times_out() -> None:
    """Timed out once lastUpdate + 600 s < now (strictly); NewReplicaSetAvailable never is."""
    d = deployment(3)
    s = DeploymentStatus(conditions=(progressing(Reason.RS_UPDATED, updated=0),))
    assert not deployment_timed_out(d, s, now=at(600))
    assert deployment_timed_out(d, s, now=at(600.5))
    done = DeploymentStatus(conditions=(progressing(Reason.NEW_RS_AVAILABLE, updated=0),))
    assert not deployment_timed_out(d, done, now=at(10_000))
    assert not deployment_timed_out(deployment(3, deadline=None), s, now=at(10_000))


def test_rollout_status_reports_progress_then_timeout() -> None:
    """Progress refreshes ReplicaSetUpdated; stuck past the deadline: ProgressDeadlineExceeded."""
    started = DeploymentStatus(
        replicas=3, conditions=(progressing(Reason.NEW_RS_CREATED, updated=0),)
    )
    d = deployment(3, image="nginx:2", status=started)
    old = replica_set(d, image="nginx:1", replicas=3)
    new = replica_set(d, image="nginx:2", replicas=1, actual=1, available=0)
    s = rollout_status(d, [old, new], new, now=at(5))
    c = get_condition(s, PROGRESSING)
    assert c is not None
    assert (Reason.RS_UPDATED, at(5), at(0)) == (
        c.reason,
        c.last_update_time,
        c.last_transition_time,
    )
    assert 'ReplicaSet "web-nginx2" is progressing.' == c.message
    stuck = attrs.evolve(d, status=s)
    assert s == rollout_status(stuck, [old, new], new, now=at(605))
    assert 601.0 == requeue_after(stuck, s, now=at(5))
    timed_out = get_condition(rollout_status(stuck, [old, new], new, now=at(605.5)), PROGRESSING)
    assert timed_out is not None
    assert (FALSE, Reason.TIMED_OUT) == (timed_out.status, timed_out.reason)
    assert 'ReplicaSet "web-nginx2" has timed out progressing.' == timed_out.message


def test_complete_rollout_reports_new_replica_set_available_and_stops_requeueing() -> None:
    """All updated and available: NewReplicaSetAvailable, and no deadline requeue."""
    d = deployment(
        2, status=DeploymentStatus(conditions=(progressing(Reason.RS_UPDATED, updated=0),))
    )
    new = replica_set(d, replicas=2)
    s = rollout_status(d, [new], new, now=at(9))
    c = get_condition(s, PROGRESSING)
    assert c is not None
    assert Reason.NEW_RS_AVAILABLE == c.reason
    assert 'ReplicaSet "web-nginx1" has successfully progressed.' == c.message
    assert requeue_after(attrs.evolve(d, status=s), s, now=at(9)) is None


def test_without_deadline_progressing_is_removed() -> None:
    """No progressDeadlineSeconds: no Progressing condition at all."""
    d = deployment(
        1, deadline=None, status=DeploymentStatus(conditions=(progressing("X", updated=0),))
    )
    s = rollout_status(d, [], None, now=at(1))
    assert get_condition(s, PROGRESSING) is None


def test_pause_and_resume_conditions() -> None:
    """Pause and resume set Progressing=Unknown with their reasons; a timeout is kept."""
    paused = paused_condition(deployment(paused=True), now=at(1))
    c = get_condition(paused, PROGRESSING)
    assert c is not None
    assert (UNKNOWN, Reason.PAUSED, "Deployment is paused") == (c.status, c.reason, c.message)
    resumed = paused_condition(deployment(status=paused), now=at(2))
    c = get_condition(resumed, PROGRESSING)
    assert c is not None
    assert (UNKNOWN, Reason.RESUMED, "Deployment is resumed") == (c.status, c.reason, c.message)
    failed = DeploymentStatus(conditions=(progressing(Reason.TIMED_OUT, updated=0, status=FALSE),))
    assert failed is paused_condition(deployment(paused=True, status=failed), now=at(3))
