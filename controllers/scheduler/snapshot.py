"""
What filters and scores read: the cluster as one scheduling cycle sees it, and
the predicates they share (node selector terms, tolerations, pod affinity terms,
pod requests).

Pure; no I/O. Pods in phase ``Succeeded`` or ``Failed`` are left out, as the
Kubernetes scheduler's cache leaves them out: they no longer hold resources.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

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
from reconcile import controller_of

if TYPE_CHECKING:
    from controllers.scheduler.lanes import Lanes

__all__ = [
    "NodeInfo",
    "Snapshot",
    "matches_node_selector",
    "matches_term",
    "memo_key",
    "nonzero_requests",
    "pod_requests",
    "requests",
    "required_anti_affinity",
    "term_matches_pod",
    "tolerates",
]

_V = TypeVar("_V")

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


_DEFAULT_CPU_MILLIS = 100  # Kubernetes scores a pod without requests as if it asked for these
_DEFAULT_MEMORY_BYTES = 200 * 2**20


def requests(pod: Pod) -> dict[str, int]:
    """:func:`pod_requests`, memoised per pod spec (the result must not be mutated)."""
    return _memo(pod.spec, lambda: pod_requests(pod))


def nonzero_requests(pod: Pod) -> tuple[int, int]:
    """(cpu, memory) as scores count them: a missing request counts as Kubernetes' default."""
    r = requests(pod)
    return r.get("cpu") or _DEFAULT_CPU_MILLIS, r.get("memory") or _DEFAULT_MEMORY_BYTES


def required_anti_affinity(pod: Pod) -> tuple[PodAffinityTerm, ...]:
    """The pod's required anti-affinity terms."""
    affinity = pod.spec.affinity
    rules = affinity.pod_anti_affinity if affinity else None
    return tuple(rules.required_during_scheduling_ignored_during_execution) if rules else ()


_KEYS: dict[object, int] = {}
_KEYS_SIZE = 1024
_NUMBERS = itertools.count()


def memo_key(value: object) -> int:
    """
    A number for the hashable ``value``, to key :attr:`NodeInfo.memo` entries.

    Equal values get the same number while remembered, and a number is never
    given to another value: numbers hash and compare far faster than tuples
    of attrs objects, and cycles look up one entry per node.
    """
    found = _KEYS.get(value)
    if found is None:
        if len(_KEYS) >= _KEYS_SIZE:
            _KEYS.clear()  # the forgotten values get new numbers: their entries go unused
        found = _KEYS[value] = next(_NUMBERS)
    return found


