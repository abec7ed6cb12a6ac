"""RollingUpdate steps: Kubernetes' worked examples, bounds, and idempotence of each step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import Deployment, ReplicaSet
from controllers.deployment import (
    Scale,
    apply_scales,
    cleanup_unhealthy_replicas,
    max_surge,
    min_available,
    reconcile_new_replica_set,
    reconcile_old_replica_sets,
    rollout_step,
    scale_down_old_replica_sets_for_rolling_update,
)
from controllers.deployment.actions import scaled_down
from tests.controllers.deployment.builders import deployment, replica_set


def _world(
    replicas: int, surge: int, unavailable: int, new: tuple[int, int], olds: list[tuple[int, int]]
) -> tuple[Deployment, ReplicaSet, list[ReplicaSet]]:
    d = deployment(replicas, image="nginx:new", surge=surge, unavailable=unavailable)
    new_rs = replica_set(d, image="nginx:new", replicas=new[0], available=new[1], created=10)
    old_rss = [
        replica_set(d, image=f"nginx:{i}", replicas=n, available=min(a, n), created=i)
        for i, (n, a) in enumerate(olds)
    ]
    return d, new_rs, old_rss


def test_new_replica_set_grows_by_the_surge() -> None:
    """10 replicas, surge 3, old at 10: the new ReplicaSet goes 0 → 3."""
    d, new, olds = _world(10, 3, 2, (0, 0), [(10, 10)])
    assert Scale(name=new.metadata.name, old=0, new=3) == reconcile_new_replica_set(
        d, [*olds, new], new
    )


def test_new_replica_set_too_big_goes_straight_down() -> None:
    """A new ReplicaSet above replicas is scaled down to replicas in one step."""
    d, new, _ = _world(5, 1, 1, (8, 8), [])
    assert Scale(name=new.metadata.name, old=8, new=5) == reconcile_new_replica_set(d, [new], new)


def test_crashlooping_new_replica_set_blocks_scale_down() -> None:
    """Kubernetes' comment example: new at 5 crashlooping, old at 8 → 13-8-5 = 0, no scale-down."""
    d, new, olds = _world(10, 3, 2, (5, 0), [(8, 8)])
    assert () == reconcile_old_replica_sets([*olds, new], olds, new, d)


def test_unhealthy_old_replicas_go_first_oldest_first() -> None:
    """Cleanup takes unavailable replicas from the oldest ReplicaSet before newer ones."""
    d, _, olds = _world(10, 0, 4, (0, 0), [(3, 1), (3, 2), (4, 4)])
    steps = cleanup_unhealthy_replicas(list(reversed(olds)), d, 3)
    assert [(olds[0].metadata.name, 1), (olds[1].metadata.name, 2)] == [
        (s.name, s.new) for s in steps
    ]


def test_tutorial_first_sync_scales_old_down_by_one() -> None:
    """4 replicas, 25%/25%: with the new RS created at 1, the old one goes 4 → 3."""
    d, new, olds = _world(4, 1, 1, (1, 0), [(4, 4)])
    assert (Scale(name=olds[0].metadata.name, old=4, new=3),) == reconcile_old_replica_sets(
        [*olds, new], olds, new, d
    )


def test_one_step_per_sync() -> None:
    """When the new ReplicaSet can grow, old ones are not touched in the same sync."""
    d, new, olds = _world(4, 1, 1, (0, 0), [(4, 4)])
    steps = rollout_step(d, new, olds)
    assert [new.metadata.name] == [s.name for s in steps]


sizes = st.integers(0, 12)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Deployment, ReplicaSet, list[ReplicaSet]]:
    replicas = draw(st.integers(1, 12))
    surge = draw(st.integers(0, 4))
    unavailable = draw(st.integers(0 if surge else 1, 4))
    new_n = draw(sizes)
    new = (new_n, draw(st.integers(0, new_n)))
    olds = draw(
        st.lists(st.tuples(sizes, sizes).map(lambda t: (t[0], min(t))), min_size=1, max_size=3)
    )
    return _world(replicas, surge, unavailable, new, olds)


@given(worlds())
def test_reconcile_new_replica_set_is_idempotent(
    world: tuple[Deployment, ReplicaSet, list[ReplicaSet]],
) -> None:
    """Applying the new ReplicaSet's step and deciding again gives no step."""
    d, new, olds = world
    step = reconcile_new_replica_set(d, [*olds, new], new)
    if step is None:
        return
    (scaled,) = apply_scales([new], [step])
    assert reconcile_new_replica_set(d, [*olds, scaled], scaled) is None


@given(worlds())
def test_new_replica_set_growth_respects_the_surge(
    world: tuple[Deployment, ReplicaSet, list[ReplicaSet]],
) -> None:
    """Growing the new ReplicaSet never takes the total past replicas + maxSurge."""
    d, new, olds = world
    step = reconcile_new_replica_set(d, [*olds, new], new)
    if step is None or step.new < step.old:
        return
    total = sum(rs.spec.replicas or 0 for rs in olds) + step.new
    assert total <= (d.spec.replicas or 0) + max_surge(d)


