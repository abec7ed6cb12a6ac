"""Properties of :func:`schedule` over random small clusters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import reconcile
from controllers.api.core import Node, Pod, Taint, Toleration
from controllers.scheduler import schedule
from controllers.scheduler.cache import Cache
from controllers.scheduler.plan import schedule_snapshot
from tests.controllers.scheduler.builders import node, pod, with_spec

KEYS = ("a", "b")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
CPUS = ("100m", "250m", "500m", "1", "2")
MEMORIES = ("64Mi", "128Mi", "256Mi", "512Mi", "1Gi")


@st.composite
def nodes(draw: st.DrawFn) -> list[Node]:
    count = draw(st.integers(1, 4))
    return [
        node(
            f"n{i}",
            cpu=draw(st.sampled_from(("500m", "1", "2"))),
            memory=draw(st.sampled_from(("256Mi", "1Gi"))),
            pods=draw(st.integers(1, 4)),
            labels=draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(("1", "2")))),
            taints=draw(
                st.lists(
                    st.builds(Taint, key=st.sampled_from(KEYS), effect=st.sampled_from(EFFECTS)),
                    max_size=2,
                )
            ),
            unschedulable=draw(st.booleans()),
        )
        for i in range(count)
    ]


@st.composite
def pods(draw: st.DrawFn, name: str) -> Pod:
    p = pod(name, cpu=draw(st.sampled_from(CPUS)), memory=draw(st.sampled_from(MEMORIES)))
    return with_spec(
        p,
        node_selector=reconcile.FrozenDict(
            draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(("1", "2")), max_size=1))
        ),
        tolerations=tuple(
            draw(
                st.lists(
                    st.builds(
                        Toleration,
                        key=st.sampled_from(KEYS),
                        operator=st.just("Exists"),
                        effect=st.sampled_from(("", *EFFECTS)),
                    ),
                    max_size=2,
                )
            )
        ),
    )


def _millis(text: str) -> int:
    return int(text[:-1]) if text.endswith("m") else int(text) * 1000


def _bytes(text: str) -> int:
    return int(text[:-2]) * (2**20 if text.endswith("Mi") else 2**30)


def _fits(p: Pod, n: Node, on_node: Sequence[Pod]) -> bool:
    """An independent, simple statement of every hard constraint the generators use."""
    labels = n.metadata.labels
    requests = [x.spec.containers[0].requests for x in (*on_node, p)]
    allocatable = n.status.allocatable
    tolerated = all(
        any(t.key == taint.key and t.effect in ("", taint.effect) for t in p.spec.tolerations)
        for taint in n.spec.taints
        if taint.effect != "PreferNoSchedule"
    )
    return (
        tolerated
        and all(labels.get(k) == v for k, v in p.spec.node_selector.items())
        and not n.spec.unschedulable
        and len(on_node) + 1 <= int(str(allocatable["pods"]))
        and sum(_millis(str(r["cpu"])) for r in requests) <= _millis(str(allocatable["cpu"]))
        and sum(_bytes(str(r["memory"])) for r in requests) <= _bytes(str(allocatable["memory"]))
    )


def _bind(
    pending: Sequence[Pod], cluster: Sequence[Node]
) -> list[tuple[Pod, Mapping[str, Sequence[Pod]], str | None]]:
    bound: dict[str, list[Pod]] = {}
    steps: list[tuple[Pod, Mapping[str, Sequence[Pod]], str | None]] = []
    for p in pending:
        snapshot = {k: list(v) for k, v in bound.items()}
        chosen = schedule(p, cluster, snapshot).node
        steps.append((p, snapshot, chosen))
        if chosen is not None:
            bound.setdefault(chosen, []).append(with_spec(p, node_name=chosen))
    return steps


@settings(max_examples=150, deadline=None)
@given(nodes(), st.lists(pods("p"), min_size=1, max_size=6))
def test_chosen_node_satisfies_every_hard_constraint(
    cluster: list[Node], pending: list[Pod]
) -> None:
    """Each chosen node passes the simple predicate, and ``None`` means no node did."""
    by_name = {n.metadata.name: n for n in cluster}
    for p, bound, chosen in _bind(pending, cluster):
        feasible = {name for name, n in by_name.items() if _fits(p, n, bound.get(name, []))}
        assert (chosen is not None, True) == (bool(feasible), chosen is None or chosen in feasible)


@settings(max_examples=150, deadline=None)
@given(nodes(), st.lists(pods("p"), min_size=1, max_size=8))
def test_no_node_over_committed(cluster: list[Node], pending: list[Pod]) -> None:
    """After binding a sequence of pods, no node's requests exceed its allocatable."""
    steps = _bind(pending, cluster)
    final: dict[str, list[Pod]] = {}
    for p, _, chosen in steps:
        if chosen is not None:
            final.setdefault(chosen, []).append(p)
    over = [
        name
        for name, placed in final.items()
        for n in cluster
        if n.metadata.name == name and not _fits(placed[-1], n, placed[:-1])
    ]
    assert [] == over


