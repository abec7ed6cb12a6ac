"""Properties of the pod predicates, the deletion order and slow start."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from controllers.api.core import Pod
from controllers.replicaset import (
    BURST_REPLICAS,
    co_located,
    deletion_cost,
    deletion_key,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    max_restarts,
    pods_to_delete,
    ready_time,
    slow_start_batches,
    time_bucket,
)
from controllers.replicaset.pods import ZERO_TIME
from tests.controllers.replicaset.builders import T0, pod, pods, unique_uids

NOW = T0 + dt.timedelta(hours=2)

# -- slow start -------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=64))
def test_slow_start_batches_sum_to_count_and_double(count: int, initial: int) -> None:
    """Batches sum to count, start at min(initial, count) and double, capped by what remains."""
    sizes = slow_start_batches(count, initial)
    assert count == sum(sizes)
    assert all(size > 0 for size in sizes)
    remaining = count
    expected = min(initial, remaining)
    for size in sizes:
        assert expected == size
        remaining -= size
        expected = min(2 * size, remaining)


def test_slow_start_batches_of_ten_are_one_two_four_three() -> None:
    """Kubernetes' example: ten calls go out as 1, 2, 4 and 3."""
    assert (1, 2, 4, 3) == slow_start_batches(10)
    assert () == slow_start_batches(0)


@given(st.integers(min_value=0, max_value=20_000))
def test_a_burst_never_needs_more_than_nine_batches(count: int) -> None:
    """A sync creates at most 500 pods, which takes 9 slow-start batches (1 + ... + 245)."""
    assert len(slow_start_batches(min(count, BURST_REPLICAS))) <= 9


# -- pod predicates ---------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=600), st.integers(min_value=-5, max_value=600))
def test_availability_is_inclusive_after_min_ready_seconds(min_ready: int, elapsed: int) -> None:
    """A pod ready for exactly minReadySeconds is available; a microsecond less is not."""
    p = pod(ready=T0)
    now = T0 + dt.timedelta(seconds=elapsed)
    assert (min_ready == 0 or elapsed >= min_ready) == is_pod_available(p, min_ready, now)
    if min_ready > 0:
        edge = T0 + dt.timedelta(seconds=min_ready)
        assert is_pod_available(p, min_ready, edge)
        assert not is_pod_available(p, min_ready, edge - dt.timedelta(microseconds=1))


@given(st.integers(min_value=1, max_value=600))
def test_unknown_ready_time_is_never_available_with_min_ready_seconds(min_ready: int) -> None:
    """A Ready condition without a transition time never satisfies minReadySeconds > 0."""
    p = pod(ready=T0)
    condition = p.status.conditions[0]
    import attrs  # noqa: PLC0415 - local: only this test edits a condition

    unknown = attrs.evolve(
        p,
        status=attrs.evolve(
            p.status, conditions=(attrs.evolve(condition, last_transition_time=None),)
        ),
    )
    assert ZERO_TIME == ready_time(unknown)
    assert is_pod_ready(unknown)
    assert not is_pod_available(unknown, min_ready, NOW + dt.timedelta(days=365))
    assert is_pod_available(unknown, 0, NOW)


@given(pods())
def test_active_means_not_finished_and_not_deleting(p: Pod) -> None:
    """Active pods are neither Succeeded/Failed nor marked for deletion."""
    expected = p.status.phase not in ("Succeeded", "Failed") and not p.metadata.deleting
    assert expected == is_pod_active(p)


@given(st.text(max_size=12))
def test_deletion_cost_is_an_int32_or_zero(text: str) -> None:
    """Only a plain decimal int32 is a cost; anything else counts as 0."""
    p = pod()
    import attrs  # noqa: PLC0415

    p = attrs.evolve(
        p,
        metadata=attrs.evolve(
            p.metadata, annotations={"controller.kubernetes.io/pod-deletion-cost": text}
        ),
    )
    cost = deletion_cost(p)
    assert -(2**31) <= cost < 2**31
    if cost != 0:
        assert int(text) == cost


def test_time_bucket_is_floor_log2_of_nanoseconds() -> None:
    """One second is 1e9 ns, whose floor(log2) is 29; the future buckets as -1."""
    assert 29 == time_bucket(T0, T0 + dt.timedelta(seconds=1))
    assert 9 == time_bucket(T0, T0 + dt.timedelta(microseconds=1))  # 1000 ns
    assert -1 == time_bucket(T0 + dt.timedelta(seconds=1), T0)


# -- the deletion order -----------------------------------------------------------------------


