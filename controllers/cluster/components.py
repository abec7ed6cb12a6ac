"""
The components of :class:`~controllers.cluster.Cluster` as processes: own clocks, pauses, leaders.

Every component instance (one process: ``kube-scheduler``,
``kube-controller-manager``, ``kubelet``, and any standby started with
:meth:`Components.start_standby`) runs on its own
:class:`reconcile.SkewedClock` over the cluster's clock, so a test can give
one process faults the others do not see:

* :meth:`~Components.skew` sets how far its wall clock is off, and
  :meth:`~Components.jump_clock` steps it (an NTP step);
* :meth:`~Components.freeze` pauses the whole process (a long GC pause,
  ``SIGSTOP``, a VM migration) until :meth:`~Components.thaw`: its clock stands
  still, and its requests to the API server and the watch events sent to it
  are held (:class:`_Paused`), so it acts on nothing and nobody hears from it.
  When it resumes it still believes what it believed, its lease included.

With ``Cluster(leader_election=True)``, ``kube-controller-manager`` and
``kube-scheduler`` run under a :class:`reconcile.LeaderElector` as in
Kubernetes: a Lease named after the component in ``kube-system``, identities
``<component>-<n>``, and Kubernetes' default 15 s lease, 10 s renew deadline
and 2 s retry period. Their managers write through a fenced client
(:meth:`reconcile.LeaderElector.fenced`), so a leader paused past its lease
has its late writes refused. :meth:`Components.stale_leader_writes` lists
every write an elected instance committed while another held its lease (none,
unless the fence is switched off).

Known limitation: the node lifecycle controller compares the kubelet's
heartbeat timestamps with its own wall clock (Kubernetes times them from when
it observed them), so a kubelet clock more than the node monitor grace period
(40 s) behind the controller manager's, by skew or after a long pause, makes
the two rewrite the Node's status back and forth without end; step a resumed
kubelet's clock forward (:meth:`Components.jump_clock`) as its machine would.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar, cast, final

import attrs

import reconcile
from controllers.api.core import Event

__all__ = ["COMPONENTS", "ELECTED", "LEASE_NAMESPACE", "Components", "StaleWrite"]

R = TypeVar("R", bound=reconcile.Resource)

COMPONENTS = ("kube-scheduler", "kube-controller-manager", "kubelet")
"""The cluster's components, in start order."""

ELECTED = ("kube-controller-manager", "kube-scheduler")
"""Components that run under leader election when the cluster asks for it."""

LEASE_NAMESPACE = "kube-system"

_WRITER: contextvars.ContextVar[str | None] = contextvars.ContextVar("writer", default=None)
"""The instance whose request is being committed (set around every write it sends)."""


@attrs.frozen(kw_only=True)
class StaleWrite:
    """A write committed by an elected instance while its Lease named another holder."""

    writer: str
    holder: str | None
    kind: str
    key: reconcile.ObjectKey
    resource_version: str