@attrs.frozen(eq=False)
class NodeInfo:
    """
    One node and what its live pods add up to, as kube-scheduler's ``NodeInfo``.

    Built once per change of the node or of its pods (see
    :class:`~controllers.scheduler.cache.Cache`), then read by every cycle.
    """

    node: Node
    pods: tuple[Pod, ...]
    allocatable: Mapping[str, int]
    requested: Mapping[str, int]
    """The summed :func:`pod_requests` of ``pods``."""
    nonzero: tuple[int, int]
    """The summed :func:`nonzero_requests` of ``pods``."""
    owners: Mapping[tuple[str, str], int]
    """Pods per (namespace, controller uid)."""
    anti_affinity: tuple[tuple[Pod, tuple[PodAffinityTerm, ...]], ...]
    """Pods with required anti-affinity terms, and those terms."""
    left: Mapping[str, int] = attrs.field(init=False)
    """``allocatable`` minus ``requested``, per resource either has (``pods`` not counted)."""
    room: int = attrs.field(init=False)
    """How many more pods the node takes (``pods`` allocatable minus ``len(pods)``)."""
    memo: dict[object, object] = attrs.field(factory=dict, init=False, repr=False)
    """What cycles derived from this (immutable) node state, by what they derived it for."""

    @left.default
    def _left(self) -> Mapping[str, int]:
        names = set(self.allocatable) | set(self.requested)
        return {n: self.allocatable.get(n, 0) - self.requested.get(n, 0) for n in names}

    @room.default
    def _room(self) -> int:
        return self.allocatable.get("pods", 0) - len(self.pods)

    @classmethod
    def of(cls, node: Node, pods: Iterable[Pod]) -> NodeInfo:
        """Sum up the live (non-terminal) ``pods`` of ``node``."""
        live = tuple(p for p in pods if p.status.phase not in _TERMINAL)
        requested: dict[str, int] = {}
        cpu = memory = 0
        owners: dict[tuple[str, str], int] = {}
        anti = []
        for pod in live:
            for name, amount in requests(pod).items():
                requested[name] = requested.get(name, 0) + amount
            c, m = nonzero_requests(pod)
            cpu, memory = cpu + c, memory + m
            owner = controller_of(pod.metadata)
            if owner is not None:
                key = (pod.metadata.namespace, owner.uid)
                owners[key] = owners.get(key, 0) + 1
            terms = required_anti_affinity(pod)
            if terms:
                anti.append((pod, terms))
        resources = node.status.allocatable
        free = _memo(resources, lambda: allocatable(node))
        return cls(node, live, free, requested, (cpu, memory), owners, tuple(anti))

    def changed(self, added: Sequence[Pod], removed: Sequence[Pod]) -> NodeInfo:
        """
        This node's info once ``removed`` left it and ``added`` joined it.

        What :meth:`of` would build for the new pod set, by adjusting the sums
        instead of adding up every pod again (a binding or a deletion changes
        one pod of many). Pods are told apart by (namespace, name); a pod with
        required anti-affinity on either side makes it build from scratch.
        """
        gone = {(p.metadata.namespace, p.metadata.name) for p in removed}
        staying: list[Pod] = []
        leaving: list[Pod] = []
        for pod in self.pods:
            (leaving if (pod.metadata.namespace, pod.metadata.name) in gone else staying).append(
                pod
            )
        arriving = [p for p in added if p.status.phase not in _TERMINAL]
        if any(required_anti_affinity(p) for p in (*leaving, *arriving)):
            return NodeInfo.of(self.node, sorted((*staying, *arriving), key=_pod_key))
        requested = dict(self.requested)
        cpu, memory = self.nonzero
        owners = dict(self.owners)
        for sign, group in ((-1, leaving), (1, arriving)):
            for pod in group:
                for name, amount in requests(pod).items():
                    requested[name] = requested.get(name, 0) + sign * amount
                c, m = nonzero_requests(pod)
                cpu, memory = cpu + sign * c, memory + sign * m
                owner = controller_of(pod.metadata)
                if owner is not None:
                    key = (pod.metadata.namespace, owner.uid)
                    left = owners.get(key, 0) + sign
                    if left:
                        owners[key] = left
                    else:
                        del owners[key]
        placed = sorted((*staying, *arriving), key=_pod_key) if arriving else staying
        return NodeInfo(
            self.node,
            tuple(placed),
            self.allocatable,
            requested,
            (cpu, memory),
            owners,
            self.anti_affinity,
        )


def _pod_key(pod: Pod) -> tuple[str, str]:
    return pod.metadata.namespace, pod.metadata.name


