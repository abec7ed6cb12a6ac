"""Proportional scaling against an independent oracle and Kubernetes' examples."""

from __future__ import annotations

import decimal

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from controllers.api.apps import Deployment, ReplicaSet
from controllers.deployment import (
    Scale,
    apply_scales,
    find_active_or_latest,
    is_saturated,
    is_scaling_event,
    max_surge,
    proportional_scale,
    replica_set_fraction,
)
from controllers.deployment.util import MAX_REPLICAS
from tests.controllers.deployment.builders import deployment, replica_set


def _half_away(x: decimal.Decimal) -> int:
    return int(x.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))


def oracle(
    sizes: list[tuple[int, float]], new_max: int, old_max: int, to_add: int
) -> dict[int, int]:
    """
    Proportional scaling written from the prose: index → new size.

    ``sizes`` are (replicas, creation) pairs; growing visits larger then newer
    first, shrinking larger then older first; each takes its rounded share
    capped by the remainder; the leftover goes to the first, floored at 0.
    """
    order = sorted(
        range(len(sizes)),
        key=lambda i: (-sizes[i][0], -sizes[i][1] if to_add > 0 else sizes[i][1]),
    )
    out = {i: sizes[i][0] for i in order}
    added = 0
    for i in order:
        r = sizes[i][0]
        if r == 0 or to_add in (0, added):
            continue
        exact = decimal.Decimal(r * new_max) / decimal.Decimal(old_max)
        share = _half_away(exact) - r
        allowed = to_add - added
        share = min(share, allowed) if to_add > 0 else max(share, allowed)
        out[i] = r + share
        added += share
    if to_add and order:
        out[order[0]] = max(0, out[order[0]] + to_add - added)
    return out


def _pair(new: int, surge: int) -> Deployment:
    return deployment(new, surge=surge, unavailable=1)


@given(
    st.lists(st.integers(1, 40), min_size=2, max_size=4),
    st.integers(0, 60),
    st.integers(0, 5),
)
def test_proportional_scale_matches_the_oracle(sizes: list[int], new: int, surge: int) -> None:
    """
    Every ReplicaSet gets the oracle's size; the total becomes replicas + surge
    unless the largest ReplicaSet was floored at zero (then it is above).
    """
    old_max = sum(sizes)  # the ReplicaSets filled the old maximum
    d = _pair(new, surge)
    rss = [
        replica_set(d, image=f"nginx:{i}", replicas=n, created=i, max_replicas=old_max, desired=0)
        for i, n in enumerate(sizes)
    ]
    new_rs, olds = rss[-1], rss[:-1]
    assume(not is_saturated(d, new_rs))
    steps = proportional_scale(d, new_rs, olds)
    allowed = new + max_surge(d) if new > 0 else 0
    expected = oracle(
        [(n, float(i)) for i, n in enumerate(sizes)], allowed, old_max, allowed - old_max
    )
    got = {int(s.name.rsplit("nginx", 1)[-1] or 0): s.new for s in steps}
    assert {i: expected[i] for i in got} == got
    total = sum(s.new for s in steps)
    if total != allowed:
        assert total > allowed
        assert 0 == steps[0].new


def _refresh(rss: list[ReplicaSet], d: Deployment) -> list[ReplicaSet]:
    """``rss`` with the max-replicas annotation a scale writes."""
    value = str((d.spec.replicas or 0) + max_surge(d))
    return [
        attrs.evolve(
            rs,
            metadata=attrs.evolve(
                rs.metadata, annotations={**rs.metadata.annotations, MAX_REPLICAS: value}
            ),
        )
        for rs in rss
    ]