@settings(max_examples=150, deadline=None)
@given(nodes(), pods("p"), st.lists(pods("q"), max_size=4))
def test_chosen_node_scores_highest_and_is_deterministic(
    cluster: list[Node], p: Pod, earlier: list[Pod]
) -> None:
    """The chosen node outscores every feasible node, and the same input gives the same decision."""
    steps = _bind(earlier, cluster)
    bound: dict[str, list[Pod]] = {}
    for q, _, chosen in steps:
        if chosen is not None:
            bound.setdefault(chosen, []).append(q)
    decision = schedule(p, cluster, bound)
    feasible = [t for t in decision.trace if t.feasible]
    best = max((t.total for t in feasible), default=None)
    chosen_total = next((t.total for t in feasible if t.node == decision.node), None)
    assert (best, decision) == (chosen_total, schedule(p, list(reversed(cluster)), bound))


def _owned(p: Pod, owner: str | None) -> Pod:
    if owner is None:
        return p
    ref = reconcile.OwnerReference(
        api_version="apps/v1",
        kind="ReplicaSet",
        name=owner,
        uid=reconcile.Uid(owner),
        controller=True,
    )
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, owner_references=(ref,)))


@settings(max_examples=200, deadline=None)
@given(
    nodes(),
    st.lists(st.tuples(pods("q"), st.sampled_from((None, "rs-a", "rs-b"))), max_size=6),
    st.sampled_from((None, "rs-a", "rs-b")),
    st.integers(0, 7),
)
def test_decision_without_trace_is_the_decision_with_it(
    cluster: list[Node], earlier: list[tuple[Pod, str | None]], owner: str | None, start: int
) -> None:
    """The traceless cycle's shortcut (scores per node only) picks the node the full one does."""
    bound: dict[str, list[Pod]] = {}
    for plain, q_owner in [*earlier, (pod("p"), owner)]:
        q = _owned(plain, q_owner)
        traced = schedule(q, cluster, bound, start=start)
        fast = schedule(q, cluster, bound, trace=False, start=start)
        assert (fast.node, fast.next_start) == (traced.node, traced.next_start)
        if traced.node is not None:
            bound.setdefault(traced.node, []).append(with_spec(q, node_name=traced.node))


@st.composite
def large_clusters(draw: st.DrawFn) -> list[Node]:
    """
    100 to 140 nodes (so that a cycle samples); either a few of them tainted
    or small, or all of them roomy and untainted (every node fits).
    """
    count = draw(st.integers(100, 140))
    roomy = draw(st.booleans())
    odd = (
        {}
        if roomy
        else draw(st.dictionaries(st.integers(0, count - 1), st.sampled_from(EFFECTS), max_size=30))
    )
    small = set() if roomy else draw(st.sets(st.integers(0, count - 1), max_size=30))
    return [
        node(
            f"n{i:03d}",
            cpu="500m" if i in small else "64" if roomy else "2",
            memory="64Gi" if roomy else "1Gi",
            pods=110 if roomy else 4,
            taints=[Taint(key="a", effect=odd[i])] if i in odd else [],
        )
        for i in range(count)
    ]


@settings(max_examples=40, deadline=None)
@given(
    large_clusters(),
    st.lists(st.tuples(pods("q"), st.sampled_from((None, "rs-a"))), min_size=1, max_size=12),
    st.integers(0, 200),
)
def test_decision_without_trace_is_the_decision_with_it_when_sampling(
    cluster: list[Node], pending: list[tuple[Pod, str | None]], start: int
) -> None:
    """Past 100 nodes only some are looked at: the shortcut looks at and picks the same ones."""
    bound: dict[str, list[Pod]] = {}
    for i, (plain, owner) in enumerate(pending):
        q = _owned(plain, owner)
        traced = schedule(q, cluster, bound, start=start + 37 * i)
        fast = schedule(q, cluster, bound, trace=False, start=start + 37 * i)
        assert (fast.node, fast.next_start) == (traced.node, traced.next_start)
        if traced.node is not None:
            bound.setdefault(traced.node, []).append(with_spec(q, node_name=traced.node))


@settings(max_examples=40, deadline=None)
@given(
    large_clusters(),
    st.lists(st.tuples(pods("q"), st.sampled_from((None, "rs-a"))), min_size=1, max_size=12),
    st.integers(0, 200),
)
def test_cached_cycles_decide_as_the_full_cycle(
    cluster: list[Node], pending: list[tuple[Pod, str | None]], start: int
) -> None:
    """
    Through the scheduler's incremental cache (its lanes updated node by node),
    each pod goes where a full, traced cycle over the same cluster sends it.
    """
    cache = Cache(cluster)
    bound: dict[str, list[Pod]] = {}
    for i, (plain, owner) in enumerate(pending):
        q = attrs.evolve(_owned(plain, owner), metadata=attrs.evolve(plain.metadata, name=f"q{i}"))
        q = _owned(q, owner)
        traced = schedule(q, cluster, bound, start=start + 37 * i)
        cached = schedule_snapshot(q, cache.snapshot(), trace=False, start=start + 37 * i)
        assert (cached.node, cached.next_start) == (traced.node, traced.next_start)
        if traced.node is not None:
            placed = with_spec(q, node_name=traced.node)
            bound.setdefault(traced.node, []).append(placed)
            cache.set_pod(("default", f"q{i}"), placed)
