"""Fenceposts, sizes, rounding, hashes and the new ReplicaSet, against oracles and laws."""

from __future__ import annotations

import decimal
import math
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import DeploymentStrategy, DeploymentStrategyType
from controllers.api.common import IntOrString
from controllers.deployment import (
    equal_ignore_hash,
    find_new_replica_set,
    go_round,
    max_surge,
    max_unavailable,
    min_available,
    new_rs_new_replicas,
    pod_template_hash,
    resolve_fenceposts,
)
from controllers.deployment.util import POD_TEMPLATE_HASH, scaled_value
from tests.controllers.deployment.builders import deployment, replica_set, template

percent = st.integers(0, 100).map(lambda p: f"{p}%")
int_or_percent: st.SearchStrategy[IntOrString] = st.integers(0, 50) | percent


def oracle_scaled(value: IntOrString, total: int, *, up: bool) -> int:
    """The int-or-percent rule with exact rational arithmetic."""
    if isinstance(value, int):
        return value
    exact = Fraction(int(value[:-1]) * total, 100)
    return math.ceil(exact) if up else math.floor(exact)


@given(int_or_percent, int_or_percent, st.integers(0, 1000))
def test_fenceposts_round_surge_up_and_unavailable_down(
    surge: IntOrString, unavailable: IntOrString, desired: int
) -> None:
    """Surge is the ceiling, unavailability the floor; both zero makes unavailability one."""
    s = oracle_scaled(surge, desired, up=True)
    u = oracle_scaled(unavailable, desired, up=False)
    expected = (s, 1) if s == 0 and u == 0 else (s, u)
    assert expected == resolve_fenceposts(surge, unavailable, desired)


def test_fenceposts_examples() -> None:
    """Kubernetes' examples: 25%/25% of 10 is 3/2; 0%/0% of 0 and 1% of 10 unavailable give 1."""
    assert (3, 2) == resolve_fenceposts("25%", "25%", 10)
    assert (0, 1) == resolve_fenceposts("0%", "0%", 0)
    assert (0, 1) == resolve_fenceposts(0, "1%", 10)


@pytest.mark.parametrize("bad", ["90", "%", "#%", "90#", "x5%", "\uff15%", "5 %"])
def test_scaled_value_rejects_non_percent_strings(bad: str) -> None:
    """A string must be an integer followed by ``%``."""
    with pytest.raises(ValueError, match="percentage"):
        scaled_value(bad, 10, round_up=True)


@given(st.integers(-(10**6), 10**6), st.integers(1, 1000))
def test_go_round_is_half_away_from_zero(numerator: int, denominator: int) -> None:
    """``go_round`` agrees with decimal ROUND_HALF_UP (which rounds halves away from zero)."""
    x = numerator / denominator
    expected = int(decimal.Decimal(x).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))
    assert expected == go_round(x)


def test_go_round_differs_from_bankers_rounding() -> None:
    """Halves go away from zero, where Python's ``round`` goes to even."""
    assert [1, 3, -1, -3] == [go_round(x) for x in (0.5, 2.5, -0.5, -2.5)]


@given(st.integers(0, 200), int_or_percent, int_or_percent)
def test_max_unavailable_is_clamped_and_min_available_complements(
    replicas: int, surge: IntOrString, unavailable: IntOrString
) -> None:
    """maxUnavailable ≤ replicas (0 when replicas is 0), and minAvailable = replicas - it."""
    d = deployment(replicas, surge=surge, unavailable=unavailable)
    u = max_unavailable(d)
    assert 0 <= u <= replicas
    if replicas == 0:
        assert 0 == u
    assert replicas - u == min_available(d)
    assert resolve_fenceposts(surge, unavailable, replicas)[0] == max_surge(d)


def test_recreate_has_no_fenceposts() -> None:
    """Recreate: surge, unavailability and minimum availability are all 0."""
    d = deployment(5, recreate=True)
    assert (0, 0, 0) == (max_surge(d), max_unavailable(d), min_available(d))


@given(
    st.integers(0, 50),
    int_or_percent,
    st.lists(st.integers(0, 60), max_size=4),
    st.integers(0, 60),
)
def test_new_rs_new_replicas_stays_within_surge_and_replicas(
    replicas: int, surge: IntOrString, olds: list[int], current: int
) -> None:
    """The new size never pushes the total past replicas+surge, nor the new RS past replicas."""
    d = deployment(replicas, surge=surge, unavailable=1)
    new = replica_set(d, image="nginx:2", replicas=current)
    old = [replica_set(d, image=f"nginx:o{i}", replicas=n) for i, n in enumerate(olds)]
    size = new_rs_new_replicas(d, [*old, new], new)
    total_before = sum(olds) + current
    limit = replicas + max_surge(d)
    if total_before >= limit:
        assert current == size
    else:
        assert size <= max(current, replicas)
        assert sum(olds) + size <= limit
        assert size >= current or current > replicas


def test_new_rs_new_replicas_recreate_is_full_size() -> None:
    """Recreate starts the new ReplicaSet at full size."""
    d = deployment(7, recreate=True)
    new = replica_set(d, image="nginx:2")
    assert 7 == new_rs_new_replicas(d, [new], new)


@given(st.sampled_from(["nginx:1", "nginx:2", "redis"]), st.none() | st.integers(0, 2**31))
def test_pod_template_hash_is_deterministic_and_name_safe(image: str, count: int | None) -> None:
    """Same template and count give the same hash, made of the vowel-free alphabet only."""
    h = pod_template_hash(template(image), count)
    assert h == pod_template_hash(template(image), count)
    assert h
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_pod_template_hash_changes_with_template_and_collision_count() -> None:
    """A different template or collision count gives a different hash."""
    hashes = {
        pod_template_hash(template("nginx:1"), None),
        pod_template_hash(template("nginx:2"), None),
        pod_template_hash(template("nginx:1"), 1),
        pod_template_hash(template("nginx:1"), 2),
    }
    assert 4 == len(hashes)


def test_equal_ignore_hash_ignores_only_the_hash_label() -> None:
    """Templates differing only in ``pod-template-hash`` are equal; other labels matter."""
    t = template()
    hashed = attrs.evolve(
        t, metadata=attrs.evolve(t.metadata, labels={"app": "web", POD_TEMPLATE_HASH: "abc"})
    )
    other = attrs.evolve(t, metadata=attrs.evolve(t.metadata, labels={"app": "api"}))
    assert equal_ignore_hash(t, hashed)
    assert not equal_ignore_hash(t, other)


def test_find_new_replica_set_prefers_the_oldest_match() -> None:
    """Of two ReplicaSets with the Deployment's template, the older is the new one."""
    d = deployment(image="nginx:2")
    older = replica_set(d, image="nginx:2", created=1, hash_="aaa")
    younger = replica_set(d, image="nginx:2", created=2, hash_="bbb")
    other = replica_set(d, image="nginx:1", created=0)
    assert older == find_new_replica_set(d, [younger, other, older])
    assert find_new_replica_set(d, [other]) is None


def test_unset_strategy_is_rolling_with_defaults() -> None:
    """An unset strategy behaves as RollingUpdate 25%/25%."""
    d = deployment(10)
    d = attrs.evolve(d, spec=attrs.evolve(d.spec, strategy=DeploymentStrategy()))
    assert (3, 2) == (max_surge(d), max_unavailable(d))
    d = attrs.evolve(
        d,
        spec=attrs.evolve(
            d.spec, strategy=DeploymentStrategy(type=DeploymentStrategyType.ROLLING_UPDATE)
        ),
    )
    assert (3, 2) == (max_surge(d), max_unavailable(d))