@given(
    st.lists(st.integers(1, 40), min_size=2, max_size=4),
    st.integers(0, 60),
    st.integers(0, 5),
)
def test_proportional_scale_reaches_a_fixed_point(sizes: list[int], new: int, surge: int) -> None:
    """
    Applying the steps and deciding again converges within two rounds.

    One round usually suffices; when shrinking leaves a single active
    ReplicaSet, the second round trims it from replicas+surge to replicas.
    """
    old_max = sum(sizes)
    d = _pair(new, surge)
    rss = [
        replica_set(d, image=f"nginx:{i}", replicas=n, created=i, max_replicas=old_max, desired=0)
        for i, n in enumerate(sizes)
    ]
    for _ in range(2):
        rss = _refresh(apply_scales(rss, proportional_scale(d, rss[-1], rss[:-1])), d)
    assert all(s.old == s.new for s in proportional_scale(d, rss[-1], rss[:-1]))


def test_kubernetes_example_scale_up_during_rollout() -> None:
    """10 → 20 replicas (surge 3), RSs 8 (old) and 5 (new) sized for 13: they become 14 and 9."""
    d = deployment(20, surge=3, unavailable=2)
    old = replica_set(d, image="nginx:1", replicas=8, created=0, max_replicas=13, desired=10)
    new = replica_set(d, image="nginx:2", replicas=5, created=1, max_replicas=13, desired=10)
    # fractions: 8·23/13 = 14.15 → 14 (+6), 5·23/13 = 8.85 → 9 (+4); 10 to add → exact
    steps = proportional_scale(d, new, [old])
    assert {old.metadata.name: 14, new.metadata.name: 9} == {s.name: s.new for s in steps}


def test_half_rounds_away_from_zero() -> None:
    """A 2.5 share rounds to 3 (Go), not 2 (Python's ``round``)."""
    d = deployment(5, surge=0, unavailable=1)
    rs = replica_set(d, replicas=1, max_replicas=2)
    assert 2 == replica_set_fraction(rs, d)  # 1·5/2 = 2.5 → 3: two more


def test_fraction_falls_back_to_status_replicas_without_annotation() -> None:
    """Missing max-replicas: the Deployment's status.replicas is the old maximum (0 → no change)."""
    d = deployment(6, surge=0, unavailable=1)
    rs = replica_set(d, replicas=3)
    assert 0 == replica_set_fraction(rs, d)
    d = attrs.evolve(d, status=attrs.evolve(d.status, replicas=3))
    assert 3 == replica_set_fraction(rs, d)


def test_scaled_to_zero_takes_everything() -> None:
    """A Deployment scaled to zero: each ReplicaSet's fraction is minus its size."""
    d = deployment(0)
    assert -7 == replica_set_fraction(replica_set(d, replicas=7, max_replicas=9), d)


def test_single_active_replica_set_takes_all() -> None:
    """One ReplicaSet with replicas: it alone is scaled to the new size."""
    d = deployment(9)
    old = replica_set(d, image="nginx:1", replicas=0, created=0)
    new = replica_set(d, image="nginx:2", replicas=4, created=1)
    assert new == find_active_or_latest(new, [old])
    assert (Scale(name=new.metadata.name, old=4, new=9),) == proportional_scale(d, new, [old])


def test_saturated_new_replica_set_zeroes_the_old() -> None:
    """A new ReplicaSet at full size and availability: old ones go to zero."""
    d = deployment(3)
    new = replica_set(d, image="nginx:2", replicas=3, created=1)
    old = replica_set(d, image="nginx:1", replicas=2, created=0)
    assert is_saturated(d, new)
    assert (Scale(name=old.metadata.name, old=2, new=0),) == proportional_scale(d, new, [old])


def test_scaling_event_reads_desired_replicas_of_active_sets() -> None:
    """Only active ReplicaSets whose desired-replicas differs make a scaling event."""
    d = deployment(5)
    assert is_scaling_event(d, [replica_set(d, replicas=3, desired=3)])
    assert not is_scaling_event(d, [replica_set(d, replicas=0, desired=3)])
    assert not is_scaling_event(d, [replica_set(d, replicas=3, desired=5)])


