"""
:class:`Cluster`: an embedded Kubernetes cluster with simulated nodes, in one object.

It wires a :class:`reconcile.MemoryCluster` (the API server, with
Kubernetes' admission) to three components, each its own
:class:`reconcile.Manager` so that each can be restarted alone, as the real
processes can:

* ``kube-scheduler``: :mod:`controllers.scheduler`;
* ``kube-controller-manager``: the garbage collector, the namespace
  controller, node lifecycle (taint eviction, pod GC), the ReplicaSet,
  Deployment, Job, TTL-after-finished, DaemonSet, CronJob, Endpoints and
  EndpointSlice controllers, and any controllers passed as ``controllers=``;
* ``kubelet``: the simulated kubelets of every node (:mod:`controllers.kubelet`).

Time is virtual unless a ``clock`` is given: the cluster must then be used
inside a :class:`reconcile.VirtualClock`'s loop (:func:`run` makes one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

import reconcile
from controllers import (
    cronjob,
    daemonset,
    deployment,
    endpoints,
    endpointslice,
    gc,
    job,
    kubelet,
    namespace,
    nodelifecycle,
    replicaset,
    scheduler,
    ttlafterfinished,
)
from controllers.api import install_admission
from controllers.api.core import Event, Namespace, Node, Pod, Taint
from controllers.cluster.collector import simulation_collector
from controllers.cluster.components import COMPONENTS, Components
from controllers.cluster.faults import Faults
from controllers.cluster.objects import Objects
from controllers.cluster.services import Services
from controllers.cluster.workloads import Workloads
from controllers.kubelet import Fleet, Kubelets, NodeConfig, Timings

__all__ = ["COMPONENTS", "Cluster", "Connect", "Setup", "run"]

T = TypeVar("T")

Connect = Callable[[str, reconcile.MemoryCluster], reconcile.Client]
"""Makes a component's client: ``connect(component, api)`` (see :class:`Cluster`)."""

Setup = Callable[[reconcile.Manager, "Cluster"], object]
"""Adds controllers to the ``kube-controller-manager``'s manager (the cluster is given too)."""

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def run(
    main: Callable[[], Awaitable[T]] | Awaitable[T], *, clock: reconcile.VirtualClock | None = None
) -> T:
    """
    Run ``main`` (a coroutine, or a function returning one) on a fresh virtual clock.

    While it runs, the cyclic garbage collector runs less often (see
    :func:`~controllers.cluster.collector.simulation_collector`).
    """
    clock = clock or reconcile.VirtualClock()

    async def wrapper() -> T:
        return await (main() if callable(main) else main)

    with simulation_collector():
        return clock.run(wrapper())


def _virtual_clock() -> reconcile.VirtualClock:
    loop = asyncio.get_running_loop()
    clock = getattr(loop, "clock", None)
    if not isinstance(clock, reconcile.VirtualClock):
        raise RuntimeError(
            "Cluster runs in virtual time: start your program with controllers.run(main) "
            "(or reconcile.testing.run), or pass clock=reconcile.SystemClock() for wall-clock time"
        )
    return clock


