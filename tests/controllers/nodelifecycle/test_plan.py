"""Unit tests of the node lifecycle planner: health, taints, eviction, pods."""

from __future__ import annotations

import attrs
import pytest

from controllers.api.core import Node, Taint, Toleration
from controllers.nodelifecycle import (
    NODE_MONITOR_GRACE_PERIOD,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    Evict,
    desired_taints,
    eviction,
    is_orphaned,
    node_health,
    pod_not_ready,
    tolerates,
)
from tests.controllers.nodelifecycle.builders import (
    T0,
    at,
    lease,
    no_execute,
    node,
    pod,
    pressure,
    ready,
    tolerate,
)


def _statuses(n: Node) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in n.status.conditions}


# -- node health ---------------------------------------------------------------------------


def test_default_grace_period_is_kubernetes_1_32s() -> None:
    assert NODE_MONITOR_GRACE_PERIOD == 50


def test_fresh_node_is_rechecked_when_its_heartbeat_goes_stale() -> None:
    health = node_health(node(), lease(renewed=at(20)), now=at(30))
    assert health.status is None
    assert health.recheck_at == at(70)


def test_stale_node_conditions_become_unknown() -> None:
    health = node_health(node(), lease(renewed=at(0)), now=at(51))
    assert health.status is not None
    assert health.recheck_at is None
    conditions = {c.type: c for c in health.status.conditions}
    for type_ in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        c = conditions[type_]
        assert (c.status, c.reason, c.message) == (
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
        assert c.last_transition_time == at(51)
        assert c.last_heartbeat_time == T0


def test_staleness_is_strictly_after_the_grace_period() -> None:
    assert node_health(node(), None, now=at(50)).status is None
    assert node_health(node(), None, now=at(50.001)).status is not None


def test_latest_of_lease_heartbeat_and_creation_counts() -> None:
    n = node(created=at(100), conditions=[ready(heartbeat=at(10))])
    assert node_health(n, lease(renewed=at(5)), now=at(140)).recheck_at == at(150)
    n = node(created=at(0), conditions=[ready(heartbeat=at(120))])
    assert node_health(n, lease(renewed=at(5)), now=at(140)).recheck_at == at(170)
    assert node_health(node(), lease(renewed=at(200)), now=at(240)).recheck_at == at(250)


def test_custom_grace_period() -> None:
    assert node_health(node(), None, now=at(30), grace=20).status is not None


def test_already_unknown_node_needs_nothing() -> None:
    stale = node_health(node(), None, now=at(60)).status
    assert stale is not None
    unknown = attrs.evolve(node(), status=stale)
    assert node_health(unknown, None, now=at(600)) == node_health(unknown, None, now=at(60))
    assert node_health(unknown, None, now=at(600)).status is None
    assert node_health(unknown, None, now=at(600)).recheck_at is None


def test_conditions_never_posted_are_added_as_never_updated() -> None:
    health = node_health(node(conditions=[]), None, now=at(51))
    assert health.status is not None
    assert _statuses(attrs.evolve(node(), status=health.status)) == dict.fromkeys(
        ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"),
        ("Unknown", "NodeStatusNeverUpdated"),
    )


def test_other_conditions_are_kept() -> None:
    n = node(conditions=[ready(), pressure("NetworkUnavailable")])
    health = node_health(n, None, now=at(51))
    assert health.status is not None
    assert _statuses(attrs.evolve(n, status=health.status))["NetworkUnavailable"] == ("False", "")


# -- taints --------------------------------------------------------------------------------


def _keys(taints: tuple[Taint, ...] | None) -> set[tuple[str, str]]:
    assert taints is not None
    return {(t.key, t.effect) for t in taints}


def test_ready_node_needs_no_taints() -> None:
    assert desired_taints(node(), now=at(1)) is None


def test_not_ready_node_gets_not_ready_taints() -> None:
    taints = desired_taints(node(conditions=[ready("False")]), now=at(1))
    assert _keys(taints) == {(TAINT_NOT_READY, "NoExecute"), (TAINT_NOT_READY, "NoSchedule")}
    assert taints is not None
    assert all(t.time_added == at(1) for t in taints)


def test_unknown_node_swaps_not_ready_for_unreachable() -> None:
    n = node(
        conditions=[ready("Unknown")],
        taints=[no_execute(TAINT_NOT_READY), Taint(key=TAINT_NOT_READY, effect="NoSchedule")],
    )
    assert _keys(desired_taints(n, now=at(1))) == {
        (TAINT_UNREACHABLE, "NoExecute"),
        (TAINT_UNREACHABLE, "NoSchedule"),
    }


def test_existing_taints_keep_their_time() -> None:
    n = node(
        conditions=[ready("Unknown")],
        taints=[
            no_execute(TAINT_UNREACHABLE, added=at(5)),
            Taint(key=TAINT_UNREACHABLE, effect="NoSchedule"),
        ],
    )
    assert desired_taints(n, now=at(100)) is None


def test_recovered_node_loses_condition_taints_but_keeps_user_taints() -> None:
    user = Taint(key="dedicated", value="gpu", effect="NoSchedule")
    n = node(taints=[user, no_execute(TAINT_UNREACHABLE)])
    assert desired_taints(n, now=at(1)) == (user,)


def test_unschedulable_taint_follows_spec() -> None:
    assert _keys(desired_taints(node(unschedulable=True), now=at(1))) == {
        (TAINT_UNSCHEDULABLE, "NoSchedule")
    }
    cordoned = Taint(key=TAINT_UNSCHEDULABLE, effect="NoSchedule", time_added=T0)
    assert desired_taints(node(taints=[cordoned]), now=at(1)) == ()


def test_pressure_conditions_give_no_schedule_taints() -> None:
    n = node(conditions=[ready(), pressure("DiskPressure", "True")])
    assert _keys(desired_taints(n, now=at(1))) == {
        ("node.kubernetes.io/disk-pressure", "NoSchedule")
    }


def test_user_no_execute_taint_without_time_is_stamped() -> None:
    n = node(taints=[no_execute("maintenance", added=None)])
    assert desired_taints(n, now=at(7)) == (no_execute("maintenance", added=at(7)),)


# -- tolerations and eviction ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        (Toleration(operator="Exists"), True),
        (Toleration(operator="Exists", effect="NoSchedule"), False),
        (Toleration(key="k", operator="Exists"), True),
        (Toleration(key="k", operator="Equal", value="v"), True),
        (Toleration(key="k", value="v"), True),
        (Toleration(key="k", value="w"), False),
        (Toleration(key="other", operator="Exists"), False),
        (Toleration(operator="Equal"), False),
        (Toleration(key="k", operator="Bogus", value="v"), False),
    ],
)
def test_tolerates(toleration: Toleration, expected: bool) -> None:
    assert tolerates(toleration, Taint(key="k", value="v", effect="NoExecute")) is expected