# The scenarios of Kubernetes' ``TestScale`` (sync_test.go), as data: the
# Deployment's new and previous (replicas, surge), the ReplicaSets as
# (name, replicas, created) with the new one first (or None), and the sizes
# expected afterwards. Surge and unavailability default to 0 there.
NEW, OLD, OLDER = 2, 1, 0
SCALE_CASES = [
    ("10 -> 12", (12, 0), (10, 0), ("v1", 10, NEW), [], {"v1": 12}),
    ("10 -> 5", (5, 0), (10, 0), ("v1", 10, NEW), [], {"v1": 5}),
    ("5 -> 10", (10, 0), (5, 0), ("v2", 2, NEW), [("v1", 3, OLD)], {"v2": 4, "v1": 6}),
    ("5 -> 3", (3, 0), (5, 0), ("v2", 2, NEW), [("v1", 3, OLD)], {"v2": 1, "v1": 2}),
    ("9 -> 4", (4, 0), (9, 0), ("v2", 8, NEW), [("v1", 1, OLD)], {"v2": 4, "v1": 0}),
    (
        "7 -> 10",
        (10, 0),
        (7, 0),
        ("v3", 2, NEW),
        [("v2", 3, OLD), ("v1", 2, OLDER)],
        {"v3": 3, "v2": 4, "v1": 3},
    ),
    (
        "13 -> 8",
        (8, 0),
        (13, 0),
        ("v3", 2, NEW),
        [("v2", 8, OLD), ("v1", 3, OLDER)],
        {"v3": 1, "v2": 5, "v1": 2},
    ),
    (
        "leftover 3 -> 4",
        (4, 0),
        (3, 0),
        ("v3", 1, NEW),
        [("v2", 1, OLD), ("v1", 1, OLDER)],
        {"v3": 2, "v2": 1, "v1": 1},
    ),
    (
        "leftover 3 -> 2",
        (2, 0),
        (3, 0),
        ("v3", 1, NEW),
        [("v2", 1, OLD), ("v1", 1, OLDER)],
        {"v3": 1, "v2": 1, "v1": 0},
    ),
    ("no new 4 -> 5", (5, 0), (4, 0), None, [("v2", 2, OLD), ("v1", 2, OLDER)], {"v2": 3, "v1": 2}),
    (
        "6 -> 0",
        (0, 0),
        (6, 0),
        ("v3", 3, NEW),
        [("v2", 2, OLD), ("v1", 1, OLDER)],
        {"v3": 0, "v2": 0, "v1": 0},
    ),
    (
        "0 -> 6",
        (6, 0),
        (6, 0),
        ("v3", 0, NEW),
        [("v2", 0, OLD), ("v1", 0, OLDER)],
        {"v3": 6, "v2": 0, "v1": 0},
    ),
    ("surge pods", (20, 2), (10, 2), ("v2", 6, NEW), [("v1", 6, OLD)], {"v2": 11, "v1": 11}),
    ("surge and size", (50, 6), (10, 3), ("v2", 5, NEW), [("v1", 8, OLD)], {"v2": 22, "v1": 34}),
    (
        "size and template",
        (14, 0),
        (10, 0),
        None,
        [("v2", 7, NEW), ("v1", 3, OLD)],
        {"v2": 10, "v1": 4},
    ),
]