class Components:
    """Mixin of :class:`~controllers.cluster.Cluster`: per-process clocks, pauses and leaders."""

    api: reconcile.MemoryCluster
    _managers: dict[str, reconcile.Manager]

    @property
    def clock(self) -> reconcile.Clock:
        raise NotImplementedError

    async def _start(self, component: str) -> None:
        raise NotImplementedError

    def _init_components(self, *, leader_election: bool) -> None:
        self._leader_election = leader_election
        self._clocks: dict[str, reconcile.SkewedClock] = {}
        self._electors: dict[str, reconcile.LeaderElector] = {}
        self._standbys: dict[str, list[str]] = {}
        self._stale: list[StaleWrite] = []
        self._observing: reconcile.MemoryCluster | None = None

    # -- naming ------------------------------------------------------------------------------

    def _instance(self, name: str) -> str:
        """The instance ``name`` means: a component (its first instance) or ``<component>-<n>``."""
        if name in COMPONENTS or any(name in names for names in self._standbys.values()):
            return name
        for component in COMPONENTS:
            if name == f"{component}-1":
                return component
        known = [*COMPONENTS, *(n for names in self._standbys.values() for n in names)]
        raise ValueError(f"component: must be one of {', '.join(known)}, got {name!r}")

    @staticmethod
    def _component_of(instance: str) -> str:
        """The component an instance runs (``kube-scheduler-2`` runs ``kube-scheduler``)."""
        head, _, n = instance.rpartition("-")
        return head if n.isdigit() and head in ELECTED else instance

    @staticmethod
    def _identity(instance: str) -> str:
        return instance if instance[-1].isdigit() else f"{instance}-1"

    # -- clocks ------------------------------------------------------------------------------

    def component_clock(self, name: str) -> reconcile.SkewedClock:
        """
        The clock of a component instance (``kube-controller-manager``, or
        ``kube-controller-manager-2`` for a standby); it outlives restarts, as
        the machine's clock does.
        """
        instance = self._instance(name)
        clock = self._clocks.get(instance)
        if clock is None:
            clock = self._clocks[instance] = reconcile.SkewedClock(self.clock)
        return clock

    def skew(self, component: str, seconds: float) -> None:
        """Set how many seconds ``component``'s wall clock is ahead (negative: behind)."""
        self.component_clock(component).offset = seconds

    def jump_clock(self, component: str, seconds: float) -> None:
        """Step ``component``'s wall clock by ``seconds`` now (an NTP step, either way)."""
        self.component_clock(component).jump(seconds)

    def freeze(self, component: str) -> None:
        """
        Pause ``component``'s process: its clock stops and its I/O is held until :meth:`thaw`.

        Raises:
            RuntimeError: It is frozen already.
        """
        self.component_clock(component).freeze()

    def thaw(self, component: str) -> None:
        """
        Resume a paused process; it carries on from where it stood.

        Raises:
            RuntimeError: It is not frozen.
        """
        self.component_clock(component).thaw()

    # -- leaders -----------------------------------------------------------------------------

    async def start_standby(self, component: str) -> str:
        """
        Start another instance of an elected component; returns its name (``<component>-<n>``).

        It campaigns for the component's Lease and takes over when the leader
        loses or releases it. It is stopped with the cluster. Its client comes
        from the cluster's ``connect(instance, api)``, called with the new name.

        Raises:
            RuntimeError: The cluster runs without leader election.
            ValueError: ``component`` is not an elected component.
        """
        if not self._leader_election:
            raise RuntimeError("start_standby(): the cluster runs without leader_election=True")
        if component not in ELECTED:
            raise ValueError(f"component: must be one of {', '.join(ELECTED)}, got {component!r}")
        names = self._standbys.setdefault(component, [])
        instance = f"{component}-{len(names) + 2}"
        names.append(instance)
        await self._start(instance)
        return instance

    def elector(self, name: str) -> reconcile.LeaderElector:
        """
        The leader elector of an elected instance.

        Raises:
            LookupError: It runs without leader election.
        """
        instance = self._instance(name)
        if instance not in self._electors:
            raise LookupError(f"{instance} runs without leader election")
        return self._electors[instance]

    def leader(self, component: str) -> str | None:
        """The instance whose identity the component's Lease names now (``None`` if nobody)."""
        try:
            lease = self.api.get_nowait(reconcile.Lease, component, namespace=LEASE_NAMESPACE)
        except reconcile.NotFoundError:
            return None
        holder = lease.spec.holder_identity
        return None if not holder else self._instance(holder)

    def stale_leader_writes(self) -> tuple[StaleWrite, ...]:
        """Writes committed by an elected instance while its Lease named someone else."""
        return tuple(self._stale)

    # -- wiring (called by Cluster._start/_stop/_pending) ------------------------------------

    def _pausable(self, instance: str, client: reconcile.Client) -> reconcile.Client:
        """``client`` as the process ``instance`` reaches it: held while the process is paused."""
        return cast("reconcile.Client", _Paused(client, self.component_clock(instance), instance))

    def _manager(self, instance: str, client: reconcile.Client) -> reconcile.Manager:
        """The manager of ``instance``: its own clock, and an elector when it is elected."""
        clock = self.component_clock(instance)
        component = self._component_of(instance)
        if not (self._leader_election and component in ELECTED):
            return reconcile.Manager(client, clock=clock)
        self._observe_commits()
        elector = reconcile.LeaderElector(
            client,
            name=component,
            namespace=LEASE_NAMESPACE,
            identity=self._identity(instance),
            clock=clock,
            lease_duration=15.0,
            renew_deadline=10.0,
            retry_period=2.0,
        )
        self._electors[instance] = elector
        return reconcile.Manager(client, clock=clock, elector=elector)

    def _before_stop(self, instance: str) -> None:
        """A process being stopped is not paused any more (it is killed, then started anew)."""
        clock = self._clocks.get(instance)
        if clock is not None and clock.frozen:
            clock.thaw()

    async def _stop_standbys(self) -> None:
        for names in self._standbys.values():
            for instance in names:
                self._before_stop(instance)
                manager = self._managers.pop(instance, None)
                if manager is not None:
                    await manager.__aexit__(None, None, None)
        self._standbys.clear()

    def _settling(self) -> list[tuple[reconcile.Manager, float]]:
        """
        The managers ``settle()`` waits for, each with its clock's lag behind the cluster's.

        A paused process is left out: it does nothing until thawed, however long one waits.
        """
        base = self.clock.time()
        found = []
        for instance, manager in self._managers.items():
            clock = self._clocks.get(instance)
            if clock is None:
                found.append((manager, 0.0))
            elif not clock.frozen:
                found.append((manager, base - clock.time()))
        return found

    def _observe_commits(self) -> None:
        if self._observing is self.api:
            return
        self._observing = self.api
        self.api.on_commit.append(self._check_writer)

    def _check_writer(self, event: reconcile.WatchEvent[reconcile.Resource]) -> None:
        writer = _WRITER.get()
        obj = event.object
        if writer is None or writer not in self._electors or obj is None:
            return
        if isinstance(obj, reconcile.Lease | Event):
            return  # the elector's own writes; Events are not fenced, as in Kubernetes
        component = self._component_of(writer)
        try:
            lease = self.api.get_nowait(reconcile.Lease, component, namespace=LEASE_NAMESPACE)
            holder = lease.spec.holder_identity
        except reconcile.NotFoundError:
            holder = None
        if holder != self._identity(writer):
            meta = obj.metadata
            self._stale.append(
                StaleWrite(
                    writer=writer,
                    holder=holder,
                    kind=reconcile.kind_of(type(obj)).kind,
                    key=reconcile.ObjectKey(meta.namespace, meta.name),
                    resource_version=str(event.resource_version),
                )
            )