def test_no_taints_never_evict() -> None:
    assert eviction(pod(), (), now=at(1)) == Evict(at=None)


def test_non_tolerating_pod_is_evicted_now() -> None:
    assert eviction(pod(), [no_execute("x")], now=at(9)) == Evict(at=at(9))


def test_no_schedule_taints_do_not_evict() -> None:
    assert eviction(pod(), [Taint(key="x", effect="NoSchedule")], now=at(9)) == Evict(at=None)


def test_tolerating_pod_is_evicted_after_toleration_seconds() -> None:
    p = pod(tolerations=[tolerate(TAINT_UNREACHABLE, 300)])
    assert eviction(p, [no_execute(TAINT_UNREACHABLE, added=at(60))], now=at(61)) == Evict(
        at=at(360)
    )


def test_tolerating_forever_never_evicts() -> None:
    p = pod(tolerations=[tolerate(TAINT_UNREACHABLE)])
    assert eviction(p, [no_execute(TAINT_UNREACHABLE)], now=at(1e6)) == Evict(at=None)


def test_earliest_toleration_deadline_wins() -> None:
    p = pod(tolerations=[tolerate("a", 600), tolerate("b", 100), tolerate("c")])
    taints = [no_execute("a"), no_execute("b", added=at(50)), no_execute("c")]
    assert eviction(p, taints, now=at(1)) == Evict(at=at(150))


def test_first_matching_toleration_counts() -> None:
    p = pod(tolerations=[tolerate("a", 100), Toleration(operator="Exists")])
    assert eviction(p, [no_execute("a")], now=at(1)) == Evict(at=at(100))


def test_pod_created_after_taint_gets_full_toleration() -> None:
    p = pod(tolerations=[tolerate("a", 100)], created=at(500))
    assert eviction(p, [no_execute("a")], now=at(501)) == Evict(at=at(600))


def test_negative_toleration_seconds_evict_at_once() -> None:
    p = pod(tolerations=[tolerate("a", -5)])
    assert eviction(p, [no_execute("a")], now=at(1)) == Evict(at=T0)


def test_taint_without_time_counts_from_now() -> None:
    p = pod(tolerations=[tolerate("a", 100)])
    assert eviction(p, [no_execute("a", added=None)], now=at(30)) == Evict(at=at(130))


# -- pods ----------------------------------------------------------------------------------


def test_ready_pod_is_marked_not_ready() -> None:
    status = pod_not_ready(pod(is_ready=True), now=at(5))
    assert status is not None
    (c,) = status.conditions
    assert (c.type, c.status, c.last_transition_time) == ("Ready", "False", at(5))


def test_not_ready_or_conditionless_pod_is_left_alone() -> None:
    assert pod_not_ready(pod(is_ready=False), now=at(5)) is None
    assert pod_not_ready(pod(), now=at(5)) is None


def test_orphaned_pods_are_bound_to_missing_nodes() -> None:
    assert is_orphaned(pod(node_name="gone"), {"n1"})
    assert not is_orphaned(pod(node_name="n1"), {"n1"})
    assert not is_orphaned(pod(node_name=""), set())
