"""
The scheduler's scores: each gives every feasible node 0-100, higher is better.

Pure; no I/O. A score is ``(pod, feasible node names, snapshot) -> {node: 0..100}``
because most scores are normalised over the feasible nodes, as Kubernetes'
``NormalizeScore`` does; a node left out scores 0 (a score that has nothing to
say for the pod returns ``{}``). :data:`SCORES` lists them with Kubernetes' default
weights. ``OwnerSpread`` stands in for Kubernetes' default (system) topology
spreading: fewer pods of the same controller owner on a node is better.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from controllers.api.pod import Pod
from controllers.api.scheduling import PodAffinityTerm
from controllers.scheduler.snapshot import (
    NodeInfo,
    Snapshot,
    matches_term,
    memo_key,
    nonzero_requests,
    term_matches_pod,
    tolerates,
)
from reconcile import controller_of

__all__ = ["SCORES", "Score", "node_least_allocated"]

Score = Callable[[Pod, Sequence[str], Snapshot], dict[str, int]]


def _scaled(raw: Mapping[str, int], *, reverse: bool = False) -> dict[str, int]:
    """Scale non-negative raw scores to 0-100 by the largest (reversed: fewer is better)."""
    top = max(raw.values(), default=0)
    if top == 0:
        return dict.fromkeys(raw, 100 if reverse else 0)
    if reverse:
        return {n: 100 * (top - r) // top for n, r in raw.items()}
    return {n: 100 * r // top for n, r in raw.items()}


def node_affinity(pod: Pod, nodes: Sequence[str], snapshot: Snapshot) -> dict[str, int]:
    """The summed weights of the preferred node affinity terms each node matches."""
    affinity = pod.spec.affinity
    node_affinity = affinity.node_affinity if affinity else None
    preferred = (
        node_affinity.preferred_during_scheduling_ignored_during_execution if node_affinity else ()
    )
    if not preferred:
        return {}  # every node scores 0
    raw = {
        n: sum(p.weight for p in preferred if matches_term(p.preference, snapshot.nodes[n]))
        for n in nodes
    }
    return _scaled(raw)


def taint_toleration(pod: Pod, nodes: Sequence[str], snapshot: Snapshot) -> dict[str, int]:
    """Fewer untolerated ``PreferNoSchedule`` taints is better."""
    tolerations = [t for t in pod.spec.tolerations if t.effect in ("", "PreferNoSchedule")]
    infos = snapshot.infos
    tainted = snapshot.tainted.intersection(nodes) if snapshot.tainted else ()
    if not tainted:
        return dict.fromkeys(nodes, 100)  # what every node's raw 0 scales to
    raw = dict.fromkeys(nodes, 0)
    for n in tainted:
        taints = infos[n].node.spec.taints
        if taints:
            raw[n] = sum(
                1
                for taint in taints
                if taint.effect == "PreferNoSchedule"
                and not any(tolerates(t, taint) for t in tolerations)
            )
    return _scaled(raw, reverse=True)


def inter_pod_affinity(pod: Pod, nodes: Sequence[str], snapshot: Snapshot) -> dict[str, int]:
    """Preferred pod affinity adds, anti-affinity subtracts, per matching pod in the domain."""
    affinity = pod.spec.affinity
    weighted: list[tuple[PodAffinityTerm, int]] = []
    signed = ((affinity.pod_affinity, 1), (affinity.pod_anti_affinity, -1)) if affinity else ()
    for rules, sign in signed:
        preferred = rules.preferred_during_scheduling_ignored_during_execution if rules else ()
        weighted.extend((w.pod_affinity_term, sign * w.weight) for w in preferred)
    if not weighted:
        return {}  # every node scores 0
    raw = dict.fromkeys(nodes, 0)
    for term, weight in weighted:
        counts = snapshot.domain_counts(
            term.topology_key,
            ((n, p) for n, p in snapshot.placed() if term_matches_pod(term, pod, p)),
        )
        for n in nodes:
            domain = snapshot.label(n, term.topology_key)
            if domain is not None:
                raw[n] += weight * counts.get(domain, 0)
    low, high = min(raw.values(), default=0), max(raw.values(), default=0)
    if high == low:
        return {}  # every node scores 0
    return {n: 100 * (r - low) // (high - low) for n, r in raw.items()}


def topology_spread(pod: Pod, nodes: Sequence[str], snapshot: Snapshot) -> dict[str, int]:
    """``ScheduleAnyway`` constraints: fewer matching pods in the node's domain is better."""
    soft = [
        c for c in pod.spec.topology_spread_constraints if c.when_unsatisfiable == "ScheduleAnyway"
    ]
    if not soft:
        return dict.fromkeys(nodes, 100)
    raw = dict.fromkeys(nodes, 0)
    for constraint in soft:
        selector = constraint.label_selector
        counts = snapshot.domain_counts(
            constraint.topology_key,
            (
                (n, p)
                for n, p in snapshot.placed()
                if selector is not None
                and p.metadata.namespace == pod.metadata.namespace
                and selector.matches(p.metadata.labels)
            ),
        )
        for n in nodes:
            domain = snapshot.label(n, constraint.topology_key)
            raw[n] += counts.get(domain, 0) if domain is not None else 0
    return _scaled(raw, reverse=True)


def least_allocated(pod: Pod, nodes: Sequence[str], snapshot: Snapshot) -> dict[str, int]:
    """The mean share of cpu and memory left free after placing the pod."""
    cpu, memory = nonzero_requests(pod)
    infos = snapshot.infos
    key = memo_key(("LeastAllocated", cpu, memory))  # remembered per (immutable) NodeInfo
    found = [infos[n].memo.get(key) for n in nodes]
    missing = found.count(None)
    at = -1
    for _ in range(missing):  # few: only nodes that changed since the last pod like this
        at = found.index(None, at + 1)
        info = infos[nodes[at]]
        found[at] = info.memo[key] = node_least_allocated(info, cpu, memory)
    return cast("dict[str, int]", dict(zip(nodes, found, strict=True)))


def node_least_allocated(info: NodeInfo, cpu: int, memory: int) -> int:
    """One node's :func:`least_allocated` score for a pod requesting ``cpu`` and ``memory``."""
    free = info.allocatable
    used_cpu, used_memory = info.nonzero
    capacity, want = free.get("cpu", 0), cpu + used_cpu
    parts = 100 * (capacity - want) // capacity if 0 < want <= capacity else 0
    capacity, want = free.get("memory", 0), memory + used_memory
    parts += 100 * (capacity - want) // capacity if 0 < want <= capacity else 0
    return parts // 2


def owner_spread(pod: Pod, nodes: Sequence[str], snapshot: Snapshot) -> dict[str, int]:
    """Fewer pods of the same controller owner (same namespace) on the node is better."""
    owner = controller_of(pod.metadata)
    if owner is None:
        return {}  # every node scores 0
    key = (pod.metadata.namespace, owner.uid)
    infos = snapshot.infos
    return _scaled({n: infos[n].owners.get(key, 0) for n in nodes}, reverse=True)


SCORES: tuple[tuple[str, int, Score], ...] = (
    ("NodeAffinity", 2, node_affinity),
    ("TaintToleration", 3, taint_toleration),
    ("InterPodAffinity", 2, inter_pod_affinity),
    ("PodTopologySpread", 2, topology_spread),
    ("NodeResourcesFit", 1, least_allocated),
    ("OwnerSpread", 2, owner_spread),
)
"""Scores by plugin name with their weights (Kubernetes' defaults where it has the plugin)."""
