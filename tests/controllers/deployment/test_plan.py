"""Whole syncs of the pure planner, one at a time and driven through the tiny world model."""

from __future__ import annotations

import attrs

from controllers.api.apps import DeploymentStrategy, DeploymentStrategyType
from controllers.deployment import CreateReplicaSet, UpdateReplicaSet, plan
from controllers.deployment.progress import PROGRESSING, Reason, get_condition
from controllers.deployment.revisions import revision
from controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
    REVISION_HISTORY,
    pod_template_hash,
)
from reconcile import LabelSelector
from tests.controllers.deployment.builders import at, deployment, template
from tests.controllers.deployment.model import rolled_out, settle, with_image, with_spec


def test_creates_the_first_replica_set_with_hash_name_labels_and_annotations() -> None:
    """A new Deployment gets ``web-<hash>`` at full size, revision 1, the replicas annotations."""
    d = deployment(3)
    decided = plan(d, [], now=at(0))
    (create,) = decided.writes
    assert isinstance(create, CreateReplicaSet)
    rs = create.replica_set
    h = pod_template_hash(d.spec.template, None)
    assert f"web-{h}" == rs.metadata.name
    assert h == rs.metadata.labels[POD_TEMPLATE_HASH]
    assert h == rs.spec.template.metadata.labels[POD_TEMPLATE_HASH]
    assert LabelSelector(match_labels={"app": "web", POD_TEMPLATE_HASH: h}) == rs.spec.selector
    assert 3 == rs.spec.replicas
    assert {REVISION: "1", DESIRED_REPLICAS: "3", MAX_REPLICAS: "4"} == dict(
        rs.metadata.annotations
    )
    assert d.metadata.uid == rs.metadata.owner_references[0].uid
    assert create.event is not None
    assert f"Scaled up replica set web-{h} to 3" == create.event.message
    assert decided.annotations is not None
    assert "1" == decided.annotations[REVISION]
    assert decided.status is not None
    c = get_condition(decided.status, PROGRESSING)
    assert c is not None
    assert (Reason.NEW_RS_CREATED, f'Created new replica set "web-{h}"') == (c.reason, c.message)


def test_collision_count_changes_the_name() -> None:
    """After a collision the new ReplicaSet is named from the bumped collision count."""
    d = deployment(1)
    d = attrs.evolve(d, status=attrs.evolve(d.status, collision_count=1))
    (create,) = plan(d, [], now=at(0)).writes
    assert isinstance(create, CreateReplicaSet)
    assert f"web-{pod_template_hash(d.spec.template, 1)}" == create.replica_set.metadata.name


def test_does_nothing_when_converged() -> None:
    """A rolled-out Deployment plans no writes and no requeue."""
    world = rolled_out(deployment(3))
    decided = world.plan()
    assert not decided.changes
    assert decided.requeue_after is None


def test_tutorial_event_sequence() -> None:
    """4 replicas going v1→v2 (25%/25%) emits Kubernetes' ScalingReplicaSet sequence."""
    world = rolled_out(deployment(4, image="nginx:1"))
    old = next(iter(world.replica_sets))
    world.events.clear()
    world.update(with_image(world.deployment, "nginx:2"))
    settle(world)
    new = f"web-{pod_template_hash(template('nginx:2'), None)}"
    assert [
        f"Scaled up replica set {new} to 1",
        f"Scaled down replica set {old} to 3 from 4",
        f"Scaled up replica set {new} to 2 from 1",
        f"Scaled down replica set {old} to 2 from 3",
        f"Scaled up replica set {new} to 3 from 2",
        f"Scaled down replica set {old} to 1 from 2",
        f"Scaled up replica set {new} to 4 from 3",
        f"Scaled down replica set {old} to 0 from 1",
    ] == world.events


def test_rollback_reuses_the_old_replica_set_with_the_next_revision() -> None:
    """v1 → v2 → v1: the v1 ReplicaSet becomes revision 3, history "1"; undoing again gives 4."""
    world = rolled_out(deployment(3, image="nginx:1"))
    v1 = next(iter(world.replica_sets))
    world.update(with_image(world.deployment, "nginx:2"))
    settle(world)
    world.update(with_image(world.deployment, "nginx:1"))
    settle(world)
    assert 2 == len(world.replica_sets)
    rs = world.replica_sets[v1]
    assert ("3", "1", 3) == (
        rs.metadata.annotations[REVISION],
        rs.metadata.annotations[REVISION_HISTORY],
        rs.spec.replicas,
    )
    assert "3" == world.deployment.metadata.annotations[REVISION]
    world.update(with_image(world.deployment, "nginx:2"))
    settle(world)
    revisions = sorted(revision(rs.metadata) or 0 for rs in world.replica_sets.values())
    assert [3, 4] == revisions


