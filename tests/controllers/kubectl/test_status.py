"""rollout_status: kubectl's messages, in kubectl's order."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    DaemonSetStatus,
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
)
from controllers.kubectl import KubectlError, RolloutStatus, rollout_status
from reconcile import ObjectMeta
from tests.controllers.kubectl.builders import deployment


def test_waits_for_the_spec_update_to_be_observed() -> None:
    """A generation the controller has not seen yet comes first."""
    d = deployment(generation=2, observed=1, updated=0)
    assert RolloutStatus(message="Waiting for deployment spec update to be observed...") == (
        rollout_status(d)
    )


def test_reports_new_replicas_being_updated() -> None:
    """Fewer updated replicas than desired: N out of M new replicas."""
    d = deployment(replicas=4, updated=2, current=5, available=3)
    expected = (
        'Waiting for deployment "web" rollout to finish: 2 out of 4 new replicas have been '
        "updated..."
    )
    assert RolloutStatus(message=expected) == rollout_status(d)


def test_reports_old_replicas_pending_termination() -> None:
    """All updated, but old replicas remain."""
    d = deployment(replicas=4, updated=4, current=5, available=4)
    expected = (
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'
    )
    assert RolloutStatus(message=expected) == rollout_status(d)


def test_reports_updated_replicas_becoming_available() -> None:
    """Only new replicas left, not all available yet."""
    d = deployment(replicas=4, updated=4, current=4, available=3)
    expected = (
        'Waiting for deployment "web" rollout to finish: 3 of 4 updated replicas are available...'
    )
    assert RolloutStatus(message=expected) == rollout_status(d)


def test_reports_success() -> None:
    """Everything updated and available: done."""
    expected = RolloutStatus(message='deployment "web" successfully rolled out', done=True)
    assert expected == rollout_status(deployment())
    assert rollout_status(deployment()).finished


def test_reports_an_exceeded_progress_deadline_as_failed() -> None:
    """ProgressDeadlineExceeded wins over the counts once the spec is observed."""
    d = deployment(updated=1, progressing="ProgressDeadlineExceeded")
    expected = RolloutStatus(message='deployment "web" exceeded its progress deadline', failed=True)
    assert expected == rollout_status(d)


def test_deadline_is_not_reported_before_the_spec_is_observed() -> None:
    """kubectl checks the observed generation first."""
    d = deployment(generation=3, observed=2, progressing="ProgressDeadlineExceeded")
    assert not rollout_status(d).failed


def test_unset_replicas_skips_the_new_replicas_check() -> None:
    """kubectl only compares with spec.replicas when it is set."""
    d = deployment(replicas=None, updated=0, current=0, available=0)
    assert rollout_status(d).done


def test_revision_must_match_the_running_one() -> None:
    """--revision pins the status to one revision."""
    d = deployment(revision=3)
    assert rollout_status(d, revision=3).done
    with pytest.raises(KubectlError) as info:
        rollout_status(d, revision=2)
    assert "desired revision (2) is different from the running revision (3)" == str(info.value)


def test_unparsable_revision_is_an_error_when_pinned() -> None:
    """A revision annotation that is not a number cannot be compared."""
    d = deployment(annotations={"deployment.kubernetes.io/revision": "x"})
    assert rollout_status(d).done
    with pytest.raises(KubectlError, match="cannot get the revision of deployment 'web'"):
        rollout_status(d, revision=1)


def _daemon_set(
    *, desired: int = 3, updated: int = 3, available: int = 3, observed: int = 1
) -> DaemonSet:
    return DaemonSet(
        metadata=ObjectMeta(name="agent", namespace="default", generation=1),
        status=DaemonSetStatus(
            desired_number_scheduled=desired,
            updated_number_scheduled=updated,
            number_available=available,
            observed_generation=observed,
        ),
    )


@pytest.mark.parametrize(
    ("kwargs", "message", "done"),
    [
        ({"observed": 0}, "Waiting for daemon set spec update to be observed...", False),
        (
            {"updated": 1},
            'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been '
            "updated...",
            False,
        ),
        (
            {"available": 2},
            'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are '
            "available...",
            False,
        ),
        ({}, 'daemon set "agent" successfully rolled out', True),
    ],
)
def test_daemon_set_messages(kwargs: dict[str, int], message: str, done: bool) -> None:
    """DaemonSets have their own messages, counted in nodes."""
    assert RolloutStatus(message=message, done=done) == rollout_status(_daemon_set(**kwargs))


def test_daemon_set_on_delete_has_no_rollout_status() -> None:
    """Only RollingUpdate DaemonSets report a rollout."""
    ds = _daemon_set()
    strategy = DaemonSetUpdateStrategy(type=DaemonSetUpdateStrategyType.ON_DELETE)
    ds = attrs.evolve(ds, spec=DaemonSetSpec(update_strategy=strategy))
    with pytest.raises(KubectlError, match="only available for RollingUpdate strategy type"):
        rollout_status(ds)


@given(
    desired=st.integers(0, 20),
    updated=st.integers(0, 20),
    current=st.integers(0, 40),
    available=st.integers(0, 20),
)
def test_done_exactly_when_kubectl_would_stop_waiting(
    desired: int, updated: int, current: int, available: int
) -> None:
    """Done iff updated >= desired, no old replicas and all updated available."""
    d = deployment(replicas=desired, updated=updated, current=current, available=available)
    expected = updated >= desired and current <= updated and available >= updated
    assert expected == rollout_status(d).done
