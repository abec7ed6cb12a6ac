"""
What filters and scores read: the cluster as one scheduling cycle sees it, and
the predicates they share (node selector terms, tolerations, pod affinity terms,
pod requests).

Pure; no I/O. Pods in phase ``Succeeded`` or ``Failed`` are left out, as the
Kubernetes scheduler's cache leaves them out: they no longer hold resources.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.api.scheduling import (
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinityTerm,
    Taint,
    Toleration,
)
from controllers.scheduler.quantity import milli_value, value

__all__ = [
    "Snapshot",
    "matches_node_selector",
    "matches_term",
    "pod_requests",
    "term_matches_pod",
    "tolerates",
]

_TERMINAL = frozenset({"Succeeded", "Failed"})


@functools.lru_cache(maxsize=4096, typed=True)
def _amount(resource: str, quantity: str | int | float) -> int:
    # Cached: the same few quantity strings are parsed for every node and pod of every cycle.
    return milli_value(quantity) if resource == "cpu" else value(quantity)


def pod_requests(pod: Pod) -> dict[str, int]:
    """
    What the pod reserves: cpu in millicores, everything else in whole units.

    As Kubernetes computes it: the larger of the containers' sum and each init
    container (they run one at a time), plus ``spec.overhead``.
    """
    total: dict[str, int] = {}
    for container in pod.spec.containers:
        for name, quantity in container.requests.items():
            total[name] = total.get(name, 0) + _amount(name, quantity)
    for container in pod.spec.init_containers:
        for name, quantity in container.requests.items():
            total[name] = max(total.get(name, 0), _amount(name, quantity))
    for name, quantity in pod.spec.overhead.items():
        total[name] = total.get(name, 0) + _amount(name, quantity)
    return total


def allocatable(node: Node) -> dict[str, int]:
    """The node's allocatable resources in the units of :func:`pod_requests`."""
    return {name: _amount(name, q) for name, q in node.status.allocatable.items()}


def _matches_requirement(req: NodeSelectorRequirement, value_of: Mapping[str, str]) -> bool:
    present = req.key in value_of
    actual = value_of.get(req.key, "")
    match req.operator:
        case "In":
            return present and actual in req.values
        case "NotIn":
            return not present or actual not in req.values
        case "Exists":
            return present
        case "DoesNotExist":
            return not present
        case _:  # Gt, Lt: both sides must be integers
            if not present or len(req.values) != 1:
                return False
            try:
                left, right = int(actual), int(req.values[0])
            except ValueError:
                return False
            return left > right if req.operator == "Gt" else left < right


def matches_term(term: NodeSelectorTerm, node: Node) -> bool:
    """Whether the node matches every requirement of the term (an empty term matches nothing)."""
    if not term.match_expressions and not term.match_fields:
        return False
    labels = node.metadata.labels
    fields = {"metadata.name": node.metadata.name}
    return all(_matches_requirement(r, labels) for r in term.match_expressions) and all(
        r.key in fields and _matches_requirement(r, fields) for r in term.match_fields
    )


def matches_node_selector(pod: Pod, node: Node) -> bool:
    """``spec.nodeSelector`` and required node affinity (terms ORed) both hold."""
    labels = node.metadata.labels
    if any(labels.get(k) != v for k, v in pod.spec.node_selector.items()):
        return False
    affinity = pod.spec.affinity
    node_affinity = affinity.node_affinity if affinity else None
    required = (
        node_affinity.required_during_scheduling_ignored_during_execution if node_affinity else None
    )
    if required is None:
        return True
    return any(matches_term(t, node) for t in required.node_selector_terms)


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    return (
        toleration.operator in ("", "Equal")
        and bool(toleration.key)
        and (toleration.value == taint.value)
    )


