"""``Simulation`` and ``Supervisor``: components restart after crashes, in virtual time."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from reconcile import ClientFaults, FaultyClient, Manager, MemoryCluster
from reconcile.testing import VirtualClock, run
from reconcile.verify import Conflicts, Crash, Freeze, Lag, Simulation, Skew, Supervisor
from reconcile.verify.system import component_seed
from tests.kinds import Gadget, Widget, WidgetSpec
from tests.verify import fixtures


def _gadgets(sim: Simulation) -> list[str]:
    return [g.metadata.name for g in sim.api.list_nowait(Gadget).items]


def test_crashed_component_restarts_after_the_delay_with_a_fresh_manager() -> None:
    """A crash at a write stops the component; ``restart_delay`` later a new one takes over."""
    setups: list[Manager] = []

    def keeper(manager: Manager) -> None:
        setups.append(manager)
        fixtures.keeper(manager)

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": keeper}, restart_delay=3.0) as sim:
            first_manager, first_client = sim.managers()["c"], sim.client("c")
            Crash(component="c").apply(sim)
            await sim.api.create(fixtures.widget(size=2))  # the keeper's first create crashes it
            await clock.advance(0.5)
            assert first_client.crashed
            assert [] == _gadgets(sim)
            await clock.advance(2.4)  # 2.9 s after the crash
            assert (0, first_manager) == (sim.restarts, sim.managers()["c"])
            await clock.advance(0.2)
            assert 1 == sim.restarts
            assert sim.managers()["c"] is not first_manager
            assert sim.client("c") is not first_client
            assert not sim.client("c").crashed
            await sim.settle()
            assert ["w-0", "w-1"] == _gadgets(sim)  # the fresh manager did the work
            assert [first_manager, sim.managers()["c"]] == setups

    run(scenario)


def test_every_restart_is_counted() -> None:
    """Three crashes in three rounds of work, three restarts, and the component converges."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.keeper}, restart_delay=1.0) as sim:
            await sim.api.create(fixtures.widget(size=0))
            for size in (2, 4, 6):
                Crash(component="c", writes=1).apply(sim)
                widget = sim.api.get_nowait(Widget, fixtures.KEY)
                await sim.api.update(attrs.evolve(widget, spec=WidgetSpec(size=size)))
                await sim.settle()
            assert 3 == sim.restarts
            assert [f"w-{i}" for i in range(6)] == _gadgets(sim)

    run(scenario)


def test_halt_stops_every_component_for_good() -> None:
    """After ``halt()`` a component's next write crashes it and nothing restarts."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.keeper}, restart_delay=1.0) as sim:
            sim.halt()
            await sim.api.create(fixtures.widget(size=2))
            await sim.settle()
            await clock.advance(10)
            assert (True, 0, []) == (sim.client("c").crashed, sim.restarts, _gadgets(sim))

    run(scenario)


def test_halt_cancels_a_restart_already_waiting() -> None:
    """A component that crashed just before ``halt()`` is not restarted after its delay."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.keeper}, restart_delay=2.0) as sim:
            Crash(component="c").apply(sim)
            await sim.api.create(fixtures.widget(size=2))
            await clock.advance(0.5)
            assert sim.client("c").crashed
            sim.halt()
            await clock.advance(5)
            assert (0, []) == (sim.restarts, _gadgets(sim))
            await sim.settle()  # returns: nothing waits for a restart any more

    run(scenario)


def test_heal_ends_every_fault_of_every_component() -> None:
    """``heal()`` switches off rates and lag, thaws frozen clocks and removes skew."""

    async def scenario(clock: VirtualClock) -> None:
        components = {"a": fixtures.idle, "b": fixtures.idle}
        async with Simulation(components) as sim:
            for name in components:
                for fault in (
                    Conflicts(component=name, rate=1.0),
                    Lag(component=name),
                    Skew(component=name, seconds=4.0),
                    Freeze(component=name),
                ):
                    fault.apply(sim)
            sim.heal()
            for name in components:
                client, own = sim.client(name), sim.component_clock(name)
                assert (ClientFaults(), False) == (client.faults, client.lagging)
                assert (False, 0.0) == (own.frozen, own.offset)

    run(scenario)


