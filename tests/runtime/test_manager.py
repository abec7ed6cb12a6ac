"""
Manager: readiness before work, shared informers, graceful shutdown, lifecycle, leadership.

Every scenario runs over a :class:`MemoryCluster` in virtual time; "the
reconcile in flight finishes" is checked against the virtual instant at
which it recorded its completion.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar, cast

import attrs
import pytest

from reconcile.cluster.client import Client, ObjectList
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.coordination import Lease
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.controller import Controller
from reconcile.runtime.leaderelection import LeaderElector
from reconcile.runtime.manager import Manager, ManagerState
from reconcile.runtime.reconciler import Request, Result, reconciler
from reconcile.testing import run
from tests.kinds import Gadget, Widget, gadget_for

R = TypeVar("R", bound=Resource)

Event = tuple[str, str, float]
"""(what, key, virtual time)"""


class SlowList:
    """A MemoryCluster whose list of one kind takes ``delay`` virtual seconds (a slow server)."""

    def __init__(
        self, cluster: MemoryCluster, clock: VirtualClock, kind: type[Resource], delay: float
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self.kind = kind
        self.delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cluster, name)

    async def list(self, kind: type[R], **kwargs: Any) -> ObjectList[R]:
        if kind is self.kind:
            await self.clock.sleep(self.delay)
        return await self.cluster.list(kind, **kwargs)


def _widget(name: str) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"))


def _recording(name: str, log: list[str]) -> Controller[Widget]:
    async def record(request: Request) -> Result:
        log.append(f"{name}:{request}")
        return Result.done()

    return Controller(name=name, for_=Widget, reconciler=reconciler(record))


def _slow(clock: VirtualClock, events: list[Event]) -> Controller[Widget]:
    """A controller whose reconcile takes five virtual seconds and records start and finish."""

    async def slow(request: Request) -> Result:
        events.append(("started", str(request), clock.time()))
        await clock.sleep(5)
        events.append(("finished", str(request), clock.time()))
        return Result.done()

    return Controller(name="slow", for_=Widget, reconciler=reconciler(slow))


# -- readiness and sharing ---------------------------------------------------


def test_reconciles_only_after_every_cache_is_synced() -> None:
    """The first reconcile already sees every widget and every owned gadget in the caches."""

    async def scenario(clock: VirtualClock) -> list[tuple[int, int, bool]]:
        cluster = MemoryCluster(clock=clock)
        slow_gadgets = SlowList(cluster, clock, Gadget, delay=1)
        manager = Manager(cast("Client", slow_gadgets), clock=clock)
        widgets, gadgets = manager.store(Widget), manager.store(Gadget)
        seen: list[tuple[int, int, bool]] = []

        async def look(_request: Request) -> Result:
            seen.append((len(widgets), len(gadgets), manager.statistics().synced))
            return Result.done()

        manager.add(
            Controller(name="look", for_=Widget, owns=(Gadget,), reconciler=reconciler(look))
        )
        for name in ("a", "b", "c"):
            owner = await cluster.create(_widget(name))
            for i in range(2):
                await cluster.create(gadget_for(owner, f"{name}-{i}"))
        async with manager:
            await clock.advance(1)
        return seen

    assert [(3, 6, True)] * 3 == run(scenario)


def test_shares_one_informer_per_kind_between_controllers() -> None:
    """Three controllers over Widget (one also owning Gadget) use two informers and two watches."""

    async def scenario(clock: VirtualClock) -> tuple[int, int, list[str]]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        log: list[str] = []
        manager.add(_recording("first", log))
        manager.add(_recording("second", log))

        async def noop(_request: Request) -> Result:
            return Result.done()

        manager.add(
            Controller(name="owner", for_=Widget, owns=(Gadget,), reconciler=reconciler(noop))
        )
        await cluster.create(_widget("w"))
        async with manager:
            await clock.advance(1)
            watchers = cluster.statistics().watchers
        return manager.informers.statistics().informers, watchers, sorted(log)

    informers, watchers, log = run(scenario)

    assert 2 == informers
    assert 2 == watchers
    assert ["first:default/w", "second:default/w"] == log


def test_store_is_the_cache_the_controllers_share() -> None:
    """manager.store(kind) is the very store of the informer the controllers are fed by."""
    clock = VirtualClock()
    manager = Manager(MemoryCluster(clock=clock), clock=clock)

    assert manager.informers.get(Widget).store is manager.store(Widget)
    assert [manager.informers.get(Widget)] == manager.informers.informers()


# -- embedding and shutdown --------------------------------------------------


def test_leaves_the_applications_other_tasks_untouched() -> None:
    """Entering and leaving `async with manager` neither cancels nor leaves behind any task."""

    async def scenario(clock: VirtualClock) -> tuple[bool, int, bool]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        manager.add(_recording("c", []))
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                await clock.sleep(1)
                beats += 1

        app_task = asyncio.create_task(heartbeat())
        before = asyncio.all_tasks()
        async with manager:
            await cluster.create(_widget("w"))
            await clock.advance(5)
        left_behind = asyncio.all_tasks() != before
        beats_at_exit = beats
        await clock.advance(3.5)
        alive = not app_task.done()
        app_task.cancel()
        return left_behind, beats - beats_at_exit, alive

    assert (False, 3, True) == run(scenario)


def test_lets_the_reconcile_in_flight_finish_when_leaving_the_block() -> None:
    """Leaving `async with manager` mid-reconcile waits for that reconcile to complete."""

    async def scenario(clock: VirtualClock) -> tuple[list[Event], float, ManagerState]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        events: list[Event] = []
        manager.add(_slow(clock, events))
        await cluster.create(_widget("w"))
        async with manager:
            begin = clock.time()
            await clock.advance(1)  # mid-sleep
        events = [(what, key, t - begin) for what, key, t in events]
        return events, clock.time() - begin, manager.state

    events, stopped_at, state = run(scenario)

    assert [("started", "default/w", 0.0), ("finished", "default/w", 5.0)] == events
    assert 5.0 == stopped_at
    assert ManagerState.STOPPED == state


def test_cancelling_run_shuts_down_gracefully_and_reraises() -> None:
    """Cancelling manager.run() lets the reconcile finish, then raises CancelledError."""

    async def scenario(clock: VirtualClock) -> tuple[list[str], bool, ManagerState]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        events: list[Event] = []
        manager.add(_slow(clock, events))
        await cluster.create(_widget("w"))
        task = asyncio.create_task(manager.run())
        await manager.wait_synced()
        await clock.advance(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return [what for what, _, _ in events], task.cancelled(), manager.state

    assert (["started", "finished"], True, ManagerState.STOPPED) == run(scenario)


def test_gives_up_on_a_reconcile_that_outlasts_the_graceful_period() -> None:
    """A reconcile longer than graceful_shutdown is cancelled once the period is over."""

    async def scenario(clock: VirtualClock) -> tuple[list[str], float]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock, graceful_shutdown=2)
        events: list[Event] = []
        manager.add(_slow(clock, events))
        await cluster.create(_widget("w"))
        async with manager:
            begin = clock.time()
            await clock.advance(1)
        return [what for what, _, _ in events], clock.time() - begin

    assert (["started"], 3.0) == run(scenario)


# -- lifecycle ---------------------------------------------------------------


def test_moves_from_new_to_running_to_stopped() -> None:
    """state is NEW before start, RUNNING inside `async with`, STOPPED after it."""

    async def scenario(clock: VirtualClock) -> list[ManagerState]:
        manager = Manager(MemoryCluster(clock=clock), clock=clock)
        states = [manager.state]
        async with manager:
            states.append(manager.statistics().state)
        states.append(manager.state)
        return states

    assert [ManagerState.NEW, ManagerState.RUNNING, ManagerState.STOPPED] == run(scenario)


def test_refuses_to_run_twice() -> None:
    """A stopped manager cannot be run again."""

    async def scenario(clock: VirtualClock) -> None:
        manager = Manager(MemoryCluster(clock=clock), clock=clock)
        async with manager:
            pass
        with pytest.raises(RuntimeError, match="runs once"):
            await manager.run()

    run(scenario)


def test_refuses_to_add_a_controller_after_start() -> None:
    """add() is only allowed while the manager is NEW."""

    async def scenario(clock: VirtualClock) -> None:
        manager = Manager(MemoryCluster(clock=clock), clock=clock)
        async with manager:
            with pytest.raises(RuntimeError, match="running"):
                manager.add(_recording("late", []))
        with pytest.raises(RuntimeError, match="stopped"):
            manager.add(_recording("later", []))

    run(scenario)


def test_refuses_duplicate_controller_names() -> None:
    """Two controllers with one name cannot be added to a manager."""
    clock = VirtualClock()
    manager = Manager(MemoryCluster(clock=clock), clock=clock)
    manager.add(_recording("twin", []))

    with pytest.raises(ValueError, match="'twin' is already registered"):
        manager.add(_recording("twin", []))
    assert ["twin"] == [c.name for c in manager.statistics().controllers]


def test_refuses_a_controller_bound_to_another_manager() -> None:
    """A controller belongs to one manager."""
    clock = VirtualClock()
    controller = _recording("shared", [])
    Manager(MemoryCluster(clock=clock), clock=clock).add(controller)

    with pytest.raises(RuntimeError, match="already bound"):
        Manager(MemoryCluster(clock=clock), clock=clock).add(controller)


# -- leadership --------------------------------------------------------------


def _elector(cluster: MemoryCluster, clock: VirtualClock, identity: str) -> LeaderElector:
    return LeaderElector(cluster, name="lock", namespace="ns", identity=identity, clock=clock)


def test_only_the_leader_reconciles_and_the_standby_takes_over() -> None:
    """With two managers, only the leader's controller reconciles; after it stops, the standby's."""

    async def scenario(clock: VirtualClock) -> tuple[list[str], bool, list[str], bool]:
        cluster = MemoryCluster(clock=clock)
        log: list[str] = []
        elector_a = _elector(cluster, clock, "a")
        manager_a = Manager(cluster, clock=clock, elector=elector_a)
        manager_b = Manager(cluster, clock=clock, elector=_elector(cluster, clock, "b"))
        manager_a.add(_recording("a", log))
        manager_b.add(_recording("b", log))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(manager_a.run())
            async with asyncio.timeout(10):  # virtual seconds: fails instead of hanging
                await elector_a.wait_leading()
            tg.create_task(manager_b.run())
            await manager_b.wait_synced()
            await cluster.create(_widget("w"))
            await clock.advance(30)
            while_a_leads = list(log)
            b_ran = manager_b.statistics().controllers[0].running
            manager_a.stop()
            await clock.advance(5)  # the standby retries every 2 s
            after = list(log)
            b_leads = manager_b.statistics().leading
            manager_b.stop()
        return while_a_leads, b_ran, after, b_leads

    while_a_leads, b_ran, after, b_leads = run(scenario)

    assert ["a:default/w"] == while_a_leads
    assert not b_ran
    assert ["a:default/w", "b:default/w"] == after
    assert b_leads


def test_enqueues_every_object_again_after_regaining_leadership() -> None:
    """A controller stopped by a lost lease reconciles every existing object when it leads again."""

    async def scenario(clock: VirtualClock) -> tuple[list[str], bool, list[str]]:
        cluster = MemoryCluster(clock=clock)
        log: list[str] = []
        elector = _elector(cluster, clock, "a")
        manager = Manager(cluster, clock=clock, elector=elector)
        controller = manager.add(_recording("a", log))
        for name in ("w1", "w2"):
            await cluster.create(_widget(name))
        async with manager:
            async with asyncio.timeout(10):  # virtual seconds: fails instead of hanging
                await elector.wait_leading()
            await clock.advance(1)
            # An intruder takes the lease: the renewal sees it and leadership is lost.
            lease = cluster.get_nowait(Lease, "lock", namespace="ns")
            stolen = attrs.evolve(lease.spec, holder_identity="intruder", renew_time=clock.now())
            await cluster.update(attrs.evolve(lease, spec=stolen))
            await clock.advance(3)
            first = list(log)
            running_while_lost = controller.statistics().running
            await clock.advance(30)  # the intruder's lease expires; "a" takes it again
        return first, running_while_lost, log

    first, running_while_lost, log = run(scenario)

    assert ["a:default/w1", "a:default/w2"] == first
    assert not running_while_lost
    assert ["a:default/w1", "a:default/w2"] * 2 == log


def test_passes_the_typed_object_key_to_the_reconciler() -> None:
    """Reconcilers receive the typed ObjectKey of the object, not a string."""

    async def scenario(clock: VirtualClock) -> list[object]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        seen: list[object] = []

        async def look(request: Request) -> Result:
            seen.append(request)
            return Result.done()

        manager.add(Controller(name="look", for_=Widget, reconciler=reconciler(look)))
        await cluster.create(_widget("w"))
        async with manager:
            await clock.advance(1)
        return seen

    assert [ObjectKey(namespace="default", name="w")] == run(scenario)


# -- runnables -----------------------------------------------------------------


def _ticker(clock: VirtualClock, name: str, ticks: list[tuple[str, float]]) -> Any:
    async def tick() -> None:
        while True:
            ticks.append((name, clock.time()))
            await clock.sleep(10)

    return tick


def test_runnable_runs_after_sync_and_is_cancelled_on_stop() -> None:
    """A runnable starts once the caches are synced, and nothing of it runs after the block."""

    async def scenario(clock: VirtualClock) -> tuple[list[tuple[str, float]], int, bool]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cast("Client", SlowList(cluster, clock, Widget, delay=3)), clock=clock)
        manager.store(Widget)
        ticks: list[tuple[str, float]] = []
        manager.add_runnable("ticker", _ticker(clock, "t", ticks))
        async with manager:
            await clock.advance(25)
        stopped_with = len(ticks)
        await clock.advance(60)
        return ticks, stopped_with, any(t.get_name() == "ticker" for t in asyncio.all_tasks())

    ticks, stopped_with, still_there = run(scenario)

    assert [("t", 3.0), ("t", 13.0), ("t", 23.0)] == ticks
    assert len(ticks) == stopped_with
    assert not still_there


def test_runnable_runs_only_while_leading() -> None:
    """The standby's runnable waits for the lease; it starts when the leader stops."""

    async def scenario(clock: VirtualClock) -> tuple[list[str], list[str]]:
        cluster = MemoryCluster(clock=clock)
        elector_a = _elector(cluster, clock, "a")
        manager_a = Manager(cluster, clock=clock, elector=elector_a)
        manager_b = Manager(cluster, clock=clock, elector=_elector(cluster, clock, "b"))
        ticks: list[tuple[str, float]] = []
        manager_a.add_runnable("ticker", _ticker(clock, "a", ticks))
        manager_b.add_runnable("ticker", _ticker(clock, "b", ticks))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(manager_a.run())
            async with asyncio.timeout(10):
                await elector_a.wait_leading()
            tg.create_task(manager_b.run())
            await clock.advance(30)
            while_a_leads = sorted({name for name, _ in ticks})
            manager_a.stop()
            await clock.advance(30)
            manager_b.stop()
        return while_a_leads, sorted({name for name, _ in ticks})

    while_a_leads, after = run(scenario)

    assert ["a"] == while_a_leads
    assert ["a", "b"] == after


def test_runnable_failure_stops_the_manager_with_the_error() -> None:
    async def scenario(clock: VirtualClock) -> None:
        manager = Manager(MemoryCluster(clock=clock), clock=clock)

        async def broken() -> None:
            await clock.sleep(1)
            raise RuntimeError("lost the device")

        manager.add_runnable("broken", broken)
        await manager.run()

    with pytest.raises(ExceptionGroup) as caught:
        run(scenario)
    assert caught.group_contains(RuntimeError, match="lost the device")


def test_refuses_runnables_after_start_and_duplicate_names() -> None:
    async def scenario(clock: VirtualClock) -> list[str]:
        manager = Manager(MemoryCluster(clock=clock), clock=clock)

        async def idle() -> None:
            await asyncio.Event().wait()

        manager.add_runnable("idle", idle)
        errors: list[str] = []
        try:
            manager.add_runnable("idle", idle)
        except ValueError as exc:
            errors.append(str(exc))
        async with manager:
            try:
                manager.add_runnable("late", idle)
            except RuntimeError as exc:
                errors.append(str(exc))
        return errors

    assert [
        "a runnable named 'idle' is already registered",
        "cannot add a runnable to a manager that is running",
    ] == run(scenario)