def test_recreate_waits_for_old_pods_to_be_gone() -> None:
    """Recreate scales the old ReplicaSet to 0, waits out terminating pods, then creates the new."""
    world = rolled_out(deployment(3, recreate=True), grace=5)
    world.update(with_image(world.deployment, "nginx:2"))
    (old,) = world.replica_sets
    decided = world.sync()
    assert [(old, 0)] == [
        (w.replica_set.metadata.name, w.replica_set.spec.replicas)
        for w in decided.writes
        if isinstance(w, UpdateReplicaSet)
    ]
    world.advance(1)
    for _ in range(4):  # old pods are terminating for 5 s
        assert not world.sync().writes
        assert 1 == len(world.replica_sets)
        world.advance(1)
    world.advance(1)
    created = [w for w in world.sync().writes if isinstance(w, CreateReplicaSet)]
    assert [3] == [w.replica_set.spec.replicas for w in created]


def test_paused_deployment_scales_proportionally_and_does_not_roll_out() -> None:
    """Paused mid-rollout: a template change waits, a resize is shared out proportionally."""
    world = rolled_out(deployment(10, image="nginx:1", surge=3, unavailable=2))
    world.update(with_image(world.deployment, "nginx:2"))
    world.sync()  # new RS created at 3, old scaled to 8
    world.advance(1)
    world.update(with_spec(world.deployment, paused=True))
    world.sync()
    sizes = sorted((rs.spec.replicas or 0) for rs in world.replica_sets.values())
    # As in Kubernetes, the paused sync fills up to replicas + surge (13), the
    # remainder going to the largest ReplicaSet.
    assert [3, 10] == sizes
    world.update(with_image(with_spec(world.deployment, replicas=20), "nginx:3"))
    settle(world)
    assert 2 == len(world.replica_sets)  # no new ReplicaSet while paused
    sizes = sorted((rs.spec.replicas or 0) for rs in world.replica_sets.values())
    # Both were sized for a maximum of 13, the new maximum is 23:
    # 3·23/13 = 5.3 → 5 and 10·23/13 = 17.7 → 18.
    assert [5, 18] == sizes
    c = get_condition(world.deployment.status, PROGRESSING)
    assert c is not None
    assert Reason.PAUSED == c.reason


def test_history_limit_removes_old_replica_sets() -> None:
    """With revisionHistoryLimit 1, only one old ReplicaSet survives a series of rollouts."""
    world = rolled_out(deployment(2, history=1))
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        world.update(with_image(world.deployment, image))
        settle(world)
    assert 2 == len(world.replica_sets)


def test_selecting_all_warns_and_only_observes_the_generation() -> None:
    """An empty selector: a SelectingAll warning and observedGeneration, nothing else."""
    d = with_spec(deployment(2, generation=4), selector=LabelSelector())
    decided = plan(d, [], now=at(0))
    assert () == decided.writes
    assert ["SelectingAll"] == [e.reason for e in decided.events]
    assert decided.status is not None
    assert 4 == decided.status.observed_generation


def test_never_ready_version_reports_progress_deadline_exceeded() -> None:
    """A v2 whose pods never become available times out after progressDeadlineSeconds."""
    world = rolled_out(deployment(3, deadline=60))
    world.delay = 10_000
    world.update(with_image(world.deployment, "nginx:2"))
    requeue = None
    for _ in range(5):
        requeue = world.sync().requeue_after
        world.advance(1)
    assert requeue is not None
    world.advance(requeue)
    world.sync()
    c = get_condition(world.deployment.status, PROGRESSING)
    assert c is not None
    assert (Reason.TIMED_OUT, "False") == (c.reason, c.status.value)


def test_paused_new_deployment_creates_nothing() -> None:
    """A Deployment created paused gets no ReplicaSet, only its status and the paused condition."""
    decided = plan(deployment(3, paused=True), [], now=at(0))
    assert () == decided.writes
    assert decided.status is not None
    c = get_condition(decided.status, PROGRESSING)
    assert c is not None
    assert (Reason.PAUSED, "Unknown") == (c.reason, c.status.value)


def test_resume_records_deployment_resumed_then_rolls_out() -> None:
    """Resuming sets DeploymentResumed and the pending template change rolls out."""
    world = rolled_out(deployment(2, image="nginx:1"))
    world.update(with_spec(world.deployment, paused=True))
    world.update(with_image(world.deployment, "nginx:2"))
    settle(world)
    assert 1 == len(world.replica_sets)
    world.update(with_spec(world.deployment, paused=False))
    decided = world.sync()
    assert [CreateReplicaSet] == [type(w) for w in decided.writes]
    settle(world)
    new = world.new_replica_set()
    assert new is not None
    assert 2 == new.spec.replicas


def test_deleting_deployment_only_updates_status() -> None:
    """A Deployment being deleted makes no rollout step, even with a new template."""
    world = rolled_out(deployment(2, image="nginx:1"))
    d = with_image(world.deployment, "nginx:2")
    d = attrs.evolve(d, metadata=attrs.evolve(d.metadata, deletion_timestamp=at(50)))
    decided = plan(d, list(world.replica_sets.values()), now=at(50))
    assert () == decided.writes


def test_recreate_creates_the_first_replica_set_at_full_size() -> None:
    """Recreate with no old pods creates the new ReplicaSet at once, at full size."""
    d = with_spec(deployment(5), strategy=DeploymentStrategy(type=DeploymentStrategyType.RECREATE))
    (create,) = plan(d, [], now=at(0)).writes
    assert isinstance(create, CreateReplicaSet)
    assert 5 == create.replica_set.spec.replicas