def test_settle_returns_once_the_components_are_idle() -> None:
    """``settle()`` runs the keeper to completion and returns the virtual seconds it took."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.keeper}) as sim:
            await sim.api.create(fixtures.widget(size=3))
            start = clock.time()
            took = await sim.settle()
            assert clock.time() - start == took
            assert ["w-0", "w-1", "w-2"] == _gadgets(sim)
            assert 0.0 == await sim.settle()  # already quiet: no time passes

    run(scenario)


def test_settle_waits_for_a_pending_restart() -> None:
    """A crashed component counts as work: ``settle()`` returns after its restart converged."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.keeper}, restart_delay=5.0) as sim:
            Crash(component="c", writes=1).apply(sim)
            await sim.api.create(fixtures.widget(size=2))
            took = await sim.settle()
            assert took >= 5.0
            assert (1, ["w-0", "w-1"]) == (sim.restarts, _gadgets(sim))

    run(scenario)


def test_component_seed_is_stable_and_distinct_per_generation() -> None:
    """The same incarnation always gets the same seed; other incarnations get others."""
    assert component_seed(7, "c", 1) == component_seed(7, "c", 1)
    seeds = {
        component_seed(seed, name, generation)
        for seed in (0, 1)
        for name in ("a", "b")
        for generation in range(1, 51)
    }
    assert 200 == len(seeds)


def test_simulation_refuses_to_run_without_components() -> None:
    """No component is a clear error, naming the argument."""
    with pytest.raises(ValueError, match="components: at least one"):
        Simulation({})


def test_simulation_refuses_real_time() -> None:
    """Entered on an ordinary event loop, the simulation says to use virtual time."""

    async def enter() -> None:
        async with Simulation({"c": fixtures.idle}):
            pass

    with pytest.raises(RuntimeError, match="virtual time"):
        asyncio.run(enter())


def test_simulation_api_needs_a_running_simulation() -> None:
    """The API server exists only inside ``async with``."""
    with pytest.raises(RuntimeError, match="not running"):
        _ = Simulation({"c": fixtures.idle}).api


def test_restart_names_an_unknown_component() -> None:
    """Restarting a component that does not exist is a clear error."""

    async def scenario(clock: VirtualClock) -> None:
        async with Simulation({"c": fixtures.idle}) as sim:
            with pytest.raises(ValueError, match=r"component: unknown 'd'"):
                await sim.restart("d")

    run(scenario)


def test_supervisor_restarts_one_component_at_a_time() -> None:
    """Two crashes at once: the second restart begins ``delay`` after the first one ended."""
    spans: list[tuple[str, float, float]] = []

    async def scenario(clock: VirtualClock) -> None:
        async def restart(name: str) -> None:
            began = clock.time()
            await clock.sleep(2.0)
            spans.append((name, began, clock.time()))

        supervisor = Supervisor(restart, clock, delay=1.0)
        supervisor.start()
        server = MemoryCluster(clock=clock)
        for name in ("a", "b"):
            supervisor.crashed(FaultyClient(server, name=name, clock=clock))
        assert supervisor.pending
        await clock.advance(10)
        assert [("a", 1.0, 3.0), ("b", 4.0, 6.0)] == spans
        assert (2, False) == (supervisor.restarts, supervisor.pending)
        await supervisor.stop()

    run(scenario)


def test_halted_supervisor_ignores_crashes() -> None:
    """Once halted, a crash is not queued for a restart."""

    async def scenario(clock: VirtualClock) -> None:
        async def restart(name: str) -> None:
            raise AssertionError(f"restarted {name}")

        supervisor = Supervisor(restart, clock, delay=1.0)
        supervisor.start()
        supervisor.halted = True
        supervisor.crashed(FaultyClient(MemoryCluster(clock=clock), name="a", clock=clock))
        await clock.advance(5)
        assert (False, 0) == (supervisor.pending, supervisor.restarts)
        await supervisor.stop()

    run(scenario)
