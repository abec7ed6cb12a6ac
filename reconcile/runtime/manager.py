"""
``Manager``: one task group for informers and controllers.

Expected flow::

    manager = Manager(client, clock=clock)
    manager.add(Controller(...))
    async with manager:            # starts informers, waits for sync, runs controllers
        ...                        # the embedding application goes on
    # leaving the block stops controllers gracefully, then informers

or ``await manager.run()`` until :meth:`Manager.stop` (or cancellation).

Guarantees:

* every informer has listed before any worker runs (``wait_synced``);
* several controllers watching one kind share one informer and one cache;
* the manager creates tasks only inside its own ``asyncio.TaskGroup``
  (``__aenter__`` owns exactly one task, awaited by ``__aexit__``), so it
  never touches the embedding application's other tasks;
* shutdown is graceful: queues stop, each worker finishes its current
  reconcile (bounded by ``graceful_shutdown``), then informers stop;
* with a leader elector, controllers run only while this instance holds the
  lease, and stop before the lease could have expired for others. Losing the
  lease is not graceful: reconciles in flight are cancelled at once (safety
  first), then the manager stands by and campaigns again. Stopping while
  leading is graceful, and releases the lease so a standby takes over at once;
* with an elector that can fence (a ``LeaderElector``), :attr:`Manager.client`,
  the client controllers write through, is fenced: a write is refused with
  ``FencedError`` unless this instance leads in the term the Lease records, so
  a leader that was paused past its lease cannot write after a standby took
  over. Informers keep reading (and watching) through the client as given.

Errors: a crash inside the framework propagates out of :meth:`run` as an
``ExceptionGroup``; errors raised by reconcilers never do (they are retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Protocol, TypeVar, final, runtime_checkable

import attrs
import structlog

from reconcile.cluster.client import Client
from reconcile.cluster.informer import SharedInformers
from reconcile.cluster.store import Store
from reconcile.model.kinds import Resource
from reconcile.primitives.clock import Clock, SystemClock
from reconcile.runtime.controller import Controller, ControllerStatistics
from reconcile.runtime.leaderelection import LeadershipLostError

__all__ = ["Elector", "FencingElector", "Manager", "ManagerState", "ManagerStatistics"]

R = TypeVar("R", bound=Resource)

log = structlog.get_logger("reconcile.manager")


class ManagerState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class Elector(Protocol):
    """**Protocol:** runs work only while holding leadership (see ``LeaderElector``)."""

    async def run(self, leader_work: Callable[[], Awaitable[None]]) -> None:
        """
        Campaign, run ``leader_work`` while leading; when leadership is lost,
        cancel it and raise ``LeadershipLostError``.
        """
        ...


@runtime_checkable
class FencingElector(Elector, Protocol):
    """**Protocol:** an :class:`Elector` that can also fence a client's writes."""

    def fenced(self, client: Client) -> Client:
        """``client`` with writes refused unless this elector leads (see ``LeaderElector``)."""
        ...


@attrs.frozen(kw_only=True)
class ManagerStatistics:
    state: ManagerState
    synced: bool
    leading: bool
    controllers: tuple[ControllerStatistics, ...]


