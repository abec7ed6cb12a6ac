"""
The traceless cycle of an ordinary pod: pure.

Most pods (no preferred affinities, no ``ScheduleAnyway`` spreading, filters
that read only the node: see :func:`scored_per_node`) are told apart by
three things only: the filters' verdict and the resource score, both
remembered in each node's :attr:`~controllers.scheduler.snapshot.NodeInfo.memo`
(so they are computed again only for nodes whose pods changed), and the
count of the owner's pods on each node. :func:`choose` reads them, without
building a score table per plugin: from the cache's lanes as list slices
when every node fits (:mod:`controllers.scheduler.lanes`), otherwise in one
pass over the nodes the cycle looks at. It makes the decision the full
cycle of :func:`~controllers.scheduler.plan.schedule_snapshot` makes with
the default weights (property tests compare the two).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

from controllers.api.pod import Pod
from controllers.scheduler.lanes import Lane, LaneKey
from controllers.scheduler.scores import SCORES, node_least_allocated, taint_toleration
from controllers.scheduler.snapshot import NodeInfo, Snapshot, memo_key, nonzero_requests
from reconcile import controller_of

__all__ = ["PASS", "Verdict", "choose", "scored_per_node"]

Verdict = tuple[str, tuple[str, ...]]
"""The filter that rejected a node and its reasons; :data:`PASS` when none did."""
PASS: Verdict = ("", ())

_WEIGHTS = {plugin: weight for plugin, weight, _ in SCORES}


def scored_per_node(pod: Pod) -> bool:
    """
    Whether only resources, ``PreferNoSchedule`` taints and the owner tell nodes apart.

    That is, the pod has no preferred node affinity, no preferred pod
    (anti-)affinity and no ``ScheduleAnyway`` spreading: those scores are the
    same on every node, and :func:`choose` may leave them out.
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


def choose(
    pod: Pod,
    snapshot: Snapshot,
    *,
    verdict_key: int,
    remember: Callable[[str], Verdict],
    first: int,
    wanted: int,
) -> tuple[str, int] | None:
    """
    The node for ``pod`` and how many nodes the cycle looked at, or ``None`` if none fits.

    The nodes are looked at in name order from index ``first``, wrapping
    around, until ``wanted`` passed the filters (``remember(node)`` works out
    a verdict the node's memo lacks); those are scored. Ties go to the
    first name.
    """
    names = snapshot.names
    infos = snapshot.infos
    cpu, memory = nonzero_requests(pod)
    score_key = memo_key(("LeastAllocated", cpu, memory))  # as least_allocated keys it
    owner = controller_of(pod.metadata)
    owner_key = (pod.metadata.namespace, owner.uid) if owner is not None else None
    lanes = snapshot.lanes
    if lanes is not None and not snapshot.tainted and lanes.serves(names, snapshot.version):

        def facts(name: str, info: NodeInfo) -> tuple[bool, int, int]:
            memo = info.memo
            verdict = memo.get(verdict_key) or remember(name)
            score = memo.get(score_key)
            if score is None:
                score = memo[score_key] = node_least_allocated(info, cpu, memory)
            count = info.owners.get(owner_key, 0) if owner_key is not None else 0
            return verdict is PASS or not verdict[1], score, count  # type: ignore[index, return-value]

        lane = lanes.lane((verdict_key, score_key, owner_key), infos, facts)
        if not lane.unfit:  # every node fits: the window is a slice
            return _from_lane(lane, names, first=first, wanted=wanted, owned=owner_key is not None)
    return _by_looking(
        pod,
        snapshot,
        keys=(verdict_key, score_key, owner_key),
        requested=(cpu, memory),
        remember=remember,
        first=first,
        wanted=wanted,
    )


def _by_looking(
    pod: Pod,
    snapshot: Snapshot,
    *,
    keys: LaneKey,
    requested: tuple[int, int],
    remember: Callable[[str], Verdict],
    first: int,
    wanted: int,
) -> tuple[str, int] | None:
    """:func:`choose` by visiting the nodes one by one (some do not fit, or no lanes)."""
    names = snapshot.names
    infos = snapshot.infos
    verdict_key, score_key, owner_key = keys
    cpu, memory = requested
    chosen: list[str] = []
    totals: list[int] = []
    counts: list[int] = []
    looked = 0
    boundary = len(names) - first  # the nodes looked at before the wrap-around
    split = -1  # where in ``chosen`` the wrapped-around (smaller) names begin
    # One plain loop: on this hot path it beats list operations, which would
    # visit every node rather than stop after ``wanted`` fit.
    for name in names[first:] + names[:first]:
        if looked == boundary:
            split = len(chosen)
        looked += 1
        info = infos[name]
        memo = info.memo
        found = memo.get(verdict_key)
        if found is None:
            found = remember(name)
        if found is not PASS and found[1]:  # type: ignore[index]
            continue
        chosen.append(name)
        score = memo.get(score_key)
        if score is None:
            score = memo[score_key] = node_least_allocated(info, cpu, memory)
        totals.append(score)  # type: ignore[arg-type]
        if owner_key is not None:
            counts.append(info.owners.get(owner_key, 0))
        if len(chosen) >= wanted:
            break
    if not chosen:
        return None
    totals = _weighted(totals, counts)
    if snapshot.tainted and not snapshot.tainted.isdisjoint(chosen):
        weight = _WEIGHTS["TaintToleration"]
        tolerated = taint_toleration(pod, chosen, snapshot)
        totals = [t + weight * tolerated[n] for t, n in zip(totals, chosen, strict=True)]
    return chosen[_best(totals, split)], looked


def _from_lane(
    lane: Lane, names: Sequence[str], *, first: int, wanted: int, owned: bool
) -> tuple[str, int]:
    """:func:`choose` when every node fits: the first ``wanted`` from ``first``, as slices."""
    count = len(names)
    looked = min(wanted, count)
    end = first + looked
    wrap = max(0, end - count)  # how many of the window come from the start of the list
    counts = lane.count[first:end] + lane.count[:wrap] if owned else []
    totals = _weighted(lane.score[first:end] + lane.score[:wrap], counts)
    at = _best(totals, looked - wrap if wrap else -1)
    return names[(first + at) % count], looked


def _weighted(scores: list[int], counts: list[int]) -> list[int]:
    """
    The resource scores weighted, plus OwnerSpread normalised over the nodes
    scored (``counts`` of the owner's pods, empty for a pod without an owner).
    """
    weight = _WEIGHTS["NodeResourcesFit"]
    totals = scores if weight == 1 else [weight * t for t in scores]
    top = max(counts, default=0)
    if top:
        weight = _WEIGHTS["OwnerSpread"]
        points = [weight * (100 * (top - c) // top) for c in range(top + 1)]
        totals = list(map(operator.add, totals, map(points.__getitem__, counts)))
    return totals


def _best(totals: list[int], split: int) -> int:
    """
    Where the highest total is; ties go to the first name. ``totals[split:]``
    (when ``split >= 0``) come from past the wrap-around: their names sort first.
    """
    best = max(totals)
    if split >= 0 and best in totals[split:]:
        return totals.index(best, split)
    return totals.index(best)
