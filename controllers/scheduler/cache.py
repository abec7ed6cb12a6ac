"""
The scheduler's incremental cache: per-node state kept up to date from changes.

Pure; no I/O, no clock. Like kube-scheduler's ``internal/cache``, :class:`Cache`
is told about node and pod changes (:meth:`Cache.set_node`,
:meth:`Cache.set_pod`, ...) and keeps one
:class:`~controllers.scheduler.snapshot.NodeInfo` per node. A cycle asks for
:meth:`Cache.snapshot`, which rebuilds only the ``NodeInfo`` of nodes whose node
object or pods changed since the last snapshot (kube-scheduler's
``UpdateSnapshot`` copies only the generations that moved), so a cycle costs
no work per pod of the cluster.

Pods are keyed by ``(namespace, name)``; a pod is placed on ``spec.nodeName``
(pods without one, and terminal pods, hold nothing). An update that changes
nothing the scheduler reads (status other than a terminal phase) rebuilds
nothing: the ``NodeInfo`` keeps the earlier, equivalent version of the pod. Pods on a node the cache
does not know yet are kept and counted once the node appears.
"""

from __future__ import annotations

from collections.abc import Iterable

from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.scheduler.lanes import Lanes
from controllers.scheduler.snapshot import NodeInfo, Snapshot

__all__ = ["Cache", "PodKey"]

PodKey = tuple[str, str]
"""A pod's (namespace, name)."""


_TERMINAL = frozenset({"Succeeded", "Failed"})


def _same_for_scheduling(old: Pod, new: Pod) -> bool:
    """
    Whether every field a filter or score reads is the same in both versions.

    Those are the spec, the labels, the owner references and whether the
    phase is terminal; an update that changes none of them (a status update
    by the kubelet) leaves the node's :class:`NodeInfo` valid.
    """
    return (
        (old.spec is new.spec or old.spec == new.spec)
        and old.metadata.labels == new.metadata.labels
        and old.metadata.owner_references == new.metadata.owner_references
        and (old.status.phase in _TERMINAL) == (new.status.phase in _TERMINAL)
    )


class Cache:
    """Nodes, the pods placed on each, and the latest :class:`Snapshot` (see the module doc)."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self._nodes: dict[str, Node] = {}
        self._pods: dict[str, dict[PodKey, Pod]] = {}
        self._where: dict[PodKey, str] = {}
        self._infos: dict[str, NodeInfo] = {}
        self._dirty: set[str] = set()
        # Per dirty node, the pods that joined and left since the last snapshot,
        # unless the node must be rebuilt from scratch (``_rebuild``).
        self._joined: dict[str, list[Pod]] = {}
        self._left: dict[str, list[Pod]] = {}
        self._rebuild: set[str] = set()
        self._anti: set[str] = set()  # nodes with pods that have required anti-affinity
        self._tainted: set[str] = set()
        self._names_changed = True
        self._snapshot: Snapshot | None = None
        self._lanes = Lanes()
        for node in nodes:
            self.set_node(node)

    def set_node(self, node: Node) -> None:
        """Add or replace a node."""
        name = node.metadata.name
        if self._nodes.get(name) is node:
            return
        if name not in self._nodes:
            self._names_changed = True
        self._nodes[name] = node
        if node.spec.taints:
            self._tainted.add(name)
        else:
            self._tainted.discard(name)
        self._touch(name)

    def remove_node(self, name: str) -> None:
        """Forget a node (its pods stay, counted again if it comes back)."""
        if self._nodes.pop(name, None) is not None:
            self._names_changed = True
            self._infos.pop(name, None)
            self._anti.discard(name)
            self._dirty.discard(name)
            self._snapshot = None

    def set_pod(self, key: PodKey, pod: Pod | None) -> None:
        """Place ``pod`` (``None``: the pod is gone) on its ``spec.nodeName``, if any."""
        node = pod.spec.node_name if pod is not None else ""
        old = self._where.get(key)
        if pod is not None and old == node:
            placed = self._pods[node]
            if _same_for_scheduling(placed[key], pod):
                # A status update, say: the NodeInfo stays as it is.
                placed[key] = pod
                return
        if old is not None and (old != node or self._pods[old].get(key) is not pod):
            self._left.setdefault(old, []).append(self._pods[old].pop(key))
            del self._where[key]
            self._touch(old, rebuild=False)
        if pod is not None and node and self._where.get(key) is None:
            self._pods.setdefault(node, {})[key] = pod
            self._where[key] = node
            self._joined.setdefault(node, []).append(pod)
            self._touch(node, rebuild=False)

    def pods_on(self, node: str) -> list[Pod]:
        """The pods placed on ``node`` (live or not), in key order."""
        placed = self._pods.get(node, {})
        return [placed[k] for k in sorted(placed)]

    def snapshot(self) -> Snapshot:
        """The cluster as it stands, rebuilding only what changed since the last call."""
        if self._snapshot is not None:
            return self._snapshot
        for name in self._dirty:
            if name in self._nodes:
                known = self._infos.get(name)
                if known is None or name in self._rebuild:
                    info = NodeInfo.of(self._nodes[name], self.pods_on(name))
                else:
                    # Net of what came and went since: a pod may have joined and left
                    # again, and a status update may have replaced the object since.
                    placed = self._pods.get(name, {})
                    joined_now = self._joined.get(name, ())
                    keys = {(p.metadata.namespace, p.metadata.name) for p in joined_now}
                    joined = [placed[k] for k in keys if k in placed]
                    info = known.changed(joined, self._left.get(name, ()))
                self._infos[name] = info
                if info.anti_affinity:
                    self._anti.add(name)
                else:
                    self._anti.discard(name)
        self._lanes.changed(self._dirty)
        self._dirty.clear()
        self._joined.clear()
        self._left.clear()
        self._rebuild.clear()
        if self._names_changed:
            self._infos = {name: self._infos[name] for name in sorted(self._nodes)}
            self._lanes.reset(tuple(self._infos))
            self._names_changed = False
        infos = dict(self._infos)
        self._snapshot = Snapshot.from_infos(
            infos, sorted(self._anti), frozenset(self._tainted), lanes=self._lanes
        )
        return self._snapshot

    def _touch(self, node: str, *, rebuild: bool = True) -> None:
        """Mark ``node`` for the next snapshot: rebuilt from scratch, or adjusted by its pods."""
        self._snapshot = None
        if node in self._nodes:
            self._dirty.add(node)
            if rebuild:
                self._rebuild.add(node)
        else:
            self._joined.pop(node, None)  # counted in full when the node appears
            self._left.pop(node, None)