@given(worlds())
def test_old_scale_down_keeps_minimum_availability(
    world: tuple[Deployment, ReplicaSet, list[ReplicaSet]],
) -> None:
    """Scale-downs remove unavailable replicas first and never more available ones than allowed."""
    d, new, olds = world
    active = [rs for rs in olds if rs.spec.replicas]
    steps = reconcile_old_replica_sets([*olds, new], active, new, d)
    by_name = {rs.metadata.name: rs for rs in olds}
    # Per ReplicaSet, the replicas beyond its unavailable ones are available pods lost.
    removed: dict[str, int] = {}
    for s in steps:
        assert s.new < s.old
        removed[s.name] = removed.get(s.name, 0) + s.old - s.new
    lost = sum(
        max(0, n - ((by_name[name].spec.replicas or 0) - by_name[name].status.available_replicas))
        for name, n in removed.items()
    )
    available = sum(rs.status.available_replicas for rs in [*olds, new])
    if lost:
        assert available - lost >= min_available(d)


@given(worlds())
def test_scale_down_for_rolling_update_never_goes_negative(
    world: tuple[Deployment, ReplicaSet, list[ReplicaSet]],
) -> None:
    """Each old ReplicaSet loses at most what it has; empty ones are skipped."""
    d, new, olds = world
    for s in scale_down_old_replica_sets_for_rolling_update([*olds, new], olds, d):
        assert 0 <= s.new < s.old


@given(worlds(), st.integers(0, 20))
def test_cleanup_takes_only_unhealthy_replicas_within_budget(
    world: tuple[Deployment, ReplicaSet, list[ReplicaSet]], budget: int
) -> None:
    """Cleanup removes at most the budget, and from each ReplicaSet at most its unavailable pods."""
    d, _, olds = world
    steps = cleanup_unhealthy_replicas(olds, d, budget)
    by_name = {rs.metadata.name: rs for rs in olds}
    assert sum(s.old - s.new for s in steps) <= budget
    for s in steps:
        rs = by_name[s.name]
        assert 0 < s.old - s.new <= (rs.spec.replicas or 0) - rs.status.available_replicas


# The cases of Kubernetes' rolling_test.go, as data.


@pytest.mark.parametrize(
    ("replicas", "surge", "old", "new", "expected"),
    [
        (10, 0, 10, 0, None),
        (10, 2, 10, 0, 2),
        (10, 2, 5, 0, 7),
        (10, 2, 10, 2, None),
        (10, 2, 2, 11, 10),
    ],
)
def test_kubernetes_reconcile_new_replica_set_cases(
    replicas: int, surge: int, old: int, new: int, expected: int | None
) -> None:
    """Kubernetes' reconcileNewReplicaSet cases (maxUnavailable 0)."""
    d, new_rs, olds = _world(replicas, surge, 0, (new, 0), [(old, old)])
    step = reconcile_new_replica_set(d, [new_rs, *olds], new_rs)
    assert expected == (None if step is None else step.new)


@pytest.mark.parametrize(
    ("replicas", "unavailable", "old", "new", "old_ready", "new_ready", "expected"),
    [
        (10, 0, 10, 0, 10, 0, 9),
        (10, 2, 10, 0, 10, 0, 8),
        (10, 2, 10, 0, 8, 0, 8),  # unhealthy old replicas cleaned up
        (10, 2, 10, 0, 9, 0, 8),  # one unhealthy cleaned up, one ready scaled down
        (10, 2, 8, 2, 8, 0, None),  # the new RS's unavailable pods block further scale-down
    ],
)
def test_kubernetes_reconcile_old_replica_sets_cases(
    *,
    replicas: int,
    unavailable: int,
    old: int,
    new: int,
    old_ready: int,
    new_ready: int,
    expected: int | None,
) -> None:
    """Kubernetes' reconcileOldReplicaSets cases (maxSurge 0)."""
    d, new_rs, olds = _world(replicas, 0, unavailable, (new, new_ready), [(old, old_ready)])
    steps = reconcile_old_replica_sets([*olds, new_rs], olds, new_rs, d)
    assert expected == (steps[-1].new if steps else None)


@pytest.mark.parametrize(
    ("ready", "budget", "expected"), [(8, 1, 1), (8, 3, 2), (8, 0, 0), (10, 3, 0)]
)
def test_kubernetes_cleanup_unhealthy_replicas_cases(
    ready: int, budget: int, expected: int
) -> None:
    """Kubernetes' cleanupUnhealthyReplicas cases: 10 old replicas, surge 2, unavailable 2."""
    d, _, olds = _world(10, 2, 2, (0, 0), [(10, ready)])
    assert expected == scaled_down(cleanup_unhealthy_replicas(olds, d, budget))


@pytest.mark.parametrize(
    ("replicas", "unavailable", "ready", "old", "expected"),
    [
        (10, 0, 10, 10, 9),
        (10, 2, 10, 10, 8),
        (10, 2, 8, 10, None),
        (10, 2, 10, 0, None),
        (10, 2, 1, 10, None),
    ],
)
def test_kubernetes_scale_down_old_replica_sets_cases(
    replicas: int, unavailable: int, ready: int, old: int, expected: int | None
) -> None:
    """Kubernetes' scaleDownOldReplicaSetsForRollingUpdate cases (maxSurge 0, no new RS)."""
    d, _, _ = _world(replicas, 0, unavailable, (0, 0), [])
    old_rs = replica_set(d, image="nginx:0", replicas=old, actual=ready, available=ready)
    steps = scale_down_old_replica_sets_for_rolling_update([old_rs], [old_rs], d)
    assert expected == (steps[0].new if steps else None)
