"""
Fault injection for :class:`~controllers.cluster.Cluster`, used by tests and lessons.

Each fault acts where it would in a real cluster: on a node's agent (its
kubelet process, its network, one container, one probe) or on the API
server (watches). None of them writes to the API directly; the components
notice, as they would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import reconcile
from controllers.api.core import Pod
from controllers.kubelet import Fleet, Kubelets, ProbeKind
from controllers.kubelet.runtime import seconds

__all__ = ["Faults"]


class Faults:
    """Mixin of :class:`~controllers.cluster.Cluster`: breaking things on purpose."""

    api: reconcile.MemoryCluster
    fleet: Fleet

    @property
    def clock(self) -> reconcile.Clock:
        raise NotImplementedError

    @property
    def kubelets(self) -> Kubelets:
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by Components; a stub here would shadow it

        def component_clock(self, name: str) -> reconcile.SkewedClock: ...

    def stop_kubelet(self, node: str) -> None:
        """Stop a node's kubelet: heartbeats and pod status stop; containers keep running."""
        self.fleet[node].stop()

    def start_kubelet(self, node: str) -> None:
        """Start a node's kubelet again; it reports what happened meanwhile."""
        self.fleet[node].start()
        self.kubelets.poke(node)

    def cut_off(self, node: str) -> None:
        """Cut a node off the network: the API hears nothing from it."""
        self.fleet[node].cut_off()

    def reconnect(self, node: str) -> None:
        """Reconnect a node cut off by :meth:`cut_off`."""
        self.fleet[node].reconnect()
        self.kubelets.poke(node)

    def _locate(self, pod: str, namespace: str, container: str | None) -> tuple[str, str]:
        """The node and container name of a running pod's container (the first by default)."""
        obj = self.api.get_nowait(Pod, pod, namespace=namespace)
        if not obj.spec.node_name or obj.spec.node_name not in self.fleet:
            raise LookupError(f"pod {namespace}/{pod} does not run on a simulated node")
        if container is None:
            container = obj.spec.containers[0].name
        return obj.spec.node_name, container

    def crash_container(
        self, pod: str, container: str | None = None, *, code: int = 1, namespace: str = "default"
    ) -> None:
        """
        Make a running container exit now with ``code`` (it restarts as its policy says).

        Raises:
            LookupError: the pod or container is not running on a simulated node.
        """
        node, name = self._locate(pod, namespace, container)
        key = reconcile.ObjectKey(namespace, pod)
        if not self.fleet[node].crash_container(
            key, name, code=code, now=seconds(self.component_clock("kubelet").now())
        ):
            raise LookupError(f"container {name!r} of pod {namespace}/{pod} is not running")
        self.kubelets.touch(key)

    def fail_probe(
        self,
        pod: str,
        kind: ProbeKind = "readiness",
        *,
        container: str | None = None,
        duration: float | None = None,
        namespace: str = "default",
        ok: bool = False,
    ) -> None:
        """
        Make a container's ``kind`` probe fail from now for ``duration`` seconds
        (``None``: until it restarts), like toggling its health endpoint;
        ``ok=True`` makes it pass instead.
        """
        node, name = self._locate(pod, namespace, container)
        key = reconcile.ObjectKey(namespace, pod)
        now = seconds(self.component_clock("kubelet").now())  # the node's own time
        end = None if duration is None else now + duration
        if not self.fleet[node].fail_probe(key, name, kind, start=now, end=end, ok=ok):
            raise LookupError(f"pod {namespace}/{pod} has no container {name!r} on its node")
        self.kubelets.touch(key)

    def drop_watches(self, kind: type[reconcile.Resource] | None = None) -> None:
        """Expire every watch (of ``kind``, or of all kinds): informers must relist."""
        self.api.compact(kind)