def _rule(a: Pod, b: Pod, rank_a: int, rank_b: int) -> str | None:
    """
    The first of Kubernetes' rules 1-8 on which ``a`` and ``b`` differ and decide, or None.

    Rules 6 and 8 count only when the log2 buckets differ (within a bucket
    Kubernetes breaks the tie by UID, which this test does not constrain).
    """
    if bool(a.spec.node_name) != bool(b.spec.node_name):
        return "assigned"
    order = {"Pending": 0, "Unknown": 1, "Running": 2}
    if order.get(a.status.phase, 0) != order.get(b.status.phase, 0):
        return "phase"
    if is_pod_ready(a) != is_pod_ready(b):
        return "ready"
    if deletion_cost(a) != deletion_cost(b):
        return "cost"
    if rank_a != rank_b:
        return "rank"
    ra, rb = ready_time(a), ready_time(b)
    if ra is not None and rb is not None and ra != rb:
        if ZERO_TIME in (ra, rb):
            return "ready-time"
        if time_bucket(ra, NOW) != time_bucket(rb, NOW):
            return "ready-time"
        return None
    if max_restarts(a) != max_restarts(b):
        return "restarts"
    ca, cb = a.metadata.creation_timestamp, b.metadata.creation_timestamp
    if ca != cb and (ca is None or cb is None or time_bucket(ca, NOW) != time_bucket(cb, NOW)):
        return "created"
    return None


def _k8s_first(a: Pod, b: Pod, rule: str, rank_a: int, rank_b: int) -> bool:
    """Whether Kubernetes deletes ``a`` before ``b`` by ``rule``."""
    order = {"Pending": 0, "Unknown": 1, "Running": 2}
    match rule:
        case "assigned":
            return not a.spec.node_name
        case "phase":
            return order.get(a.status.phase, 0) < order.get(b.status.phase, 0)
        case "ready":
            return not is_pod_ready(a)
        case "cost":
            return deletion_cost(a) < deletion_cost(b)
        case "rank":
            return rank_a > rank_b
        case "ready-time":
            ra, rb = ready_time(a), ready_time(b)
            assert ra is not None
            assert rb is not None
            if ZERO_TIME in (ra, rb):
                return ra == ZERO_TIME
            return time_bucket(ra, NOW) < time_bucket(rb, NOW)
        case "restarts":
            return max_restarts(a) > max_restarts(b)
        case _:
            ca, cb = a.metadata.creation_timestamp, b.metadata.creation_timestamp
            if ca is None or cb is None:
                return ca is None
            return time_bucket(ca, NOW) < time_bucket(cb, NOW)


@given(pods(), pods(), st.integers(0, 3), st.integers(0, 3))
def test_deletion_key_follows_kubernetes_rules(a: Pod, b: Pod, rank_a: int, rank_b: int) -> None:
    """Whenever one of Kubernetes' rules decides between two pods, the key agrees."""
    rule = _rule(a, b, rank_a, rank_b)
    if rule is None or a.metadata.uid == b.metadata.uid:
        return
    key_a = deletion_key(a, rank=rank_a, now=NOW)
    key_b = deletion_key(b, rank=rank_b, now=NOW)
    assert _k8s_first(a, b, rule, rank_a, rank_b) == (key_a < key_b)


@given(st.lists(pods(), max_size=12).filter(unique_uids), st.integers(0, 14), st.randoms())
def test_pods_to_delete_takes_the_lowest_ranked_pods(
    candidates: list[Pod], count: int, rnd: random.Random
) -> None:
    """The victims are a prefix of the total order, independent of input order."""
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    victims = pods_to_delete(candidates, count, related=candidates, now=NOW)
    again = pods_to_delete(shuffled, count, related=shuffled, now=NOW)
    assert min(count, len(candidates)) == len(victims)
    if count < len(candidates):
        assert victims == again
        on_node = co_located(candidates)
        keys = {
            p.metadata.uid: deletion_key(p, rank=on_node[p.spec.node_name], now=NOW)
            for p in candidates
        }
        chosen = {p.metadata.uid for p in victims}
        kept = [keys[p.metadata.uid] for p in candidates if p.metadata.uid not in chosen]
        assert all(keys[uid] < min(kept) for uid in chosen) if kept else True
    else:
        assert tuple(candidates) == victims


def test_scale_down_prefers_unscheduled_then_pending_then_not_ready() -> None:
    """The example of the issue: unassigned, pending, not ready, then the ready pods."""
    ready = pod("ready", ready=T0)
    not_ready = pod("not-ready")
    pending = pod("pending", phase="Pending")
    unassigned = pod("unassigned", node="", phase="Pending")
    everyone = [ready, not_ready, pending, unassigned]
    assert [unassigned, pending, not_ready] == list(
        pods_to_delete(everyone, 3, related=everyone, now=NOW)
    )


def test_scale_down_prefers_low_cost_then_co_located_then_recently_ready() -> None:
    """Among ready running pods: deletion cost, then crowded nodes, then the newest ready."""
    cheap = pod("cheap", ready=T0, cost=-5, node="node-9")
    crowded = [pod(f"crowded-{i}", ready=T0, node="node-1") for i in range(2)]
    fresh = pod("fresh", ready=NOW - dt.timedelta(seconds=1), node="node-2")
    old = pod("old", ready=T0, node="node-3")
    everyone = [old, fresh, *crowded, cheap]
    order = pods_to_delete(everyone, 4, related=everyone, now=NOW)
    assert ["cheap", "crowded-0", "crowded-1", "fresh"] == sorted(
        [p.metadata.name for p in order[:1]]
    ) + sorted(p.metadata.name for p in order[1:3]) + [order[3].metadata.name]
