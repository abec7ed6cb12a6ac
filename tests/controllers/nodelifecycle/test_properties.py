"""Properties of the node lifecycle planner over random nodes, taints and tolerations."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.core import Node, NodeCondition, Pod, Taint, Toleration
from controllers.nodelifecycle import desired_taints, eviction, node_health, tolerates
from reconcile import Lease
from tests.controllers.nodelifecycle.builders import at, lease, node, pod

KEYS = ("a", "b", "node.kubernetes.io/unreachable")
EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
STATUSES = ("True", "False", "Unknown")
CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")

seconds = st.integers(0, 2000).map(float)
times = seconds.map(at)
optional_times = st.none() | times

taints = st.builds(
    Taint,
    key=st.sampled_from(KEYS),
    value=st.sampled_from(("", "v")),
    effect=st.sampled_from(EFFECTS),
    time_added=optional_times,
)
tolerations = st.builds(
    Toleration,
    key=st.sampled_from(("", *KEYS)),
    operator=st.sampled_from(("Exists", "Equal", "")),
    value=st.sampled_from(("", "v")),
    effect=st.sampled_from(("", *EFFECTS)),
    toleration_seconds=st.none() | st.integers(-10, 1000),
)


@st.composite
def pods(draw: st.DrawFn) -> Pod:
    return pod(tolerations=draw(st.lists(tolerations, max_size=4)), created=draw(optional_times))


def _first_match(p: Pod, taint: Taint) -> Toleration | None:
    return next((t for t in p.spec.tolerations if tolerates(t, taint)), None)


def _start(p: Pod, taint: Taint, now: dt.datetime) -> dt.datetime:
    start = taint.time_added or now
    created = p.metadata.creation_timestamp
    return start if created is None else max(start, created)


@given(pods(), st.lists(taints, max_size=4), times)
def test_eviction_time_is_exactly_the_earliest_expired_toleration(
    p: Pod, node_taints: list[Taint], now: dt.datetime
) -> None:
    decided = eviction(p, node_taints, now=now).at
    no_execute = [t for t in node_taints if t.effect == "NoExecute"]
    matches = [(t, _first_match(p, t)) for t in no_execute]
    if any(m is None for _, m in matches):
        assert decided == now  # some NoExecute taint is not tolerated at all
        return
    finite = [
        _start(p, t, now) + dt.timedelta(seconds=max(m.toleration_seconds, 0))
        for t, m in matches
        if m is not None and m.toleration_seconds is not None
    ]
    if not finite:
        assert decided is None  # every taint is tolerated forever
        return
    assert decided is not None
    assert decided in finite  # a real deadline...
    assert all(decided <= deadline for deadline in finite)  # ...and the earliest one


@given(pods(), st.lists(taints, max_size=4), times)
def test_tolerating_pod_never_leaves_before_its_shortest_toleration(
    p: Pod, node_taints: list[Taint], now: dt.datetime
) -> None:
    no_execute = [t for t in node_taints if t.effect == "NoExecute"]
    if not all(_first_match(p, t) for t in no_execute):
        return
    decided = eviction(p, node_taints, now=now).at
    if decided is None:
        return
    earliest_taint = min(t.time_added or now for t in no_execute)
    shortest = min(
        max(t.toleration_seconds, 0) for t in p.spec.tolerations if t.toleration_seconds is not None
    )
    assert decided >= earliest_taint + dt.timedelta(seconds=shortest)


@given(st.lists(taints, max_size=4), times)
def test_tolerate_everything_forever_never_evicts(
    node_taints: list[Taint], now: dt.datetime
) -> None:
    p = pod(tolerations=[Toleration(operator="Exists")])
    assert eviction(p, node_taints, now=now).at is None


# -- node health ---------------------------------------------------------------------------


conditions = st.builds(
    NodeCondition,
    type=st.sampled_from(CONDITION_TYPES),
    status=st.sampled_from(STATUSES),
    last_heartbeat_time=optional_times,
    last_transition_time=optional_times,
)


@st.composite
def nodes(draw: st.DrawFn) -> Node:
    unique = draw(st.lists(conditions, max_size=5, unique_by=lambda c: c.type))
    return node(
        created=draw(optional_times),
        conditions=unique,
        taints=draw(st.lists(taints, max_size=3, unique_by=lambda t: (t.key, t.effect))),
        unschedulable=draw(st.booleans()),
    )


leases = st.none() | st.builds(lambda t: lease(renewed=t), optional_times)


@given(nodes(), leases, times)
def test_node_health_is_idempotent(n: Node, lse: Lease | None, now: dt.datetime) -> None:
    health = node_health(n, lse, now=now)
    if health.status is not None:
        n = attrs.evolve(n, status=health.status)
    again = node_health(n, lse, now=now)
    assert again.status is None
    assert again.recheck_at == health.recheck_at


@given(nodes(), leases, times, seconds)
def test_node_health_is_monotone_in_time(
    n: Node, lse: Lease | None, now: dt.datetime, later: float
) -> None:
    first = node_health(n, lse, now=now)
    second = node_health(n, lse, now=now + dt.timedelta(seconds=later))
    if first.status is not None:
        assert second.status is not None
        assert [(c.type, c.status) for c in first.status.conditions] == [
            (c.type, c.status) for c in second.status.conditions
        ]
    elif first.recheck_at is None:
        assert second.status is None  # nothing left that time could change
    if first.recheck_at is not None:
        assert first.recheck_at >= now
        assert (second.status is not None) == (now + dt.timedelta(seconds=later) > first.recheck_at)


@given(nodes(), times)
def test_desired_taints_are_idempotent(n: Node, now: dt.datetime) -> None:
    taints = desired_taints(n, now=now)
    if taints is not None:
        n = attrs.evolve(n, spec=attrs.evolve(n.spec, taints=taints))
    assert desired_taints(n, now=now) is None
    assert desired_taints(n, now=now + dt.timedelta(seconds=100)) is None
