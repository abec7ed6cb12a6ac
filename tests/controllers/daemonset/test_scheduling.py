"""The scheduler and daemon pods: a pod pinned by ``matchFields`` visits only its node."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.api.core import Pod, Taint
from controllers.daemonset import daemon_pod, pin_to_node
from controllers.scheduler import schedule
from controllers.scheduler.plan import pinned_nodes
from tests.controllers.daemonset.builders import daemonset
from tests.controllers.scheduler.builders import node, pod


def _pinned(name: str, to: str) -> Pod:
    plain = pod(name, cpu="100m")
    return attrs.evolve(plain, spec=pin_to_node(plain.spec, to))


def test_daemon_pods_are_pinned_to_their_node() -> None:
    """A daemon pod's affinity names exactly its node; an ordinary pod's names none."""
    assert frozenset({"n2"}) == pinned_nodes(daemon_pod(daemonset(), "n2", "h"))
    assert pinned_nodes(pod("plain")) is None


def test_pinned_pod_lands_on_its_node() -> None:
    """The scheduler binds a pinned pod to the named node, whatever the others score."""
    nodes = [node(f"n{i}") for i in range(1, 6)]
    decision = schedule(_pinned("p", "n4"), nodes, {}, trace=True)
    assert "n4" == decision.node
    assert ["n1", "n2", "n3", "n5"] == [t.node for t in decision.trace if not t.feasible]


def test_pinned_pod_on_unfit_node_reports_every_node() -> None:
    """When the named node refuses, the message counts it and every node skipped by name."""
    nodes = [node("n1"), node("n2", taints=[Taint(key="x", effect="NoSchedule")]), node("n3")]
    decision = schedule(_pinned("p", "n2"), nodes, {}, trace=False)
    assert decision.node is None
    assert (
        "0/3 nodes are available: 1 node(s) had untolerated taint {x: }, "
        "2 node(s) didn't match Pod's node affinity/selector."
    ) == decision.message


def test_pinned_pod_for_missing_node_is_unschedulable() -> None:
    """A pod pinned to a node that does not exist fits nowhere."""
    decision = schedule(_pinned("p", "gone"), [node("n1"), node("n2")], {}, trace=True)
    assert decision.node is None
    assert "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector." == (
        decision.message
    )


def test_pinned_pods_do_not_move_the_round_robin_start() -> None:
    """Only the nodes a cycle visits advance the next cycle's start."""
    nodes = [node(f"n{i:03d}") for i in range(200)]
    decision = schedule(_pinned("p", "n150"), nodes, {}, trace=False, start=7)
    assert "n150" == decision.node
    assert 8 == decision.next_start


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.data())
def test_pinned_decision_matches_filtering_every_node(count: int, data: st.DataObject) -> None:
    """Visiting only the pinned node decides as the NodeAffinity filter on every node would."""
    tainted = data.draw(st.sets(st.integers(0, count - 1)))
    nodes = [
        node(f"n{i}", taints=[Taint(key="x", effect="NoSchedule")] if i in tainted else [])
        for i in range(count)
    ]
    target = f"n{data.draw(st.integers(0, count))}"  # may be a node that does not exist
    decision = schedule(_pinned("p", target), nodes, {}, trace=True)
    fits = [n.metadata.name for n in nodes if n.metadata.name == target and not n.spec.taints]
    assert (fits[0] if fits else None) == decision.node
    assert sorted(n.metadata.name for n in nodes) == [t.node for t in decision.trace]
