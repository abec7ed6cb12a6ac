"""The expectations observer and the Pod event filter, driven by hand."""

from __future__ import annotations

import attrs

from controllers.api.apps import ReplicaSet
from controllers.api.core import PodCondition
from controllers.replicaset import ExpectationsObserver
from controllers.replicaset import pod_counts_changed as counts_changed
from reconcile import Expectations, ObjectKey, VirtualClock
from tests.controllers.replicaset.builders import T0, other_controller, pod, replicaset

KEY = ObjectKey(namespace="default", name="web")


class _OneReplicaSet:
    """The smallest ``Store[ReplicaSet]`` the observer needs: ``get``."""

    def __init__(self, rs: ReplicaSet) -> None:
        self.rs = rs

    def get(self, key: ObjectKey) -> ReplicaSet | None:
        return self.rs if key == self.rs.metadata.key else None


def observer() -> tuple[ExpectationsObserver, Expectations, ReplicaSet]:
    rs = replicaset()
    expectations = Expectations(clock=VirtualClock())
    return (
        ExpectationsObserver(expectations, _OneReplicaSet(rs)),  # type: ignore[arg-type]
        expectations,
        rs,
    )


def test_observer_counts_creations_of_our_pods_only() -> None:
    """Pods of our uid lower expected creations; orphans and others' pods do not."""
    obs, expectations, rs = observer()
    expectations.expect_creations(KEY, 2)
    obs.on_add(pod(owner=other_controller()))
    obs.on_add(pod())
    assert (2, frozenset()) == expectations.pending(KEY)
    obs.on_add(pod(owner=rs))
    obs.on_add(pod(owner=rs))
    assert expectations.satisfied(KEY)


def test_observer_counts_each_deletion_once() -> None:
    """A deletion mark, then the final delete, of one pod lowers the expectation once."""
    obs, expectations, rs = observer()
    a, b = pod(owner=rs), pod(owner=rs)
    expectations.expect_deletions(KEY, [a.metadata.uid, b.metadata.uid])
    marked = attrs.evolve(a, metadata=attrs.evolve(a.metadata, deletion_timestamp=T0))
    obs.on_update(a, marked)
    obs.on_delete(marked)
    assert not expectations.satisfied(KEY)
    obs.on_delete(b)
    assert expectations.satisfied(KEY)


def test_pod_filter_ignores_changes_that_count_for_nothing() -> None:
    """Binding and Pending → Running do not enqueue; readiness and finishing do."""
    rs = replicaset()
    pending = pod(owner=rs, node="", phase="Pending")
    bound = attrs.evolve(pending, spec=attrs.evolve(pending.spec, node_name="node-1"))
    running = attrs.evolve(bound, status=attrs.evolve(bound.status, phase="Running"))
    ready = attrs.evolve(
        running,
        status=attrs.evolve(
            running.status,
            conditions=(PodCondition(type="Ready", status="True", last_transition_time=T0),),
        ),
    )
    done = attrs.evolve(ready, status=attrs.evolve(ready.status, phase="Succeeded"))
    assert not counts_changed(pending, bound)
    assert not counts_changed(bound, running)
    assert counts_changed(running, ready)
    assert counts_changed(ready, done)
    assert counts_changed(None, pending)
    assert counts_changed(pending, None)