def term_matches_pod(term: PodAffinityTerm, owner: Pod, other: Pod) -> bool:
    """
    Whether ``other`` is selected by ``term``, a term of ``owner``.

    ``namespaces`` empty means the owner's namespace; an empty
    ``namespaceSelector`` means every namespace (a non-empty one cannot be
    evaluated without Namespace objects and is ignored). No selector selects nothing.
    """
    if term.label_selector is None:
        return False
    all_namespaces = term.namespace_selector is not None and term.namespace_selector.is_empty
    if not all_namespaces:
        namespaces = term.namespaces or (owner.metadata.namespace,)
        if other.metadata.namespace not in namespaces:
            return False
    return term.label_selector.matches(other.metadata.labels)


_MEMO: dict[int, tuple[object, dict[str, int]]] = {}
_MEMO_SIZE = 1 << 16


def _memo(source: object, compute: Callable[[], dict[str, int]]) -> dict[str, int]:
    """
    ``compute()``, remembered for the immutable ``source`` it derives from, by identity.

    Every cycle reads the requests of every bound pod and the allocatable of
    every node; pods and nodes are immutable, and an object updated elsewhere
    (status, labels) keeps its spec and allocatable objects, so they are
    computed once rather than once per cycle. Entries hold ``source``, so
    its id cannot be reused while remembered; the memo is bounded.
    """
    found = _MEMO.get(id(source))
    if found is not None and found[0] is source:
        return found[1]
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    result = compute()
    _MEMO[id(source)] = (source, result)
    return result


@attrs.frozen
class Snapshot:
    """Nodes by name (sorted) and the non-terminal pods bound to each."""

    nodes: Mapping[str, Node]
    pods: Mapping[str, Sequence[Pod]]
    anti_affinity: tuple[tuple[str, Pod, tuple[PodAffinityTerm, ...]], ...] = attrs.field(
        init=False, eq=False, repr=False
    )
    """(node, pod, its required anti-affinity terms) for every placed pod that has some."""

    def allocatable(self, node: str) -> dict[str, int]:
        """:func:`allocatable` of the named node, memoised (the result must not be mutated)."""
        resources = self.nodes[node].status.allocatable
        return _memo(resources, lambda: allocatable(self.nodes[node]))

    def requests(self, pod: Pod) -> dict[str, int]:
        """:func:`pod_requests`, memoised per pod spec (the result must not be mutated)."""
        return _memo(pod.spec, lambda: pod_requests(pod))

    @anti_affinity.default
    def _anti_affinity(self) -> tuple[tuple[str, Pod, tuple[PodAffinityTerm, ...]], ...]:
        # Computed once per cycle: the InterPodAffinity filter checks it for every node.
        found = []
        for name, pods in self.pods.items():
            for pod in pods:
                affinity = pod.spec.affinity
                rules = affinity.pod_anti_affinity if affinity else None
                terms = rules.required_during_scheduling_ignored_during_execution if rules else ()
                if terms:
                    found.append((name, pod, tuple(terms)))
        return tuple(found)

    @classmethod
    def of(cls, nodes: Iterable[Node], pods_by_node: Mapping[str, Iterable[Pod]]) -> Snapshot:
        """Index ``nodes``, keeping only live pods of known nodes."""
        by_name = {n.metadata.name: n for n in sorted(nodes, key=lambda n: n.metadata.name)}
        pods = {
            name: tuple(p for p in pods_by_node.get(name, ()) if p.status.phase not in _TERMINAL)
            for name in by_name
        }
        return cls(by_name, pods)

    def label(self, node: str, key: str) -> str | None:
        """The node's value for label ``key``, or ``None``."""
        labels = self.nodes[node].metadata.labels
        return labels.get(key)

    def placed(self) -> Iterable[tuple[str, Pod]]:
        """Every (node name, pod) pair."""
        for name, pods in self.pods.items():
            for pod in pods:
                yield name, pod

    def domain_counts(self, key: str, selected: Iterable[tuple[str, Pod]]) -> dict[str, int]:
        """How many of the ``selected`` placements fall in each value of node label ``key``."""
        counts: dict[str, int] = {}
        for name, _ in selected:
            domain = self.label(name, key)
            if domain is not None:
                counts[domain] = counts.get(domain, 0) + 1
        return counts