@pytest.mark.parametrize(
    ("now", "before", "new", "olds", "expected"),
    [case[1:] for case in SCALE_CASES],
    ids=[case[0] for case in SCALE_CASES],
)
def test_kubernetes_scale_scenarios(
    now: tuple[int, int],
    before: tuple[int, int],
    new: tuple[str, int, int] | None,
    olds: list[tuple[str, int, int]],
    expected: dict[str, int],
) -> None:
    """Kubernetes' proportional scaling scenarios give its expected sizes."""
    d = deployment(now[0], surge=now[1], unavailable=0)
    desired, max_replicas = before[0], before[0] + before[1]

    def build(name: str, size: int, created: int) -> ReplicaSet:
        return replica_set(
            d,
            image=f"nginx:{name}",
            replicas=size,
            actual=0,
            available=0,
            created=created,
            desired=desired,
            max_replicas=max_replicas,
        )

    new_rs = build(*new) if new is not None else None
    old_rss = [build(*o) for o in olds]
    sizes = {rs.metadata.name.removeprefix("web-nginx"): rs.spec.replicas for rs in old_rss}
    if new_rs is not None:
        sizes[new_rs.metadata.name.removeprefix("web-nginx")] = new_rs.spec.replicas
    for step in proportional_scale(d, new_rs, old_rss):
        sizes[step.name.removeprefix("web-nginx")] = step.new
    assert expected == sizes


def test_saturated_but_broken_new_replica_set_leaves_old_pods() -> None:
    """Kubernetes' case: a full-size new ReplicaSet with no available pod does not zero the old."""
    d = deployment(2, surge=1, unavailable=1)
    new = replica_set(d, image="nginx:v2", replicas=2, available=0, created=NEW, max_replicas=3)
    old = replica_set(d, image="nginx:v1", replicas=1, available=0, created=OLD, max_replicas=3)
    assert all(s.old == s.new for s in proportional_scale(d, new, [old]))


def test_failed_update_scenario_uses_each_replica_sets_own_annotation() -> None:
    """Kubernetes' "failed rs update" case: v2 sized for 3 grows to 2; v3 and v1 keep their size."""
    d = deployment(5, surge=0, unavailable=0)

    def build(name: str, size: int, created: int, before: int) -> ReplicaSet:
        return replica_set(
            d,
            image=f"nginx:{name}",
            replicas=size,
            actual=0,
            available=0,
            created=created,
            desired=before,
            max_replicas=before,
        )

    v3, v2, v1 = build("v3", 2, NEW, 5), build("v2", 1, OLD, 3), build("v1", 1, OLDER, 5)
    sizes = {s.name: s.new for s in proportional_scale(d, v3, [v2, v1])}
    assert {v3.metadata.name: 2, v2.metadata.name: 2, v1.metadata.name: 1} == sizes


# Kubernetes' TestGetReplicaSetFraction cases, as data:
# (replicas, status.replicas, maxSurge, rs replicas, max-replicas annotation, fraction).
FRACTION_CASES = [
    (0, 0, 0, 10, None, -10),  # an empty Deployment takes everything
    (10, 0, 0, 5, None, 0),  # no annotation and no status: no change
    (10, 0, 0, 5, "0", 0),  # a zero annotation counts as missing
    (120, 100, 0, 50, None, 10),  # missing: status.replicas is the old maximum
    (120, 100, 0, 50, "0", 10),
    (120, 0, 0, 50, "100", 10),
    (120, 0, 10, 50, "110", 9),  # 50·130/110 = 59.1
    (10, 0, 0, 6, "12", -1),
    (100, 0, 10, 50, "130", -8),  # 50·110/130 = 42.3
]


@pytest.mark.parametrize(
    ("replicas", "status_replicas", "surge", "size", "annotation", "expected"), FRACTION_CASES
)
def test_kubernetes_fraction_cases(
    *,
    replicas: int,
    status_replicas: int,
    surge: int,
    size: int,
    annotation: str | None,
    expected: int,
) -> None:
    """Kubernetes' getReplicaSetFraction cases."""
    d = deployment(replicas, surge=surge, unavailable=1)
    d = attrs.evolve(d, status=attrs.evolve(d.status, replicas=status_replicas))
    rs = replica_set(d, replicas=size)
    annotations = {} if annotation is None else {MAX_REPLICAS: annotation}
    rs = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, annotations=annotations))
    assert expected == replica_set_fraction(rs, d)
