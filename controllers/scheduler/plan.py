"""
Where a pending pod goes: :func:`schedule` runs the filters, then every score.

Pure; no I/O, no clock. Given the same pod, nodes, bound pods and ``start`` it
returns the same :class:`Decision`: the feasible node with the highest
weighted score wins, and ties go to the node whose name sorts first
(Kubernetes picks at random; determinism matters more here, for tests and
lessons). When no node fits, the decision carries Kubernetes'
``FailedScheduling`` message.

On 100 nodes or more, a cycle samples as kube-scheduler does with its default
adaptive ``percentageOfNodesToScore`` (``numFeasibleNodesToFind`` and
``nextStartNodeIndex`` in ``pkg/scheduler/schedule_one.go``): filtering starts
at ``start`` and stops after :func:`feasible_to_find` feasible nodes, which
alone are scored; ``Decision.next_start`` carries the round-robin index to the
next cycle. Below 100 nodes every node is filtered and scored.
:func:`schedule_snapshot` is the same over a prepared :class:`Snapshot`, such
as :meth:`~controllers.scheduler.cache.Cache.snapshot` keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.scheduler.fast import PASS, choose, scored_per_node
from controllers.scheduler.filters import (
    FILTERS,
    REASON_SELECTOR,
    Filter,
    hard_spread_constraints,
)
from controllers.scheduler.scores import SCORES
from controllers.scheduler.snapshot import Snapshot, memo_key, requests

__all__ = [
    "Decision",
    "NodeTrace",
    "failure_message",
    "feasible_to_find",
    "pinned_nodes",
    "schedule",
    "schedule_snapshot",
]

_MIN_FEASIBLE = 100  # kube-scheduler's minFeasibleNodesToFind
_MIN_PERCENTAGE = 5  # minFeasibleNodesPercentageToFind
_BASE_PERCENTAGE = 50  # basePercentageOfNodesToScore


@attrs.frozen
class NodeTrace:
    """
    What happened to one node: the filter that rejected it and why, or its scores.

    ``scores`` holds (plugin, 0-100 score) per score plugin, unweighted;
    ``total`` is their weighted sum. Both are empty/zero for a rejected node.
    """

    node: str
    rejected_by: str | None = None
    reasons: tuple[str, ...] = ()
    scores: tuple[tuple[str, int], ...] = ()
    total: int = 0

    @property
    def feasible(self) -> bool:
        """Whether every filter passed."""
        return self.rejected_by is None


@attrs.frozen
class Decision:
    """The chosen node (``None``: nothing fits, see ``message``) and the per-node trace."""

    node: str | None
    trace: tuple[NodeTrace, ...] = ()
    message: str = ""
    next_start: int = attrs.field(default=0, eq=False)
    """Where the next cycle's filtering should start (see :func:`schedule_snapshot`)."""


def failure_message(total: int, reasons: Iterable[str]) -> str:
    """
    Kubernetes' ``FitError`` text: ``0/3 nodes are available: 1 ..., 2 Insufficient cpu.``

    Identical reasons are counted, and the ``"<count> <reason>"`` strings are
    sorted as strings, as Kubernetes sorts them.
    """
    histogram: dict[str, int] = {}
    for reason in reasons:
        histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"0/{total} nodes are available: {', '.join(parts)}."


