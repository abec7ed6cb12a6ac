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
from controllers.scheduler.filters import FILTERS, Filter, hard_spread_constraints
from controllers.scheduler.scores import SCORES, node_least_allocated, taint_toleration
from controllers.scheduler.snapshot import Snapshot, memo_key, nonzero_requests, requests
from reconcile import controller_of

__all__ = [
    "Decision",
    "NodeTrace",
    "failure_message",
    "feasible_to_find",
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


def _verdict(
    pod: Pod, node: str, snapshot: Snapshot, filters: Sequence[tuple[str, Filter]]
) -> tuple[str, tuple[str, ...]]:
    """The first filter that rejects the node and its reasons, or ``("", ())``."""
    for plugin, check in filters:
        reasons = check(pod, node, snapshot)
        if reasons:
            return plugin, reasons
    return "", ()


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


def _scored_per_node(pod: Pod) -> bool:
    """
    Whether only resources, ``PreferNoSchedule`` taints and the owner tell nodes apart.

    That is, the pod has no preferred node affinity, no preferred pod
    (anti-)affinity and no ``ScheduleAnyway`` spreading: those scores are the
    same on every node, and :func:`_fast_cycle` may leave them out.
    """
    spec = pod.spec
    affinity = spec.affinity
    if affinity is not None:
        node_affinity = affinity.node_affinity
        if node_affinity and node_affinity.preferred_during_scheduling_ignored_during_execution:
            return False
        for rules in (affinity.pod_affinity, affinity.pod_anti_affinity):
            if rules and rules.preferred_during_scheduling_ignored_during_execution:
                return False
    return all(c.when_unsatisfiable != "ScheduleAnyway" for c in spec.topology_spread_constraints)


def _fast_cycle(
    pod: Pod,
    snapshot: Snapshot,
    filters: Sequence[tuple[str, Filter]],
    verdict_key: int,
    first: int,
) -> Decision | None:
    """
    The traceless cycle of a pod whose filters read only the node and whose
    scores :func:`_scored_per_node` accepts, in one pass over the nodes.

    It makes the decision the full cycle makes with the default weights: the
    filters' verdict and the resource score come from each node's memo, the
    owner's pod count from its :class:`NodeInfo`, and only those (and
    ``PreferNoSchedule`` taints, when a feasible node has any) can differ
    between nodes. ``None`` when no node fits: the full cycle then words
    the message.
    """
    names = snapshot.names
    infos = snapshot.infos
    cpu, memory = nonzero_requests(pod)
    score_key = memo_key(("LeastAllocated", cpu, memory))  # as least_allocated keys it
    owner = controller_of(pod.metadata)
    owner_key = (pod.metadata.namespace, owner.uid) if owner is not None else None
    wanted = feasible_to_find(len(names))
    feasible: list[str] = []
    totals: list[int] = []
    counts: list[int] = []
    looked = 0
    boundary = len(names) - first  # the nodes looked at before the wrap-around
    split = -1  # where in ``feasible`` the wrapped-around (smaller) names begin
    for name in names[first:] + names[:first]:
        if looked == boundary:
            split = len(feasible)
        looked += 1
        info = infos[name]
        memo = info.memo
        found = memo.get(verdict_key)
        if found is None:
            found = _remember(verdict_key, pod, name, snapshot, filters)
        if found[1]:  # type: ignore[index]
            continue
        feasible.append(name)
        score = memo.get(score_key)
        if score is None:
            score = memo[score_key] = node_least_allocated(info, cpu, memory)
        totals.append(score)  # type: ignore[arg-type]
        if owner_key is not None:
            counts.append(info.owners.get(owner_key, 0))
        if len(feasible) >= wanted:
            break
    if not feasible:
        return None
    weights = _DEFAULT_WEIGHTS
    if weights["NodeResourcesFit"] != 1:
        totals = [weights["NodeResourcesFit"] * t for t in totals]
    top = max(counts, default=0)
    if top:  # OwnerSpread, normalised over the feasible nodes
        weight = weights["OwnerSpread"]
        totals = [
            t + weight * (100 * (top - c) // top) for t, c in zip(totals, counts, strict=True)
        ]
    if snapshot.tainted and not snapshot.tainted.isdisjoint(feasible):
        weight = weights["TaintToleration"]
        tolerated = taint_toleration(pod, feasible, snapshot)
        totals = [t + weight * tolerated[n] for t, n in zip(totals, feasible, strict=True)]
    best = max(totals)
    # Ties go to the first name: nodes past the wrap-around sort before the others.
    wrapped = split >= 0 and best in totals[split:]
    at = totals.index(best, split) if wrapped else totals.index(best)
    return Decision(feasible[at], next_start=(first + looked) % len(names))


_DEFAULT_WEIGHTS = {plugin: weight for plugin, weight, _ in SCORES}


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
    if verdict_key is not None and not trace and weights is None and _scored_per_node(pod):
        fast = _fast_cycle(pod, snapshot, filters, verdict_key, first)
        if fast is not None:
            return fast
    for name in names[first:] + names[:first]:
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
    looked = len(feasible) + len(rejections)  # kube-scheduler's processedNodes
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
