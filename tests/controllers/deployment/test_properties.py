"""Rollouts through the pure planner in the tiny world model: bounds, convergence, revisions."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.common import IntOrString
from controllers.deployment import max_surge, min_available
from controllers.deployment.revisions import revision
from controllers.deployment.util import REVISION, equal_ignore_hash
from tests.controllers.deployment.builders import deployment
from tests.controllers.deployment.model import (
    World,
    quiet,
    rolled_out,
    settle,
    with_image,
    with_spec,
)

bounds: st.SearchStrategy[IntOrString] = st.integers(0, 4) | st.sampled_from(
    ["0%", "10%", "25%", "50%", "100%"]
)
# (image, syncs before the next change): a change may come mid-rollout.
changes = st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 6)), min_size=1, max_size=4)


def _converged(world: World, replicas: int) -> None:
    """Exactly ``replicas`` pods, all of the current template, every old ReplicaSet at zero."""
    new = world.new_replica_set()
    assert new is not None
    assert replicas == new.spec.replicas
    assert replicas == len(world.pods[new.metadata.name])
    assert replicas == world.total_pods()
    for rs in world.replica_sets.values():
        if rs is not new:
            assert 0 == rs.spec.replicas
    assert equal_ignore_hash(new.spec.template, world.deployment.spec.template)


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.integers(1, 12),
    surge=bounds,
    unavailable=bounds,
    updates=changes,
    delay=st.sampled_from([0.5, 1.0, 3.0]),
    limit=st.integers(0, 3),
)
def test_rolling_update_keeps_bounds_and_converges(
    *,
    replicas: int,
    surge: IntOrString,
    unavailable: IntOrString,
    updates: list[tuple[str, int]],
    delay: float,
    limit: int,
) -> None:
    """
    Pods stay ≤ replicas+maxSurge and available ≥ replicas-maxUnavailable at every step;
    the rollout ends with exactly ``replicas`` pods of the last template; the
    Deployment's revision never decreases; at most ``limit`` old ReplicaSets remain.
    """
    d = deployment(replicas, image="nginx:a", surge=surge, unavailable=unavailable, history=limit)
    world = rolled_out(d, delay=delay)
    ceiling = replicas + max_surge(d)
    floor = min_available(d)
    last_revision = int(world.deployment.metadata.annotations[REVISION])

    def step() -> bool:
        nonlocal last_revision
        decided = world.sync()
        world.advance(1)
        assert world.total_pods() <= ceiling
        assert world.available_pods() >= floor
        current = int(world.deployment.metadata.annotations[REVISION])
        assert current >= last_revision
        last_revision = current
        return decided.changes

    for image, patience in updates:
        world.update(with_image(world.deployment, f"nginx:{image}"))
        for _ in range(patience):
            step()
    for _ in range(300):
        step()
        if quiet(world):
            break
    _converged(world, replicas)
    assert len(world.replica_sets) - 1 <= limit
    revisions = [revision(rs.metadata) for rs in world.replica_sets.values()]
    assert len(set(revisions)) == len(revisions)
    new = world.new_replica_set()
    assert new is not None
    assert revision(new.metadata) == max(r or 0 for r in revisions)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), changes, st.sampled_from([0.0, 2.0, 5.0]))
def test_recreate_never_overlaps_old_and_new_pods(
    replicas: int, updates: list[tuple[str, int]], grace: float
) -> None:
    """With Recreate, new pods start only once no old pod runs or terminates; it converges."""
    world = rolled_out(deployment(replicas, image="nginx:a", recreate=True), grace=grace)
    for image, patience in updates:
        world.update(with_image(world.deployment, f"nginx:{image}"))
        for _ in range(patience + 50):
            world.sync()
            world.advance(1)
            new = world.new_replica_set()
            if new is not None and world.pods.get(new.metadata.name):
                others = world.total_pods() - len(world.pods[new.metadata.name])
                assert 0 == others
                # Only the new ReplicaSet's own pods may still be terminating (an
                # undo back to it): Kubernetes waits for the *old* pods only.
                assert all(rs.metadata.uid == new.metadata.uid for rs, _ in world.terminating)
            if _ >= patience and quiet(world):
                break
    settle(world)
    _converged(world, replicas)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), bounds, bounds, changes, st.integers(0, 8))
def test_planning_without_the_world_moving_reaches_a_fixed_point(
    replicas: int,
    surge: IntOrString,
    unavailable: IntOrString,
    updates: list[tuple[str, int]],
    at_step: int,
) -> None:
    """Applying plans with no pod or time change reaches an empty plan within four syncs."""
    world = rolled_out(deployment(replicas, image="nginx:a", surge=surge, unavailable=unavailable))
    for image, patience in updates:
        world.update(with_image(world.deployment, f"nginx:{image}"))
        for _ in range(patience):
            world.sync()
            world.advance(1)
    for _ in range(at_step):
        world.sync()
        world.advance(1)
    frozen = copy.deepcopy(world)
    for _ in range(4):
        frozen.sync()
    assert not frozen.plan().changes


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10), st.integers(0, 25), st.sampled_from(["a", "c"]), st.integers(0, 4))
def test_paused_sync_is_idempotent(replicas: int, resized: int, image: str, wait: int) -> None:
    """
    While paused, planning again after applying plans nothing within two rounds.

    (A resize that leaves one active ReplicaSet above ``replicas`` takes the
    second round, as in Kubernetes.)
    """
    world = rolled_out(deployment(replicas, image="nginx:a"))
    world.update(with_image(world.deployment, "nginx:b"))
    for _ in range(wait):
        world.sync()
        world.advance(1)
    world.update(with_spec(world.deployment, paused=True))
    world.update(with_image(with_spec(world.deployment, replicas=resized), f"nginx:{image}"))
    for _ in range(2):
        world.sync()
    assert not world.plan().changes
    created = len(world.replica_sets)
    settle(world)
    assert created == len(world.replica_sets) or image == "a"
