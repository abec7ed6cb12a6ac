"""
Where a pending pod goes: :func:`schedule` runs every filter, then every score.

Pure; no I/O, no clock. Given the same pod, nodes and bound pods it returns the
same :class:`Decision`: the feasible node with the highest weighted score wins,
and ties go to the node whose name sorts first (Kubernetes picks at random;
determinism matters more here, for tests and lessons). When no node fits, the
decision carries Kubernetes' ``FailedScheduling`` message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.scheduler.filters import FILTERS
from controllers.scheduler.scores import SCORES
from controllers.scheduler.snapshot import Snapshot

__all__ = ["Decision", "NodeTrace", "failure_message", "schedule"]


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


def schedule(
    pod: Pod,
    nodes: Iterable[Node],
    pods_by_node: Mapping[str, Sequence[Pod]],
    *,
    weights: Mapping[str, int] | None = None,
    trace: bool = True,
) -> Decision:
    """
    Pick a node for ``pod``.

    Args:
        pod: the pod to place (its own ``spec.nodeName``, if set, restricts the choice).
        nodes: every node of the cluster.
        pods_by_node: the pods already bound, by node name.
        weights: per score plugin, overriding the defaults in :data:`SCORES` (0 turns one off).
        trace: whether the decision carries the per-node trace; without it,
            ``Decision.trace`` is empty (same node, same message) and the
            cycle builds no :class:`NodeTrace` per node.
    """
    snapshot = Snapshot.of(nodes, pods_by_node)
    traces: dict[str, NodeTrace] = {}
    rejections: list[tuple[str, ...]] = []
    feasible: list[str] = []
    for name in snapshot.nodes:
        for plugin, check in FILTERS:
            reasons = check(pod, name, snapshot)
            if reasons:
                if trace:
                    traces[name] = NodeTrace(name, plugin, reasons)
                rejections.append(reasons)
                break
        else:
            feasible.append(name)
    if not feasible:
        message = failure_message(len(snapshot.nodes), (r for rs in rejections for r in rs))
        if not snapshot.nodes:
            message = "no nodes available to schedule pods"
        return Decision(None, tuple(traces.values()), message)
    per_plugin: list[tuple[str, int, dict[str, int]]] = []
    for plugin, default_weight, score in SCORES:
        weight = (weights or {}).get(plugin, default_weight)
        per_plugin.append((plugin, weight, score(pod, feasible, snapshot) if weight else {}))
    totals: dict[str, int] = {}
    for name in feasible:
        total = sum(weight * result.get(name, 0) for _, weight, result in per_plugin)
        totals[name] = total
        if trace:
            scores = tuple((plugin, result.get(name, 0)) for plugin, _, result in per_plugin)
            traces[name] = NodeTrace(name, scores=scores, total=total)
    best = min(feasible, key=lambda n: (-totals[n], n))
    return Decision(best, tuple(traces[n] for n in snapshot.nodes) if trace else ())