class Cluster(Objects, Faults, Workloads, Services, Components):
    """
    An embedded cluster: API server, scheduler, controllers and simulated nodes.

    Args:
        nodes: How many nodes to start (named ``node-1``...), or their
            configurations (:class:`~controllers.kubelet.NodeConfig`) or names.
        seed: Seeds every random choice (UIDs, generated names), so that the
            same inputs give the same history.
        clock: Defaults to the running loop's virtual clock.
        timings: Image pull and container start times of the simulated runtime.
        controllers: Extra ``Setup`` functions run for the controller manager
            (each time it starts, also after :meth:`restart_controller`).
        events: Whether components record Events (they cost writes).
        node_monitor_grace: Seconds of silence before a node becomes ``Unknown``.
        history: Watch events the API server retains per kind.
        connect: Makes the client each component talks to the API server
            through, called as ``connect(component, api)`` at every (re)start;
            by default components use the API server directly. Fault
            injection (:class:`reconcile.FaultyClient`) plugs in here.
        leader_election: Run ``kube-controller-manager`` and ``kube-scheduler``
            under leader election with fenced writes, so that standbys can be
            started (see :mod:`controllers.cluster.components`).
    """

    def __init__(
        self,
        *,
        nodes: int | Iterable[NodeConfig | str] = 3,
        seed: int = 0,
        clock: reconcile.Clock | None = None,
        timings: Timings | None = None,
        controllers: Sequence[Setup] = (),
        events: bool = True,
        node_monitor_grace: float = nodelifecycle.NODE_MONITOR_GRACE_PERIOD,
        history: int = 10_000,
        connect: Connect | None = None,
        leader_election: bool = False,
    ) -> None:
        if isinstance(nodes, int):
            configs = [NodeConfig(name=f"node-{i + 1}") for i in range(nodes)]
        else:
            configs = [n if isinstance(n, NodeConfig) else NodeConfig(name=n) for n in nodes]
        self._initial_nodes = configs
        self._given_clock = clock
        self._seed = seed
        self._history = history
        self._setups = tuple(controllers)
        self._events = events
        self._grace = node_monitor_grace
        self.fleet = Fleet(timings=timings)
        self._managers: dict[str, reconcile.Manager] = {}
        self._kubelets: Kubelets | None = None
        self._api: reconcile.MemoryCluster | None = None
        self._connect_with = connect
        self._clients: dict[str, reconcile.Client] = {}
        self._clock: reconcile.Clock | None = None
        self._init_components(leader_election=leader_election)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def api(self) -> reconcile.MemoryCluster:  # type: ignore[override]
        """The API server (a :class:`reconcile.MemoryCluster`); also a full ``reconcile.Client``."""
        if self._api is None:
            raise RuntimeError("the cluster is not running: use `async with Cluster(...)`")
        return self._api

    @property
    def clock(self) -> reconcile.Clock:
        """The cluster's clock (virtual unless one was given)."""
        if self._clock is None:
            raise RuntimeError("the cluster is not running: use `async with Cluster(...)`")
        return self._clock

    @property
    def kubelets(self) -> Kubelets:
        """The kubelet controllers and the node agents."""
        if self._kubelets is None:
            raise RuntimeError("the kubelet component is not running")
        return self._kubelets

    async def __aenter__(self) -> Cluster:
        self._clock = self._given_clock or _virtual_clock()
        api = reconcile.MemoryCluster(clock=self._clock, seed=self._seed, history=self._history)
        install_admission(api.admission)
        api.admission.register(Pod, validator=kubelet.validate_pod_scripts)
        namespace.install_admission(api.admission, _namespaced_kinds(), read=namespace.reader(api))
        self._api = api
        for name in SYSTEM_NAMESPACES:
            await api.create(Namespace(metadata=reconcile.ObjectMeta(name=name)))
        for component in COMPONENTS:
            await self._start(component)
        for config in self._initial_nodes:
            self.kubelets.add_node(config)
        await self.settle()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_standbys()
        for component in reversed(COMPONENTS):
            await self._stop(component)

    async def _start(self, component: str) -> None:
        client = self._connect(component)
        client = self._pausable(component, client)  # a paused process's I/O waits
        manager = self._manager(component, client)  # its own clock; elected if asked for
        recorder = functools.partial(self._recorder, client, manager.clock)
        if self._component_of(component) == "kube-scheduler":
            # The reconciler reads only the decision's node and message: no trace needed.
            scheduler.setup(manager, recorder=recorder("default-scheduler"), trace=False)
        elif component == "kubelet":
            self._kubelets = kubelet.setup(manager, self.fleet, events=self._events)
        else:
            gc.setup(manager, _owned_kinds())
            namespace.setup(manager, _namespaced_kinds())
            nodelifecycle.setup(manager, recorder=recorder("node-controller"), grace=self._grace)
            replicaset.setup(manager, recorder=recorder("replicaset-controller"))
            deployment.setup(manager, recorder=recorder("deployment-controller"))
            job.setup(manager, recorder=recorder("job-controller"))
            ttlafterfinished.setup(manager)
            daemonset.setup(manager, recorder=recorder("daemonset-controller"))
            cronjob.setup(manager, recorder=recorder("cronjob-controller"))
            endpoints.setup(manager, recorder=recorder("endpoint-controller"))
            endpointslice.setup(manager, recorder=recorder("endpoint-slice-controller"))
            for setup in self._setups:
                setup(manager, self)
        await manager.__aenter__()
        self._managers[component] = manager

    async def _stop(self, component: str) -> None:
        self._before_stop(component)
        manager = self._managers.pop(component, None)
        if manager is not None:
            await manager.__aexit__(None, None, None)

    def _connect(self, component: str) -> reconcile.Client:
        """The client a (re)starting component talks to the API server through."""
        self._clients[component] = (
            self.api if self._connect_with is None else self._connect_with(component, self.api)
        )
        return self._clients[component]

    def client(self, component: str) -> reconcile.Client:
        """The client a running component uses (``connect`` decides what it is)."""
        return self._clients[component]

    def _recorder(
        self, client: reconcile.Client, clock: reconcile.Clock, component: str
    ) -> reconcile.EventRecorder | None:
        if not self._events:
            return None
        return reconcile.EventRecorder(client, component=component, clock=clock)

    async def restart_controller(self, component: str) -> None:
        """
        Restart one component (``kube-scheduler``, ``kube-controller-manager``, ``kubelet``).

        Its caches, queues and in-memory state (the scheduler's assumed pods,
        expectations...) are lost and rebuilt from the API, as when the
        process restarts. The kubelet's containers keep running.
        """
        if component not in COMPONENTS:
            raise ValueError(
                f"component: must be one of {', '.join(COMPONENTS)}, got {component!r}"
            )
        await self._stop(component)
        await self._start(component)
        if component == "kubelet":
            for agent in self.fleet:
                self.kubelets.poke(agent.name)

    def managers(self) -> Mapping[str, reconcile.Manager]:
        """The running components' managers, by component (or standby instance) name."""
        return dict(self._managers)

    # -- time --------------------------------------------------------------------------------

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of (virtual) time pass for every component."""
        clock = self.clock
        if isinstance(clock, reconcile.VirtualClock):
            await clock.advance(seconds)
        else:
            await clock.sleep(seconds)

    async def settle(self, *, within: float = 30.0, limit: float = 3600.0) -> float:
        """
        Run until nothing is left to do; returns the simulated seconds it took.

        "Nothing left" means every controller is idle and no controller has
        work scheduled within the next ``within`` seconds; periodic work
        (heartbeats, node health checks, a CronJob's next run) does not count. A crash-looping
        container therefore does not hold ``settle`` beyond its back-off.
        Gives up (returning) after ``limit`` simulated seconds.
        """
        clock = self.clock
        if not isinstance(clock, reconcile.VirtualClock):
            raise RuntimeError("settle() needs virtual time")
        return await reconcile.settle(clock, self._pending, within=within, limit=limit)

    def _pending(self) -> tuple[bool, float | None]:
        """Whether a non-periodic controller is busy, and when its next delayed work is due."""
        # Due times are on each process's own clock: _settling() gives their lags.
        return reconcile.pending_work(self._settling(), periodic=_PERIODIC)

    # -- nodes -------------------------------------------------------------------------------

    async def add_node(
        self,
        name: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        taints: Iterable[Taint] = (),
        capacity: Mapping[str, str] | None = None,
        unschedulable: bool = False,
    ) -> Node:
        """Start a new node (its kubelet registers it) and return its Node once registered."""
        name = name or f"node-{len(self.fleet) + 1}"
        config = NodeConfig(
            name=name,
            labels=labels or {},
            taints=tuple(taints),
            unschedulable=unschedulable,
            **({"capacity": capacity} if capacity else {}),
        )
        self.kubelets.add_node(config)
        await self.settle()
        return self.api.get_nowait(Node, name)

    async def remove_node(self, name: str) -> None:
        """The machine is gone: its agent stops for good and its Node object is deleted."""
        self.fleet.remove(name)
        with contextlib.suppress(reconcile.NotFoundError):
            await self.api.delete(Node, name)

    async def label_node(self, name: str, labels: Mapping[str, str | None]) -> Node:
        """Set (or, with ``None``, remove) labels on a node, like ``kubectl label``."""
        node = self.api.get_nowait(Node, name)
        merged = {k: v for k, v in {**node.metadata.labels, **labels}.items() if v is not None}
        return await self.api.update(node.with_meta(labels=reconcile.FrozenDict(merged)))

    async def taint_node(
        self, name: str, key: str, value: str = "", effect: str = "NoSchedule"
    ) -> Node:
        """Add (or replace) a taint, like ``kubectl taint nodes NAME key=value:effect``."""
        node = self.api.get_nowait(Node, name)
        taint = Taint(key=key, value=value, effect=effect, time_added=self.clock.now())
        kept = tuple(t for t in node.spec.taints if (t.key, t.effect) != (key, effect))
        spec = attrs.evolve(node.spec, taints=(*kept, taint))
        return await self.api.update(attrs.evolve(node, spec=spec))

    async def untaint_node(self, name: str, key: str, effect: str | None = None) -> Node:
        """Remove taints with ``key`` (and ``effect`` if given), like ``kubectl taint ... key-``."""
        node = self.api.get_nowait(Node, name)
        kept = tuple(
            t for t in node.spec.taints if not (t.key == key and effect in (None, t.effect))
        )
        return await self.api.update(attrs.evolve(node, spec=attrs.evolve(node.spec, taints=kept)))

    async def cordon(self, name: str) -> None:
        """Mark a node unschedulable (``kubectl cordon``)."""
        await nodelifecycle.cordon(self.api, name)

    async def uncordon(self, name: str) -> None:
        """Mark a node schedulable again (``kubectl uncordon``)."""
        await nodelifecycle.uncordon(self.api, name)

    async def drain(self, name: str) -> list[Pod]:
        """Cordon a node and evict its pods but DaemonSet and mirror pods (``kubectl drain``)."""
        return list(await nodelifecycle.drain(self.api, name))

    async def add_static_pod(self, node: str, manifest: Pod | str | Mapping[str, Any]) -> None:
        """Put a static pod manifest on ``node``; its kubelet runs it and mirrors it in the API."""
        pod = self._one(manifest, Pod)
        self.fleet[node].static_pods[pod.metadata.name] = pod
        self.kubelets.poke(node)

    async def remove_static_pod(self, node: str, name: str) -> None:
        """Remove a static pod manifest from ``node``; its mirror pod goes away."""
        self.fleet[node].static_pods.pop(name, None)
        self.kubelets.poke(node)


# Controllers whose delayed work is periodic by nature: settle() does not wait for it.
_PERIODIC = frozenset({"kubelet-nodes", "node-lifecycle-controller", "cronjob-controller"})


def _all_kinds() -> list[type[reconcile.Resource]]:
    # Events are never owned and are written often: the collectors skip them.
    builtin = ("controllers.", "reconcile.")
    return [k for k in reconcile.registry if k.__module__.startswith(builtin) and k is not Event]


def _namespaced_kinds() -> list[type[reconcile.Resource]]:
    return [k for k in _all_kinds() if reconcile.kind_of(k).namespaced and k is not Namespace]


def _owned_kinds() -> list[type[reconcile.Resource]]:
    return [k for k in _all_kinds() if k is not Namespace]