@final
class Manager:
    """
    Runs informers and controllers over one client (see the module docstring).

    Args:
        client: The cluster backend.
        clock: Time source for every queue, backoff and timer (``SystemClock`` if omitted).
        elector: Optional leader election; controllers run only while leading.
            When it can fence (:class:`FencingElector`), :attr:`client` is
            the fenced client.
        graceful_shutdown: Seconds workers get to finish their reconcile on stop.
    """

    def __init__(
        self,
        client: Client,
        *,
        clock: Clock | None = None,
        elector: Elector | None = None,
        graceful_shutdown: float = 30.0,
    ) -> None:
        self.client: Client = (
            elector.fenced(client) if isinstance(elector, FencingElector) else client
        )
        """What controllers write through: ``client``, fenced when the elector can fence."""
        self.clock: Clock = clock or SystemClock()
        self.informers = SharedInformers(client, clock=self.clock)
        self._elector = elector
        self._graceful = graceful_shutdown
        self._controllers: list[Controller[Resource]] = []
        self._runnables: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []
        self._state = ManagerState.NEW
        self._stop = asyncio.Event()
        self._synced = asyncio.Event()
        self._leading = False
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> ManagerState:
        return self._state

    def add(self, controller: Controller[R]) -> Controller[R]:
        """Register a controller (before the manager starts)."""
        if self._state is not ManagerState.NEW:
            raise RuntimeError(f"cannot add a controller to a manager that is {self._state.value}")
        if any(c.name == controller.name for c in self._controllers):
            raise ValueError(f"a controller named {controller.name!r} is already registered")
        controller.bind(self.informers, self.clock)
        self._controllers.append(controller)  # type: ignore[arg-type]
        return controller

    def add_runnable(self, name: str, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """
        Run ``fn()`` alongside the controllers (before the manager starts).

        For work that is not a reconcile of keys, such as a loop renewing
        leases (controller-runtime's ``Runnable``). It starts once the caches
        have synced, runs only while this manager leads (when it has an
        elector), and is cancelled when the manager stops or loses the lease.
        An exception it raises is a crash: it stops the manager and propagates
        out of :meth:`run`.
        """
        if self._state is not ManagerState.NEW:
            raise RuntimeError(f"cannot add a runnable to a manager that is {self._state.value}")
        if any(n == name for n, _ in self._runnables):
            raise ValueError(f"a runnable named {name!r} is already registered")
        self._runnables.append((name, fn))

    def store(self, kind: type[R]) -> Store[R]:
        """The shared read-only cache of ``kind`` (its informer starts with the manager)."""
        return self.informers.get(kind).store

    async def wait_synced(self) -> None:
        """Return once every informer has completed its first list."""
        await self._synced.wait()

    def stop(self) -> None:
        """Ask :meth:`run` to shut down gracefully."""
        self._stop.set()

    async def run(self) -> None:
        """Run until :meth:`stop` or cancellation (then shut down gracefully and re-raise)."""
        if self._state is not ManagerState.NEW:
            raise RuntimeError(f"a manager runs once; this one is {self._state.value}")
        self._state = ManagerState.RUNNING
        log.info("manager.starting", controllers=[c.name for c in self._controllers])
        cancelled = False
        try:
            async with asyncio.TaskGroup() as tg:
                informers = tg.create_task(self.informers.run())
                await self.informers.wait_synced()
                self._synced.set()
                log.info("manager.synced")
                work = tg.create_task(
                    self._run_controllers() if self._elector is None else self._campaign()
                )
                try:
                    await self._stop.wait()
                except asyncio.CancelledError:
                    cancelled = True
                    self._stop.set()
                self._shutdown_controllers()
                if self._elector is not None and not self._leading:
                    work.cancel()  # still campaigning: nothing to finish gracefully
                finished, _ = await asyncio.wait({work}, timeout=self._graceful)
                if not finished:
                    log.warning("manager.shutdown_timeout", seconds=self._graceful)
                    work.cancel()
                informers.cancel()
        finally:
            self._state = ManagerState.STOPPED
            log.info("manager.stopped")
        if cancelled:
            raise asyncio.CancelledError

    async def _campaign(self) -> None:
        """Lead whenever possible: after losing the lease, stand by and campaign again."""
        assert self._elector is not None
        while not self._stop.is_set():
            try:
                await self._elector.run(self._run_controllers)
            except LeadershipLostError:
                log.warning("manager.leadership_lost")

    async def _run_controllers(self) -> None:
        self._leading = True
        try:
            async with asyncio.TaskGroup() as tg:
                for controller in self._controllers:
                    tg.create_task(controller.run())
                runnables = [tg.create_task(fn(), name=name) for name, fn in self._runnables]
                await self._stop.wait()
                # Stopping: workers finish their current item, then exit;
                # runnables have no item to finish.
                self._shutdown_controllers()
                for task in runnables:
                    task.cancel()
        finally:
            # On lost leadership the elector cancelled this task group (and with
            # it every worker) already: there is nothing left to shut down.
            self._leading = False

    def _shutdown_controllers(self) -> None:
        for controller in self._controllers:
            controller.shutdown()

    async def __aenter__(self) -> Manager:
        self._task = asyncio.create_task(self.run(), name="reconcile.manager")
        synced = asyncio.ensure_future(self._synced.wait())
        await asyncio.wait({self._task, synced}, return_when=asyncio.FIRST_COMPLETED)
        if not synced.done():
            synced.cancel()
            await self._task  # it ended before syncing: raise its error
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def resync(self) -> int:
        """Enqueue every object of every running controller's primary kind; returns the count."""
        return sum(controller.resync() for controller in self._controllers)

    def statistics(self) -> ManagerStatistics:
        return ManagerStatistics(
            state=self._state,
            synced=self._synced.is_set(),
            leading=self._leading,
            controllers=tuple(c.statistics() for c in self._controllers),
        )
