"""The reconciler's event filter (the rest is exercised end to end in ``test_scenarios``)."""

from __future__ import annotations

import attrs
import pytest

from controllers.api.core import Pod, PodStatus
from controllers.deployment import pod_changed
from reconcile import ObjectMeta
from tests.controllers.deployment.builders import at


def _pod(phase: str = "Running", *, deleting: bool = False) -> Pod:
    return Pod(
        metadata=ObjectMeta(
            name="p", namespace="default", deletion_timestamp=at(1) if deleting else None
        ),
        status=PodStatus(phase=phase),
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (_pod(), None, True),  # deleted
        (_pod(), _pod(deleting=True), True),  # being deleted
        (_pod(), _pod("Succeeded"), True),  # finished
        (_pod(), _pod("Failed"), True),
        (_pod("Pending"), _pod("Running"), False),  # still "running" for Recreate
        (None, _pod(), False),  # a new pod: its ReplicaSet's status tells
        (_pod("Failed"), _pod("Failed"), False),
    ],
)
def test_pod_changed_passes_only_what_recreate_waits_on(
    old: Pod | None, new: Pod | None, expected: bool
) -> None:
    """Deletions, deletion marks and terminal phases pass; other pod changes do not."""
    assert expected == pod_changed(old, new)


def test_pod_changed_ignores_status_noise() -> None:
    """A condition change of a running pod is not worth a Deployment sync."""
    pod = _pod()
    assert not pod_changed(
        pod, attrs.evolve(pod, status=attrs.evolve(pod.status, pod_ip="10.0.0.1"))
    )
