"""
One simulated node's agent: its registration, its container runtime and its faults.

A :class:`NodeAgent` is what a kubelet plus its container runtime hold in
memory on a real node. :class:`Fleet` holds the agents of every simulated
node; the kubelet controllers (:mod:`controllers.kubelet.reconciler`,
:mod:`controllers.kubelet.heartbeat`) act for whichever agent a pod or node
belongs to. All state here is node-local: the API only learns of it through
what the controllers write.

Faults are plain method calls that the controllers see at their next look:
:meth:`NodeAgent.stop` (the kubelet process stops: no heartbeats, no status,
but containers keep running), :meth:`NodeAgent.cut_off` (the node loses the
network: the same, seen from the API), :meth:`NodeAgent.crash_container`,
:meth:`NodeAgent.fail_probe`.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from controllers.api.common import ResourceList
from controllers.api.core import NodeStatus, Taint
from controllers.api.pod import Pod
from controllers.kubelet.runtime import Override, PodRuntime, Timings
from controllers.kubelet.script import ProbeKind, Window
from reconcile import FrozenDict, Lease, ObjectKey

__all__ = ["DEFAULT_CAPACITY", "Fleet", "NodeAgent", "NodeConfig"]

DEFAULT_CAPACITY: ResourceList = FrozenDict(
    {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
)
"""What a simulated node offers unless told otherwise (also its allocatable)."""


@attrs.frozen(kw_only=True)
class NodeConfig:
    """How a node registers itself (the kubelet's ``--node-labels``, ``--register-with-taints``)."""

    name: str
    labels: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=FrozenDict)
    taints: tuple[Taint, ...] = ()
    capacity: ResourceList = attrs.field(
        factory=lambda: FrozenDict(DEFAULT_CAPACITY), converter=FrozenDict
    )
    unschedulable: bool = False


class NodeAgent:
    """The kubelet and container runtime of one simulated node (see the module docstring)."""

    def __init__(self, config: NodeConfig, *, index: int, timings: Timings) -> None:
        self.config = config
        self.index = index
        self.timings = timings
        self.running = True
        self.connected = True
        self.pods: dict[ObjectKey, PodRuntime] = {}
        self.static_pods: dict[str, Pod] = {}
        self.mirrors: set[ObjectKey] = set()
        self.reported: NodeStatus | None = None  # the node status last written or confirmed
        self.lease: Lease | None = None  # the heartbeat Lease last read or written
        self._next_ip = 0

    @property
    def name(self) -> str:
        """The node's name."""
        return self.config.name

    @property
    def reporting(self) -> bool:
        """Whether the kubelet runs and reaches the API (heartbeats and status flow)."""
        return self.running and self.connected

    @property
    def address(self) -> str:
        """The node's ``InternalIP``: 192.168.x.y, unique per node index."""
        return f"192.168.{self.index // 250}.{self.index % 250 + 1}"

    @property
    def pod_cidr(self) -> str:
        """The node's pod network, ``10.x.y.0/24``, unique per node index."""
        return f"10.{244 + self.index // 256}.{self.index % 256}.0/24"

    def allocate_ip(self) -> str:
        """The next pod IP of this node (cycling through .2 to .254 of its pod network)."""
        prefix = self.pod_cidr.rsplit(".", 1)[0]
        ip = f"{prefix}.{self._next_ip % 253 + 2}"
        self._next_ip += 1
        return ip

    # -- faults ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the kubelet process: no heartbeats and no status; containers keep running."""
        self.running = False

    def start(self) -> None:
        """Start the kubelet again (it catches up with what its containers did)."""
        self.running = True

    def cut_off(self) -> None:
        """Cut the node off the network: the API hears nothing from it."""
        self.connected = False

    def reconnect(self) -> None:
        """Give the node its network back."""
        self.connected = True

    def crash_container(self, pod: ObjectKey, container: str, *, code: int, now: float) -> bool:
        """
        Make a running container exit with ``code`` at ``now``.

        Returns whether such a container was running.
        """
        rt = self.pods.get(pod)
        run = None if rt is None else rt.containers.get(container)
        if rt is None or run is None or run.state != "running":
            return False
        crashed = attrs.evolve(run, exit_at=now, exit_code=code)
        self.pods[pod] = rt.with_run(crashed)
        return True

    def fail_probe(
        self,
        pod: ObjectKey,
        container: str,
        kind: ProbeKind,
        *,
        start: float,
        end: float | None,
        ok: bool = False,
    ) -> bool:
        """
        Make ``kind`` probes of a container fail (``ok=True``: pass) from ``start`` to ``end``.

        Like toggling a health endpoint; ``end=None`` lasts until the
        container restarts. Returns whether the container exists.
        """
        rt = self.pods.get(pod)
        run = None if rt is None else rt.containers.get(container)
        if rt is None or run is None:
            return False
        override = Override(kind=kind, window=Window(start, end), ok=ok)
        updated = attrs.evolve(run, overrides=(*run.overrides, override))
        state = run.probe(kind)
        # The startup probe runs until the container has started, the others after.
        active = run.state == "running" and (kind == "startup") != run.started
        if active and (state.next_at is None or state.next_at > start):
            # A probe that stopped ticking (its outcome was steady) must look again.
            updated = updated.with_probe(kind, attrs.evolve(state, next_at=start))
        self.pods[pod] = rt.with_run(updated)
        return True


class Fleet:
    """The agents of every simulated node, by node name."""

    def __init__(self, *, timings: Timings | None = None) -> None:
        self.timings = timings or Timings()
        self._agents: dict[str, NodeAgent] = {}
        self._count = 0

    def add(self, config: NodeConfig) -> NodeAgent:
        """Start the agent of a new node (its controllers register the Node object)."""
        if config.name in self._agents:
            raise ValueError(f"node {config.name!r} already has an agent")
        agent = NodeAgent(config, index=self._count, timings=self.timings)
        self._count += 1
        self._agents[config.name] = agent
        return agent

    def remove(self, name: str) -> NodeAgent | None:
        """Forget a node's agent (the machine is gone); returns it, or ``None``."""
        return self._agents.pop(name, None)

    def get(self, name: str) -> NodeAgent | None:
        """The agent of node ``name``, or ``None``."""
        return self._agents.get(name)

    def __getitem__(self, name: str) -> NodeAgent:
        return self._agents[name]

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def __iter__(self) -> Iterator[NodeAgent]:
        return iter(list(self._agents.values()))

    def __len__(self) -> int:
        return len(self._agents)