@final
class _Paused:
    """
    A client as one process reaches it: every request, and every watch event delivered
    to it, waits while the process's clock is frozen. Writes are tagged with the
    instance's name (for :meth:`Components.stale_leader_writes`).

    Not frozen, it adds no suspension: a fenced client's check and write stay atomic.
    """

    def __init__(self, inner: reconcile.Client, clock: reconcile.SkewedClock, name: str) -> None:
        self._inner = inner
        self._clock = clock
        self._name = name

    async def _hold(self) -> None:
        await self._clock.wait_thawed()

    async def get(self, kind: type[R], key: reconcile.ObjectKey | str, *, namespace: str = "") -> R:
        if self._clock.frozen:
            await self._hold()
        return await self._inner.get(kind, key, namespace=namespace)

    async def list(self, kind: type[R], **kwargs: Any) -> reconcile.ObjectList[R]:
        if self._clock.frozen:
            await self._hold()
        return await self._inner.list(kind, **kwargs)

    def watch(self, kind: type[R], **kwargs: Any) -> AsyncIterator[reconcile.WatchEvent[R]]:
        return _HeldStream(self._inner.watch(kind, **kwargs), self._clock)

    async def _write(self, send: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._clock.frozen:
            await self._hold()
        token = _WRITER.set(self._name)
        try:
            return await send(*args, **kwargs)
        finally:
            _WRITER.reset(token)

    async def create(self, obj: R) -> R:
        return cast("R", await self._write(self._inner.create, obj))

    async def update(self, obj: R) -> R:
        return cast("R", await self._write(self._inner.update, obj))

    async def update_status(self, obj: R) -> R:
        return cast("R", await self._write(self._inner.update_status, obj))

    async def patch(self, kind: type[R], key: reconcile.ObjectKey | str, patch: Any,
                    **kwargs: Any) -> R:  # fmt: skip
        return cast("R", await self._write(self._inner.patch, kind, key, patch, **kwargs))

    async def delete(
        self, kind: type[R], key: reconcile.ObjectKey | str, **kwargs: Any
    ) -> R | None:
        return cast("R | None", await self._write(self._inner.delete, kind, key, **kwargs))


@final
class _HeldStream(Generic[R]):
    """A watch stream whose events wait while the receiving process is paused."""

    def __init__(
        self, inner: AsyncIterator[reconcile.WatchEvent[R]], clock: reconcile.SkewedClock
    ) -> None:
        self._inner = inner
        self._clock = clock

    def __aiter__(self) -> _HeldStream[R]:
        return self

    async def __anext__(self) -> reconcile.WatchEvent[R]:
        event = await self._inner.__anext__()
        if self._clock.frozen:
            await self._clock.wait_thawed()
        return event

    async def aclose(self) -> None:
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            await aclose()
