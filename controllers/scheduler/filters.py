"""
The scheduler's filters: each says why a node cannot take the pod, or nothing.

Pure; no I/O. Each filter is a function ``(pod, node, snapshot) -> reasons``
returning Kubernetes' own reason strings (an empty tuple means the node
passes); :data:`FILTERS` lists them in the order Kubernetes runs them, and a
node is rejected by the first filter that objects. Only ``NodeResourcesFit``
can give several reasons at once (``Insufficient cpu`` and ``Insufficient memory``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from controllers.api.pod import Pod
from controllers.api.scheduling import PodAffinityTerm, Taint, TopologySpreadConstraint
from controllers.scheduler.snapshot import (
    Snapshot,
    matches_node_selector,
    requests,
    term_matches_pod,
    tolerates,
)

__all__ = [
    "FILTERS",
    "REASON_AFFINITY",
    "REASON_ANTI_AFFINITY",
    "REASON_EXISTING_ANTI_AFFINITY",
    "REASON_NODE_NAME",
    "REASON_SELECTOR",
    "REASON_SPREAD",
    "REASON_SPREAD_LABEL",
    "REASON_TOO_MANY_PODS",
    "REASON_UNSCHEDULABLE",
    "Filter",
    "hard_spread_constraints",
]

Filter = Callable[[Pod, str, Snapshot], tuple[str, ...]]

REASON_NODE_NAME = "node(s) didn't match the requested node name"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_SELECTOR = "node(s) didn't match Pod's node affinity/selector"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
REASON_SPREAD = "node(s) didn't match pod topology spread constraints"
REASON_SPREAD_LABEL = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)

_UNSCHEDULABLE_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


def node_name(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """``spec.nodeName``, when set, admits only that node."""
    return (REASON_NODE_NAME,) if pod.spec.node_name not in ("", node) else ()


def node_unschedulable(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """A cordoned node takes only pods tolerating ``node.kubernetes.io/unschedulable``."""
    if not snapshot.infos[node].node.spec.unschedulable:
        return ()
    if any(tolerates(t, _UNSCHEDULABLE_TAINT) for t in pod.spec.tolerations):
        return ()
    return (REASON_UNSCHEDULABLE,)


def node_affinity(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """``spec.nodeSelector`` and required node affinity."""
    return () if matches_node_selector(pod, snapshot.nodes[node]) else (REASON_SELECTOR,)


def taint_toleration(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """The first ``NoSchedule``/``NoExecute`` taint no toleration tolerates."""
    taints = snapshot.infos[node].node.spec.taints
    if not taints:
        return ()
    for taint in taints:
        if taint.effect not in ("NoSchedule", "NoExecute"):
            continue
        if not any(tolerates(t, taint) for t in pod.spec.tolerations):
            return (f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}",)
    return ()


def resources_fit(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """Requests against allocatable minus what the node's pods already request; pod count."""
    info = snapshot.infos[node]
    left = info.left
    wanted = _SORTED_REQUESTS.get(id(pod))
    if wanted is None or wanted[0] is not pod:
        wanted = _sorted_requests(pod)
    reasons = [REASON_TOO_MANY_PODS] if info.room < 1 else []
    for name, amount in wanted[1]:
        if amount > left.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return tuple(reasons) if reasons else ()


_SORTED_REQUESTS: dict[int, tuple[Pod, tuple[tuple[str, int], ...]]] = {}


def _sorted_requests(pod: Pod) -> tuple[Pod, tuple[tuple[str, int], ...]]:
    # The positive requests other than ``pods``, by name (the order of the reasons),
    # remembered for the last pod only: a cycle checks one pod against every node.
    wanted = requests(pod)
    found = (pod, tuple((n, wanted[n]) for n in sorted(wanted) if n != "pods" and wanted[n] > 0))
    _SORTED_REQUESTS.clear()
    _SORTED_REQUESTS[id(pod)] = found
    return found


def _required(pod: Pod, anti: bool) -> Sequence[PodAffinityTerm]:
    affinity = pod.spec.affinity
    rules = (affinity.pod_anti_affinity if anti else affinity.pod_affinity) if affinity else None
    return rules.required_during_scheduling_ignored_during_execution if rules else ()


def _selected(pod: Pod, term: PodAffinityTerm, snapshot: Snapshot) -> list[str]:
    # The nodes of the placed pods the term (of ``pod``) selects; once per cycle and term.
    return [n for n, other in snapshot.placed() if term_matches_pod(term, pod, other)]


