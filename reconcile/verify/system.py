"""
``Simulation``: a system of controller processes over one in-memory API server.

Each *component* is one process: a :class:`~reconcile.runtime.manager.Manager`
set up by a user function, talking to the shared
:class:`~reconcile.cluster.memory.MemoryCluster` through its own
:class:`~reconcile.cluster.faulty.FaultyClient` and keeping time with its own
:class:`~reconcile.primitives.skew.SkewedClock`. That is where faults act
(:mod:`reconcile.verify.faults`): a crash makes the :class:`Supervisor`
restart the component with fresh caches, queues and expectations, after
``restart_delay`` virtual seconds, as a process supervisor would.

:meth:`Simulation.settle` uses :func:`reconcile.settle`, as the embedded
Kubernetes cluster of ``controllers`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import final

from reconcile.cluster.faulty import FaultyClient, Record
from reconcile.cluster.memory import MemoryCluster
from reconcile.primitives.skew import SkewedClock
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.manager import Manager
from reconcile.runtime.settle import pending_work, settle
from reconcile.verify.faults import Heal

__all__ = ["Setup", "Simulation", "Supervisor", "component_seed"]

Setup = Callable[[Manager], object]
"""Adds a component's controllers to its manager."""


_STEP = 0.5


def component_seed(seed: int, component: str, generation: int) -> int:
    """A stable seed for one incarnation of one component."""
    return zlib.crc32(f"{seed}/{component}/{generation}".encode())


@final
class Supervisor:
    """Restarts crashed components, one at a time, ``delay`` virtual seconds after each crash."""

    def __init__(
        self, restart: Callable[[str], Awaitable[None]], clock: VirtualClock, *, delay: float
    ) -> None:
        self._restart = restart
        self._clock = clock
        self._delay = delay
        self._crashed: list[str] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.restarts = 0
        self.halted = False

    @property
    def pending(self) -> bool:
        """Whether a crashed component waits for its restart."""
        return bool(self._crashed)

    def crashed(self, client: FaultyClient) -> None:
        """The ``on_crash`` callback of every component's client."""
        if self.halted:
            return
        self._crashed.append(client.name)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._crashed:
                name = self._crashed[0]
                await self._clock.sleep(self._delay)
                if self.halted:  # halted while this restart waited: it never comes
                    self._crashed.clear()
                    break
                await self._restart(name)
                self._crashed.pop(0)
                self.restarts += 1


@final
class Simulation:
    """
    Components (name → setup function) over one in-memory API server, with faults.

    Use as ``async with Simulation(...) as sim`` inside a
    :class:`~reconcile.primitives.virtual.VirtualClock`'s loop.

    Args:
        components: Each component's setup function, by name.
        seed: Seeds the API server and every component's fault decisions.
        record: Receives every write, delivery and fault of every component
            (a :class:`~reconcile.verify.trace.Trace`, for one).
        restart_delay: Virtual seconds between a crash and the restart.
        prepare: Called with the API server before any component starts
            (register admission, create fixtures).
    """

    def __init__(
        self,
        components: Mapping[str, Setup],
        *,
        seed: int = 0,
        record: Record | None = None,
        restart_delay: float = 1.0,
        prepare: Callable[[MemoryCluster], object] | None = None,
    ) -> None:
        if not components:
            raise ValueError("components: at least one component is needed")
        self._setups = dict(components)
        self._seed = seed
        self._record = record
        self._delay = restart_delay
        self._prepare = prepare
        self._managers: dict[str, Manager] = {}
        self._clients: dict[str, FaultyClient] = {}
        self._clocks: dict[str, SkewedClock] = {}
        self._generations: dict[str, int] = {}
        self._api: MemoryCluster | None = None
        self._clock: VirtualClock | None = None
        self._supervisor: Supervisor | None = None

    @property
    def api(self) -> MemoryCluster:
        """The API server (users act on it directly, without faults)."""
        if self._api is None:
            raise RuntimeError("the simulation is not running: use `async with Simulation(...)`")
        return self._api

    @property
    def clock(self) -> VirtualClock:
        if self._clock is None:
            raise RuntimeError("the simulation is not running: use `async with Simulation(...)`")
        return self._clock

    @property
    def restarts(self) -> int:
        """Restarts after crashes so far."""
        return self._supervisor.restarts if self._supervisor else 0

    def components(self) -> tuple[str, ...]:
        return tuple(self._setups)

    def client(self, component: str) -> FaultyClient:
        return self._clients[component]

    def component_clock(self, component: str) -> SkewedClock:
        if component not in self._clocks:
            self._clocks[component] = SkewedClock(self.clock)
        return self._clocks[component]

    def managers(self) -> Mapping[str, Manager]:
        return dict(self._managers)

    async def __aenter__(self) -> Simulation:
        clock = getattr(asyncio.get_running_loop(), "clock", None)
        if not isinstance(clock, VirtualClock):
            raise RuntimeError("Simulation runs in virtual time: use reconcile.testing.run")
        self._clock = clock
        self._api = MemoryCluster(clock=clock, seed=self._seed)
        if self._prepare is not None:
            self._prepare(self._api)
        self._supervisor = Supervisor(self.restart, clock, delay=self._delay)
        self._supervisor.start()
        for name in self._setups:
            await self._start(name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop()
        for name in reversed(list(self._managers)):
            await self._stop(name)

    async def _start(self, name: str) -> None:
        assert self._supervisor is not None
        generation = self._generations.get(name, 0) + 1
        self._generations[name] = generation
        client = FaultyClient(
            self.api,
            name=name,
            clock=self.clock,
            seed=component_seed(self._seed, name, generation),
            record=self._record,
            on_crash=self._supervisor.crashed,
        )
        manager = Manager(client, clock=self.component_clock(name))
        self._setups[name](manager)
        self._clients[name] = client
        await manager.__aenter__()
        self._managers[name] = manager

    async def _stop(self, name: str) -> None:
        manager = self._managers.pop(name, None)
        if manager is not None:
            clock = self.component_clock(name)
            if clock.frozen:  # a paused process cannot shut down gracefully: kill it
                clock.thaw()
            await manager.__aexit__(None, None, None)

    async def restart(self, component: str) -> None:
        """Restart ``component`` now: new client, caches, queues and in-memory state."""
        if component not in self._setups:
            raise ValueError(f"component: unknown {component!r}; have {self.components()}")
        await self._stop(component)
        await self._start(component)

    def halt(self) -> None:
        """Stop the system for good: every component crashes at its next write, none restarts."""
        assert self._supervisor is not None
        self._supervisor.halted = True
        for client in self._clients.values():
            client.crash_after(0)

    def heal(self) -> None:
        """End every fault in every component."""
        for name in self._setups:
            Heal(component=name).apply(self)

    async def settle(self, *, within: float = 30.0, limit: float = 3600.0) -> float:
        """
        Run until no component has work (:func:`reconcile.settle`). A paused
        component is left out; a crashed one counts as due for its restart.
        """
        return await settle(self.clock, self._pending, within=within, limit=limit)

    def _pending(self) -> tuple[bool, float | None]:
        base = self.clock.time()
        running = [
            (manager, base - clock.time())
            for name, manager in self._managers.items()
            if not (clock := self.component_clock(name)).frozen
        ]
        busy, due = pending_work(running)
        if self._supervisor is not None and self._supervisor.pending:
            soon = base + _STEP  # the restart waits out its delay in virtual time
            due = soon if due is None else min(due, soon)
        return busy, due