def feasible_to_find(nodes: int) -> int:
    """
    How many feasible nodes a cycle looks for before it stops filtering.

    kube-scheduler's ``numFeasibleNodesToFind`` with the default (adaptive)
    ``percentageOfNodesToScore``: every node below 100 nodes, else
    ``max(100, nodes * max(5, 50 - nodes // 125) // 100)``.
    """
    if nodes < _MIN_FEASIBLE:
        return nodes
    percentage = max(_MIN_PERCENTAGE, _BASE_PERCENTAGE - nodes // 125)
    return max(_MIN_FEASIBLE, nodes * percentage // 100)


def schedule(
    pod: Pod,
    nodes: Iterable[Node],
    pods_by_node: Mapping[str, Sequence[Pod]],
    *,
    weights: Mapping[str, int] | None = None,
    trace: bool = True,
    start: int = 0,
) -> Decision:
    """
    Pick a node for ``pod``: :func:`schedule_snapshot` over a snapshot of ``nodes``.

    Args:
        pod: the pod to place (its own ``spec.nodeName``, if set, restricts the choice).
        nodes: every node of the cluster.
        pods_by_node: the pods already bound, by node name.
        weights: per score plugin, overriding the defaults in :data:`SCORES` (0 turns one off).
        trace: whether the decision carries the per-node trace; without it,
            ``Decision.trace`` is empty (same node, same message) and the
            cycle builds no :class:`NodeTrace` per node.
        start: where (in node name order) filtering starts; see :func:`schedule_snapshot`.
    """
    snapshot = Snapshot.of(nodes, pods_by_node)
    return schedule_snapshot(pod, snapshot, weights=weights, trace=trace, start=start)


def _filters(pod: Pod, snapshot: Snapshot) -> list[tuple[str, Filter]]:
    """The filters that can reject a node for this pod; the others pass every node."""
    spec = pod.spec
    affinity = spec.affinity
    node_affinity = affinity.node_affinity if affinity else None
    required = (
        node_affinity.required_during_scheduling_ignored_during_execution if node_affinity else None
    )
    pod_terms = affinity is not None and any(
        rules is not None and rules.required_during_scheduling_ignored_during_execution
        for rules in (affinity.pod_affinity, affinity.pod_anti_affinity)
    )
    skip = {
        "NodeName": not spec.node_name,
        "NodeAffinity": not spec.node_selector and required is None,
        "InterPodAffinity": not pod_terms and not snapshot.anti_affinity,
        "PodTopologySpread": not hard_spread_constraints(pod),
    }
    return [(plugin, check) for plugin, check in FILTERS if not skip.get(plugin, False)]


def pinned_nodes(pod: Pod) -> frozenset[str] | None:
    """
    The only nodes ``pod``'s required node affinity can admit by name, or ``None``.

    Every term must name its nodes with ``matchFields`` ``metadata.name In``
    (several such requirements in one term intersect; terms unite), as a
    DaemonSet's pods do: then a cycle filters just those nodes instead of
    the cluster. Kubernetes: the NodeAffinity plugin's ``PreFilter`` result.
    """
    affinity = pod.spec.affinity
    node_affinity = affinity.node_affinity if affinity else None
    required = (
        node_affinity.required_during_scheduling_ignored_during_execution if node_affinity else None
    )
    if required is None or not required.node_selector_terms:
        return None
    union: set[str] = set()
    for term in required.node_selector_terms:
        names: set[str] | None = None
        for field in term.match_fields:
            if field.key == "metadata.name" and field.operator == "In":
                names = set(field.values) if names is None else names & set(field.values)
        if names is None:
            return None
        union |= names
    return frozenset(union)


def _verdict(
    pod: Pod, node: str, snapshot: Snapshot, filters: Sequence[tuple[str, Filter]]
) -> tuple[str, tuple[str, ...]]:
    """The first filter that rejects the node and its reasons, or ``("", ())``."""
    for plugin, check in filters:
        reasons = check(pod, node, snapshot)
        if reasons:
            return plugin, reasons
    return PASS


def _remember(
    key: int, pod: Pod, node: str, snapshot: Snapshot, filters: Sequence[tuple[str, Filter]]
) -> tuple[str, tuple[str, ...]]:
    """:func:`_verdict`, remembered in the node's :attr:`NodeInfo.memo` under ``key``."""
    memo = snapshot.infos[node].memo
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    found = memo[key] = _verdict(pod, node, snapshot, filters)
    return found


_NODE_ONLY = frozenset({"NodeUnschedulable", "TaintToleration", "NodeResourcesFit"})
_MEMO_SIZE = 64


def _verdict_key(pod: Pod, filters: Sequence[tuple[str, Filter]]) -> int | None:
    """
    What the filters' verdict depends on, when they read only the node and its sums.

    Then the verdict is remembered per :class:`NodeInfo` (which is rebuilt
    when its node or pods change) for every pod with the same tolerations and
    requests, as the old Kubernetes equivalence cache did. ``None``: not so.
    """
    if any(plugin not in _NODE_ONLY for plugin, _ in filters):
        return None
    return memo_key(("verdict", pod.spec.tolerations, tuple(sorted(requests(pod).items()))))


def _totals(
    feasible: Sequence[str], per_plugin: Sequence[tuple[str, int, dict[str, int]]]
) -> dict[str, int]:
    """The weighted sum of every plugin's scores, per node (a plugin's missing node counts 0)."""
    offset = 0
    varying: list[tuple[int, dict[str, int]]] = []
    for _, weight, result in per_plugin:
        values = set(result.values())
        if not weight or not values:
            continue
        if len(values) == 1 and len(result) == len(feasible):
            offset += weight * values.pop()  # the same for every node: added once
        else:
            varying.append((weight, result))
    if not varying:
        return dict.fromkeys(feasible, offset)
    if len(varying) == 1 and len(varying[0][1]) == len(feasible):
        weight, result = varying[0]
        return {name: offset + weight * value for name, value in result.items()}
    return {
        name: offset + sum(weight * result.get(name, 0) for weight, result in varying)
        for name in feasible
    }


def _visit_pinned(
    pinned: frozenset[str],
    snapshot: Snapshot,
    traces: dict[str, NodeTrace] | None,
    rejections: list[tuple[str, ...]],
) -> tuple[str, ...]:
    """
    The pinned nodes that exist, in name order: the only ones a cycle visits.

    Every other node is rejected unvisited by NodeAffinity (recorded in
    ``rejections`` and, when tracing, ``traces``): the decision and the
    failure message are those of filtering every node, at the cost of the
    pinned ones only.
    """
    infos = snapshot.infos
    order = tuple(sorted(name for name in pinned if name in infos))
    excluded = len(snapshot.names) - len(order)
    rejections.extend([(REASON_SELECTOR,)] * excluded)
    if traces is not None and excluded:
        for name in snapshot.names:
            if name not in pinned:
                traces[name] = NodeTrace(name, "NodeAffinity", (REASON_SELECTOR,))
    return order


def schedule_snapshot(
    pod: Pod,
    snapshot: Snapshot,
    *,
    weights: Mapping[str, int] | None = None,
    trace: bool = True,
    start: int = 0,
) -> Decision:
    """
    Pick a node for ``pod`` in ``snapshot`` (see :func:`schedule` for the other arguments).

    Filtering visits the nodes in name order, beginning at index ``start``
    (modulo the node count) and wrapping around, and stops once
    :func:`feasible_to_find` nodes passed: Kubernetes' adaptive
    ``percentageOfNodesToScore`` (all nodes below 100; 420 of 1,000; 5% of
    very large clusters, never fewer than 100). Only those nodes are scored.
    ``Decision.next_start`` is where the next cycle should begin, past every
    node this one looked at, as kube-scheduler's ``nextStartNodeIndex`` does, so
    that successive pods see every part of the cluster. When fewer nodes fit,
    every node is filtered: the ``FailedScheduling`` message and the trace
    then cover them all. The trace lists, in name order, the nodes looked at.

    Filters that cannot reject any node for this pod are skipped (no
    ``nodeName``, no node selector or required node affinity, no required pod
    (anti-)affinity on either side, no ``DoNotSchedule`` spreading); as
    Kubernetes' PreFilter ``Skip`` does, this changes no decision.
    """
    snapshot = snapshot.for_cycle()
    names = snapshot.names
    count = len(names)
    wanted = feasible_to_find(count)
    filters = _filters(pod, snapshot)
    traces: dict[str, NodeTrace] = {}
    rejections: list[tuple[str, ...]] = []
    feasible: list[str] = []
    first = start % count if count else 0
    infos = snapshot.infos
    verdict_key = _verdict_key(pod, filters)
    pinned = pinned_nodes(pod)
    if (
        pinned is None
        and verdict_key is not None
        and not trace
        and weights is None
        and scored_per_node(pod)
    ):
        key = verdict_key
        fast = choose(
            pod,
            snapshot,
            verdict_key=key,
            remember=lambda node: _remember(key, pod, node, snapshot, filters),
            first=first,
            wanted=wanted,
        )
        if fast is not None:
            return Decision(fast[0], next_start=(first + fast[1]) % count)
    order = (
        names[first:] + names[:first]
        if pinned is None
        else _visit_pinned(pinned, snapshot, traces if trace else None, rejections)
    )
    for name in order:
        if verdict_key is None:
            plugin, reasons = _verdict(pod, name, snapshot, filters)
        else:
            found = infos[name].memo.get(verdict_key)
            if found is None:
                found = _remember(verdict_key, pod, name, snapshot, filters)
            plugin, reasons = found  # type: ignore[misc]
        if reasons:
            if trace:
                traces[name] = NodeTrace(name, plugin, reasons)
            rejections.append(reasons)
        else:
            feasible.append(name)
            if len(feasible) >= wanted:
                break
    # kube-scheduler's processedNodes: the nodes excluded unvisited do not count.
    looked = len(feasible) + len(rejections) - (count - len(order))
    next_start = (first + looked) % count if count else 0
    if not feasible:
        message = failure_message(count, (r for rs in rejections for r in rs))
        if not count:
            message = "no nodes available to schedule pods"
        return Decision(None, tuple(traces[n] for n in names) if trace else (), message, next_start)
    per_plugin: list[tuple[str, int, dict[str, int]]] = []
    for plugin, default_weight, score in SCORES:
        weight = (weights or {}).get(plugin, default_weight)
        per_plugin.append((plugin, weight, score(pod, feasible, snapshot) if weight else {}))
    totals = _totals(feasible, per_plugin)
    if trace:
        for name in feasible:
            scores = tuple((plugin, result.get(name, 0)) for plugin, _, result in per_plugin)
            traces[name] = NodeTrace(name, scores=scores, total=totals[name])
    top = max(totals.values())
    best = min([n for n, total in totals.items() if total == top])
    shown = tuple(traces[n] for n in names if n in traces) if trace else ()
    return Decision(best, shown, next_start=next_start)