class _Field(Mapping[str, _V]):
    """A read-only view of one field of every :class:`NodeInfo`, by node name."""

    def __init__(self, snapshot: Snapshot, get: Callable[[NodeInfo], _V]) -> None:
        self._infos = snapshot.infos
        self._names = snapshot.names
        self._get = get

    def __getitem__(self, name: str) -> _V:
        return self._get(self._infos[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@attrs.frozen(eq=False)
class Snapshot:
    """
    The nodes (by name, sorted) and their live pods, as one scheduling cycle sees them.

    ``memo`` holds values a cycle derives once from the snapshot for the pod
    being scheduled (Kubernetes' PreFilter state); :meth:`for_cycle` gives a
    snapshot with an empty one.
    """

    names: tuple[str, ...]
    infos: Mapping[str, NodeInfo]
    anti_affinity: tuple[tuple[str, Pod, tuple[PodAffinityTerm, ...]], ...]
    """(node, pod, its required anti-affinity terms) for every placed pod that has some."""
    tainted: frozenset[str]
    """The nodes with taints."""
    nodes: Mapping[str, Node] = attrs.field(init=False, repr=False)
    pods: Mapping[str, Sequence[Pod]] = attrs.field(init=False, repr=False)
    memo: dict[object, object] = attrs.field(factory=dict, init=False, repr=False)
    lanes: Lanes | None = attrs.field(default=None, kw_only=True, repr=False)
    """The cache's per-class lanes (see :mod:`controllers.scheduler.lanes`), if it keeps them."""
    version: int = attrs.field(default=0, kw_only=True, repr=False)
    """The lanes' log position when this snapshot was taken."""

    @nodes.default
    def _nodes(self) -> Mapping[str, Node]:
        return _Field(self, lambda info: info.node)

    @pods.default
    def _pods(self) -> Mapping[str, Sequence[Pod]]:
        return _Field(self, lambda info: info.pods)

    @classmethod
    def of(cls, nodes: Iterable[Node], pods_by_node: Mapping[str, Iterable[Pod]]) -> Snapshot:
        """Index ``nodes``, keeping only live pods of known nodes."""
        infos = {
            n.metadata.name: NodeInfo.of(n, pods_by_node.get(n.metadata.name, ()))
            for n in sorted(nodes, key=lambda n: n.metadata.name)
        }
        return cls.from_infos(infos)

    @classmethod
    def from_infos(
        cls,
        infos: Mapping[str, NodeInfo],
        anti_nodes: Iterable[str] | None = None,
        tainted: frozenset[str] | None = None,
        *,
        lanes: Lanes | None = None,
    ) -> Snapshot:
        """
        A snapshot of ``infos``, whose keys must be in name order.

        ``anti_nodes`` and ``tainted``, when given, are what :attr:`anti_affinity`
        and :attr:`tainted` are computed from (``anti_nodes`` in name order:
        the nodes with a pod that has required anti-affinity), so that the
        other nodes need not be looked at. ``lanes`` are the cache's, at
        their current version.
        """
        names = infos if anti_nodes is None else anti_nodes
        anti = tuple(
            (name, pod, terms) for name in names for pod, terms in infos[name].anti_affinity
        )
        if tainted is None:
            tainted = frozenset(name for name, info in infos.items() if info.node.spec.taints)
        version = lanes.version if lanes is not None else 0
        return cls(tuple(infos), infos, anti, tainted, lanes=lanes, version=version)

    def for_cycle(self) -> Snapshot:
        """The same snapshot with an empty :attr:`memo`."""
        return Snapshot(
            self.names,
            self.infos,
            self.anti_affinity,
            self.tainted,
            lanes=self.lanes,
            version=self.version,
        )

    def derived(self, key: object, compute: Callable[[], _V]) -> _V:
        """``compute()``, once per cycle for ``key``."""
        memo = self.memo
        if key in memo:
            return memo[key]  # type: ignore[return-value]
        value = memo[key] = compute()
        return value

    def allocatable(self, node: str) -> Mapping[str, int]:
        """:func:`allocatable` of the named node (the result must not be mutated)."""
        return self.infos[node].allocatable

    def requests(self, pod: Pod) -> dict[str, int]:
        """:func:`pod_requests`, memoised per pod spec (the result must not be mutated)."""
        return requests(pod)

    def label(self, node: str, key: str) -> str | None:
        """The node's value for label ``key``, or ``None``."""
        return self.infos[node].node.metadata.labels.get(key)

    def placed(self) -> Iterable[tuple[str, Pod]]:
        """Every (node name, pod) pair."""
        for name, info in self.infos.items():
            for pod in info.pods:
                yield name, pod

    def domain_counts(self, key: str, selected: Iterable[tuple[str, Pod]]) -> dict[str, int]:
        """How many of the ``selected`` placements fall in each value of node label ``key``."""
        counts: dict[str, int] = {}
        for name, _ in selected:
            domain = self.label(name, key)
            if domain is not None:
                counts[domain] = counts.get(domain, 0) + 1
        return counts
