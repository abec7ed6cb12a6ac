"""Kubernetes' adaptive ``percentageOfNodesToScore`` sampling in :func:`schedule`."""

from __future__ import annotations

import attrs
import pytest

from controllers.api.core import NodeCondition
from controllers.scheduler import node_changed, schedule
from controllers.scheduler.plan import feasible_to_find
from tests.controllers.scheduler.builders import node, pod


@pytest.mark.parametrize(
    ("nodes", "found"),
    [(1, 1), (99, 99), (100, 100), (200, 100), (250, 120), (1_000, 420), (5_000, 500)],
)
def test_feasible_to_find_is_kube_schedulers(nodes: int, found: int) -> None:
    """``max(100, n * max(5, 50 - n // 125) // 100)`` from 100 nodes on, every node below."""
    assert found == feasible_to_find(nodes)


def test_small_clusters_score_every_node() -> None:
    """Below 100 nodes every node is filtered and scored, whatever ``start`` is."""
    nodes = [node(f"n{i:02d}") for i in range(99)]
    decisions = [schedule(pod("p", cpu="1"), nodes, {}, start=s) for s in (0, 50)]
    assert [99, 99] == [len(d.trace) for d in decisions]
    assert decisions[0] == decisions[1]


def test_large_clusters_stop_after_enough_feasible_nodes_and_rotate() -> None:
    """On 250 nodes a cycle stops at 120 feasible nodes; the next starts where it stopped."""
    nodes = [node(f"n{i:03d}") for i in range(250)]
    first = schedule(pod("p", cpu="1"), nodes, {}, start=0)
    second = schedule(pod("p", cpu="1"), nodes, {}, start=first.next_start)
    assert (120, 120, 240) == (len(first.trace), first.next_start, second.next_start)
    assert ("n000", "n120") == (first.trace[0].node, second.trace[0].node)
    assert (first.node, second.node) == ("n000", "n120")


def test_rejected_nodes_count_towards_the_next_start() -> None:
    """Every node looked at, feasible or not, moves the start (kube-scheduler's processedNodes)."""
    nodes = [node(f"n{i:03d}", cpu="1" if i % 2 else "4") for i in range(250)]
    decision = schedule(pod("p", cpu="2"), nodes, {}, start=240)
    feasible = [t for t in decision.trace if t.feasible]
    assert (120, 239, (240 + 239) % 250) == (
        len(feasible),
        len(decision.trace),
        decision.next_start,
    )


def test_nothing_fits_filters_every_node() -> None:
    """When no node fits, the message and the trace cover every node, and the start stays."""
    nodes = [node(f"n{i:03d}", cpu="1") for i in range(300)]
    decision = schedule(pod("p", cpu="2"), nodes, {}, start=7)
    assert (None, 300, 7) == (decision.node, len(decision.trace), decision.next_start)
    assert "0/300 nodes are available: 300 Insufficient cpu." == decision.message


def test_heartbeats_do_not_requeue_pending_pods() -> None:
    """Only node changes the filters and scores read requeue unschedulable pods."""
    before = node("a")
    ready = (NodeCondition(type="Ready", status="True"),)
    beat = attrs.evolve(before, status=attrs.evolve(before.status, conditions=ready))
    cordoned = attrs.evolve(before, spec=attrs.evolve(before.spec, unschedulable=True))
    assert (False, True, True, True) == (
        node_changed(before, beat),
        node_changed(before, cordoned),
        node_changed(None, before),
        node_changed(before, None),
    )
