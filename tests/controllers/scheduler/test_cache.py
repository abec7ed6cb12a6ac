"""The incremental :class:`Cache` agrees with a snapshot built from scratch."""

from __future__ import annotations

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st

import reconcile
from controllers.api.core import Node, Pod, Taint
from controllers.scheduler.cache import Cache
from controllers.scheduler.plan import schedule, schedule_snapshot
from controllers.scheduler.snapshot import NodeInfo
from tests.controllers.scheduler.builders import node, pod, with_spec

NAMES = ("a", "b", "c")
OWNER = reconcile.OwnerReference(
    api_version="apps/v1", kind="ReplicaSet", name="rs", uid=reconcile.Uid("u"), controller=True
)


def _placed(name: str, where: str, cpu: str, phase: str, owned: bool) -> Pod:
    p = with_spec(pod(name, cpu=cpu), node_name=where)
    if owned:
        p = attrs.evolve(p, metadata=attrs.evolve(p.metadata, owner_references=(OWNER,)))
    return attrs.evolve(p, status=attrs.evolve(p.status, phase=phase))


_P0 = _placed("p0", "a", "100m", "Running", False)

nodes_st = st.builds(
    lambda name, cpu, tainted: node(
        name, cpu=cpu, taints=[Taint(key="k", effect="PreferNoSchedule")] if tainted else []
    ),
    st.sampled_from(NAMES),
    st.sampled_from(("1", "2")),
    st.booleans(),
)
pods_st = st.builds(
    _placed,
    st.sampled_from(("p0", "p1", "p2", "p3")),
    st.sampled_from(("", *NAMES)),
    st.sampled_from(("100m", "500m")),
    st.sampled_from(("Running", "Succeeded")),
    st.booleans(),
)
changes = st.lists(
    st.one_of(
        st.tuples(st.just("node"), nodes_st),
        st.tuples(st.just("drop-node"), st.sampled_from(NAMES)),
        st.tuples(st.just("pod"), pods_st),
        st.tuples(st.just("drop-pod"), st.sampled_from(("p0", "p1", "p2", "p3"))),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(changes, st.integers(0, 3))
def test_cache_decides_as_a_fresh_snapshot(steps: list[tuple[str, object]], start: int) -> None:
    """After any changes, a cycle over the cache equals one over the nodes and pods as they are."""
    cache = Cache()
    nodes: dict[str, Node] = {}
    pods: dict[str, Pod] = {}
    for op, value in steps:
        if op == "node" and isinstance(value, Node):
            nodes[value.metadata.name] = value
            cache.set_node(value)
        elif op == "drop-node" and isinstance(value, str):
            nodes.pop(value, None)
            cache.remove_node(value)
        elif op == "pod" and isinstance(value, Pod):
            pods[value.metadata.name] = value
            cache.set_pod(("default", value.metadata.name), value)
        elif isinstance(value, str):
            pods.pop(value, None)
            cache.set_pod(("default", value), None)
        by_node: dict[str, list[Pod]] = {}
        for name in sorted(pods):
            if pods[name].spec.node_name:
                by_node.setdefault(pods[name].spec.node_name, []).append(pods[name])
        pending = attrs.evolve(
            pod("new", cpu="600m"),
            metadata=attrs.evolve(pod("new").metadata, owner_references=(OWNER,)),
        )
        expected = schedule(pending, nodes.values(), by_node, start=start)
        assert expected == schedule_snapshot(pending, cache.snapshot(), start=start)


def _sums(info: NodeInfo) -> tuple[object, ...]:
    """What a NodeInfo says, with zero entries dropped (they mean the same as none)."""
    return (
        info.node,
        info.pods,
        {k: v for k, v in info.requested.items() if v},
        info.nonzero,
        {k: v for k, v in info.owners.items() if v},
        info.anti_affinity,
    )


@settings(max_examples=300, deadline=None)
@given(changes, st.lists(st.booleans(), min_size=12, max_size=12))
@example(  # a pod that comes and goes between two snapshots leaves no trace
    [
        ("node", node("a", cpu="2")),
        ("pod", _placed("p0", "a", "100m", "Running", False)),
        ("drop-pod", "p0"),
    ],
    [True, False, True, *[False] * 9],
)
@example(  # the same pod placed, dropped and placed again counts once
    [
        ("node", node("a", cpu="2")),
        ("pod", _P0),
        ("drop-pod", "p0"),
        ("pod", _P0),
    ],
    [True, False, False, True, *[False] * 8],
)
@example(  # a status update after the pod joined replaces the object the cache holds
    [
        ("node", node("a", cpu="2")),
        ("pod", _P0),
        ("pod", attrs.evolve(_P0, status=attrs.evolve(_P0.status, phase="Pending"))),
    ],
    [True, False, True, *[False] * 9],
)
def test_cache_node_infos_equal_infos_built_from_scratch(
    steps: list[tuple[str, object]], snapshots: list[bool]
) -> None:
    """Adjusting a node's sums by the pods that came and went gives what adding them all up does."""
    cache = Cache()
    for (op, value), snapshot_now in zip(steps, snapshots, strict=False):
        if op == "node" and isinstance(value, Node):
            cache.set_node(value)
        elif op == "drop-node" and isinstance(value, str):
            cache.remove_node(value)
        elif op == "pod" and isinstance(value, Pod):
            cache.set_pod(("default", value.metadata.name), value)
        elif isinstance(value, str):
            cache.set_pod(("default", value), None)
        if snapshot_now:  # changes pile up between snapshots, or not
            cache.snapshot()
    snapshot = cache.snapshot()
    for name, info in snapshot.infos.items():
        assert _sums(info) == _sums(NodeInfo.of(info.node, cache.pods_on(name)))
