"""Pods of a Job: the template, the tracking index, the event filter, the observer."""

from __future__ import annotations

import attrs

from controllers.job import (
    COMPLETION_INDEX,
    COMPLETION_INDEX_ENV,
    JOB_NAME_LABEL,
    JOB_TRACKING_FINALIZER,
    FinalizerRemovals,
    job_of,
    pod_changed,
    pod_from_template,
    tracked_by,
)
from controllers.job.pods import CONTROLLER_UID_LABEL
from reconcile import ObjectKey, Uid, controller_of, remove_finalizer
from tests.controllers.job.builders import job, pod, stored

J = stored(job(indexed=True, completions=3))


def test_pods_carry_the_finalizer_labels_and_owner() -> None:
    """Every pod has the tracking finalizer, the Job's labels and a controller reference."""
    p = pod_from_template(stored(job()))
    assert JOB_TRACKING_FINALIZER in p.metadata.finalizers
    assert "work" == p.metadata.labels[JOB_NAME_LABEL]
    assert "job-uid" == p.metadata.labels[CONTROLLER_UID_LABEL]
    assert "app" in p.metadata.labels
    ref = controller_of(p.metadata)
    assert ref is not None
    assert ("Job", "job-uid") == (ref.kind, ref.uid)
    assert "work-" == p.metadata.generate_name


def test_indexed_pods_carry_their_index_everywhere() -> None:
    """Annotation, label, env in every container, hostname and generateName."""
    p = pod_from_template(J, 2)
    assert "2" == p.metadata.annotations[COMPLETION_INDEX]
    assert "2" == p.metadata.labels[COMPLETION_INDEX]
    path = f"metadata.labels['{COMPLETION_INDEX}']"
    for c in p.spec.containers:
        [env] = [e for e in c.env if e.name == COMPLETION_INDEX_ENV]
        assert env.value_from is not None
        assert env.value_from.field_ref is not None
        assert path == env.value_from.field_ref.field_path
    assert "work-2" == p.spec.hostname
    assert "work-2-" == p.metadata.generate_name


def test_the_tracking_index_forgets_counted_pods() -> None:
    """Unfinished or finalizer-carrying pods are indexed; counted finished ones are not."""
    running = pod(J, "a", index=0)
    done = pod(J, "b", phase="Succeeded", exit_code=0, index=1)
    counted = attrs.evolve(done, metadata=remove_finalizer(done.metadata, JOB_TRACKING_FINALIZER))
    assert ("default/work",) == tracked_by(running)
    assert ("default/work",) == tracked_by(done)
    assert () == tracked_by(counted)
    assert ObjectKey("default", "work") == job_of(running)


def test_pod_updates_that_change_nothing_counted_are_dropped() -> None:
    """A relabel-free status rewrite is ignored; phase, finalizers and restarts are not."""
    running = pod(J, "a", index=0)
    assert not pod_changed(running, attrs.evolve(running))
    failed = attrs.evolve(running, status=attrs.evolve(running.status, phase="Failed"))
    assert pod_changed(running, failed)
    released = attrs.evolve(
        running, metadata=remove_finalizer(running.metadata, JOB_TRACKING_FINALIZER)
    )
    assert pod_changed(running, released)
    restarted = pod(J, "a", index=0, restarts=1)
    assert pod_changed(running, restarted)


def test_finalizer_removals_are_pending_until_observed() -> None:
    """Expected removals stay pending until each uid is observed."""
    removals = FinalizerRemovals()
    key = ObjectKey("default", "work")
    removals.expect(key, [Uid("a"), Uid("b")])
    removals.observed(key, Uid("a"))
    assert frozenset({Uid("b")}) == removals.pending(key)
    removals.observed(key, Uid("b"))
    assert frozenset() == removals.pending(key)


def test_only_jobs_own_their_pods() -> None:
    """A pod controlled by something else maps to no Job."""
    p = pod(J, "a", index=0)
    ref = attrs.evolve(p.metadata.owner_references[0], kind="ReplicaSet", api_version="apps/v1")
    other = p.with_meta(owner_references=(ref,))
    assert job_of(other) is None
    assert () == tracked_by(other)