def _same_domain(snapshot: Snapshot, key: str, a: str, b: str) -> bool:
    value = snapshot.label(a, key)
    return value is not None and value == snapshot.label(b, key)


def inter_pod_affinity(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """Required pod affinity, pod anti-affinity, and existing pods' anti-affinity (symmetry)."""
    affinity = _required(pod, anti=False)
    if affinity:
        any_match = False
        satisfied = True
        for term in affinity:
            matched = snapshot.derived(
                ("affinity", id(term)), functools.partial(_selected, pod, term, snapshot)
            )
            any_match = any_match or bool(matched)
            if not any(_same_domain(snapshot, term.topology_key, node, n) for n in matched):
                satisfied = False
        # The first pod of a group that selects itself may go anywhere.
        self_match = all(term_matches_pod(t, pod, pod) for t in affinity)
        if not satisfied and (any_match or not self_match):
            return (REASON_AFFINITY,)
    for term in _required(pod, anti=True):
        selected = snapshot.derived(
            ("anti-affinity", id(term)), functools.partial(_selected, pod, term, snapshot)
        )
        if any(_same_domain(snapshot, term.topology_key, node, n) for n in selected):
            return (REASON_ANTI_AFFINITY,)
    for other_node, other, terms in snapshot.anti_affinity:
        for term in terms:
            if term_matches_pod(term, other, pod) and _same_domain(
                snapshot, term.topology_key, node, other_node
            ):
                return (REASON_EXISTING_ANTI_AFFINITY,)
    return ()


def hard_spread_constraints(pod: Pod) -> tuple[TopologySpreadConstraint, ...]:
    """The pod's ``DoNotSchedule`` constraints."""
    return tuple(
        c for c in pod.spec.topology_spread_constraints if c.when_unsatisfiable == "DoNotSchedule"
    )


def spread_counts(
    pod: Pod, constraint: TopologySpreadConstraint, keys: Sequence[str], snapshot: Snapshot
) -> dict[str, int]:
    """
    Matching pods per domain of ``constraint``, over the nodes that count.

    A node counts when it has every key in ``keys`` and passes the pod's node
    selector and required node affinity (``nodeAffinityPolicy: Honor``, the
    default; taints are ignored, ``nodeTaintsPolicy: Ignore``). Every domain of
    such a node appears, with 0 when it has no matching pod.
    """
    counts: dict[str, int] = {}
    selector = constraint.label_selector
    for name, node in snapshot.nodes.items():
        labels = node.metadata.labels
        if any(k not in labels for k in keys) or not matches_node_selector(pod, node):
            continue
        domain = labels[constraint.topology_key]
        matching = sum(
            1
            for other in snapshot.pods[name]
            if selector is not None
            and other.metadata.namespace == pod.metadata.namespace
            and selector.matches(other.metadata.labels)
        )
        counts[domain] = counts.get(domain, 0) + matching
    return counts


def topology_spread(pod: Pod, node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """``DoNotSchedule`` constraints: placing the pod must keep each skew within ``maxSkew``."""
    hard = hard_spread_constraints(pod)
    keys = [c.topology_key for c in hard]
    for constraint in hard:
        domain = snapshot.label(node, constraint.topology_key)
        if domain is None:
            return (REASON_SPREAD_LABEL,)
        counts = snapshot.derived(
            ("spread", id(constraint)),
            functools.partial(spread_counts, pod, constraint, keys, snapshot),
        )
        minimum = min(counts.values(), default=0)
        if constraint.min_domains is not None and len(counts) < constraint.min_domains:
            minimum = 0
        selector = constraint.label_selector
        self_match = int(selector is not None and selector.matches(pod.metadata.labels))
        if counts.get(domain, 0) + self_match - minimum > constraint.max_skew:
            return (REASON_SPREAD,)
    return ()


FILTERS: tuple[tuple[str, Filter], ...] = (
    ("NodeName", node_name),
    ("NodeUnschedulable", node_unschedulable),
    ("NodeAffinity", node_affinity),
    ("TaintToleration", taint_toleration),
    ("NodeResourcesFit", resources_fit),
    ("InterPodAffinity", inter_pod_affinity),
    ("PodTopologySpread", topology_spread),
)
"""Filters by plugin name, in Kubernetes' order."""
