"""Faults as values: JSON round trips, the strategy, and each fault's effect on its target."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import (
    ClientFaults,
    ConflictError,
    ExpiredError,
    FaultyClient,
    MemoryCluster,
    ObjectMeta,
    ServerError,
    SkewedClock,
    TooManyRequestsError,
)
from reconcile.testing import VirtualClock, run
from reconcile.verify import (
    FAULT_CLASSES,
    Coalesce,
    Conflicts,
    Crash,
    Expire,
    Fault,
    Freeze,
    Heal,
    Lag,
    Perturb,
    Remember,
    Skew,
    Throttle,
    TimeTravel,
    faults,
)
from reconcile.verify.faults import fault_from_json, fault_to_json
from tests.kinds import Widget, WidgetSpec


class Bench:
    """One component's client and clock over a fresh API server: what a fault acts on."""

    def __init__(self, clock: VirtualClock, *, seed: int = 0) -> None:
        self.server = MemoryCluster(clock=clock, seed=1)
        self.entries: list[dict[str, Any]] = []
        self.faulty = FaultyClient(self.server, name="c", clock=clock, seed=seed, record=self._note)
        self.clock = SkewedClock(clock)

    def _note(self, entry: Mapping[str, Any]) -> None:
        self.entries.append(dict(entry))

    def client(self, component: str) -> FaultyClient:
        assert "c" == component
        return self.faulty

    def component_clock(self, component: str) -> SkewedClock:
        assert "c" == component
        return self.clock

    def fault_notes(self) -> list[str]:
        return [str(e["fault"]) for e in self.entries if "fault" in e]


def _widget(name: str) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"))


@settings(max_examples=200, deadline=None)
@given(faults(["alpha", "beta"]))
def test_every_fault_round_trips_through_json(fault: Fault) -> None:
    """A fault written as JSON text reads back equal, with its class name under ``fault``."""
    data = json.loads(json.dumps(fault_to_json(fault)))
    assert fault.name == data["fault"]
    assert fault == fault_from_json(data)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FAULT_CLASSES), st.data())
def test_faults_draws_only_the_named_classes(name: str, data: st.DataObject) -> None:
    """Restricted to one class, the strategy draws only that class, in the given components."""
    fault = data.draw(faults(["alpha"], classes=[name]))
    assert (name, "alpha") == (fault.name, fault.component)


def test_fault_class_names_are_unique() -> None:
    """Each class has its own name, so JSON names one class."""
    assert len(FAULT_CLASSES) == len(set(FAULT_CLASSES)) == 13


@pytest.mark.parametrize("data", [{"fault": "melt", "component": "c"}, {"component": "c"}])
def test_fault_from_json_names_an_unknown_fault(data: dict[str, Any]) -> None:
    """An unknown (or missing) fault name is refused, listing the known ones."""
    with pytest.raises(ValueError, match=r"unknown fault .*expected one of .*'crash'"):
        fault_from_json(data)


def test_fault_from_json_names_an_unexpected_field() -> None:
    """A field the class does not have is refused, naming the fault and the field."""
    with pytest.raises(ValueError, match=r"fault 'crash'.*'speed'"):
        fault_from_json({"fault": "crash", "component": "c", "speed": 3})


def test_fault_from_json_names_a_missing_component() -> None:
    """A fault without its component is refused, naming the field."""
    with pytest.raises(ValueError, match=r"fault 'lag'.*'component'"):
        fault_from_json({"fault": "lag"})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fault": "crash", "component": "c", "writes": -1}, "writes"),
        ({"fault": "crash", "component": "c", "writes": "two"}, "writes"),
        ({"fault": "conflict", "component": "c", "rate": 1.5}, "rate"),
        ({"fault": "throttle", "component": "c", "rate": "often"}, "rate"),
        ({"fault": "perturb", "component": "c", "drop": -0.1}, "drop"),
        ({"fault": "skew", "component": "c", "seconds": "soon"}, "seconds"),
        ({"fault": "skew", "component": "c", "jump": "yes"}, "jump"),
        ({"fault": "heal", "component": 3}, "component"),
    ],
)
def test_fault_from_json_names_a_bad_field_value(data: dict[str, Any], field: str) -> None:
    """A field of the wrong type or out of range is refused when read, naming the field."""
    with pytest.raises(ValueError, match=rf"fault {data['fault']!r}.*{field}"):
        fault_from_json(data)


def test_faults_rejects_an_unknown_class() -> None:
    """A class name that does not exist is refused, listing the known ones."""
    with pytest.raises(ValueError, match=r"classes: unknown \['melt'\].*'crash'"):
        faults(["c"], classes=["crash", "melt"])


@pytest.mark.parametrize(("components", "classes"), [([], ["crash"]), (["c"], [])])
def test_faults_needs_a_component_and_a_class(components: list[str], classes: list[str]) -> None:
    """With nothing to choose from, the strategy is refused at once."""
    with pytest.raises(ValueError, match="at least one component and one class"):
        faults(components, classes=classes)


def test_crash_takes_effect_at_the_next_write() -> None:
    """``Crash(writes=0)``: the next write does not reach the server and the client is dead."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Crash(component="c").apply(bench)
        with pytest.raises(ServerError):
            await bench.faulty.create(_widget("a"))
        assert bench.faulty.crashed
        assert () == bench.server.list_nowait(Widget).items
        with pytest.raises(ServerError):
            await bench.faulty.list(Widget)

    run(scenario)


def test_crash_lets_the_given_number_of_writes_through_first() -> None:
    """``Crash(writes=2)``: two writes succeed, then the client is dead."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Crash(component="c", writes=2).apply(bench)
        await bench.faulty.create(_widget("a"))
        assert not bench.faulty.statistics().crashed
        await bench.faulty.create(_widget("b"))
        assert bench.faulty.statistics().crashed
        with pytest.raises(ServerError):
            await bench.faulty.create(_widget("c"))
        assert ["a", "b"] == [w.metadata.name for w in bench.server.list_nowait(Widget).items]

    run(scenario)


def test_conflicts_fail_conditional_writes_at_their_rate() -> None:
    """``Conflicts(rate=0.5)`` fails about half the conditional updates; creates never."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock, seed=3)
        stored = await bench.faulty.create(_widget("a"))
        Conflicts(component="c", rate=0.5).apply(bench)
        conflicts = 0
        for size in range(200):
            try:
                stored = await bench.faulty.update(attrs.evolve(stored, spec=WidgetSpec(size=size)))
            except ConflictError:
                conflicts += 1
        assert 60 < conflicts < 140
        await bench.faulty.create(_widget("b"))  # unconditional: never a 409
        assert 0.5 == bench.faulty.faults.conflict_rate

    run(scenario)


def test_throttle_fails_every_write_at_rate_one() -> None:
    """``Throttle(rate=1.0)``: every write gets 429 and none reaches the server."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Throttle(component="c", rate=1.0).apply(bench)
        with pytest.raises(TooManyRequestsError):
            await bench.faulty.create(_widget("a"))
        assert () == bench.server.list_nowait(Widget).items

    run(scenario)


def test_lag_serves_stale_reads_until_heal() -> None:
    """``Lag``: objects created afterwards are invisible to the component until it heals."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        await bench.server.create(_widget("old"))
        Lag(component="c").apply(bench)
        await bench.server.create(_widget("new"))
        assert bench.faulty.statistics().lagging
        assert ["old"] == [w.metadata.name for w in (await bench.faulty.list(Widget)).items]
        Heal(component="c").apply(bench)
        assert not bench.faulty.lagging
        names = [w.metadata.name for w in (await bench.faulty.list(Widget)).items]
        assert ["new", "old"] == names

    run(scenario)


def test_time_travel_goes_back_to_the_remembered_replica() -> None:
    """``Remember`` then ``TimeTravel``: reads go back to what the server held when remembered."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        await bench.server.create(_widget("first"))
        Remember(component="c").apply(bench)
        await bench.server.create(_widget("second"))
        assert 2 == len((await bench.faulty.list(Widget)).items)  # remembering is not lagging
        TimeTravel(component="c").apply(bench)
        assert ["first"] == [w.metadata.name for w in (await bench.faulty.list(Widget)).items]
        assert ["remember", "lag", "expire_watches"] == bench.fault_notes()

    run(scenario)


def test_expire_ends_an_open_watch_with_410() -> None:
    """``Expire``: the component's open watch ends with ``ExpiredError`` (so it relists)."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        events = bench.faulty.watch(Widget)
        await bench.server.create(_widget("a"))
        first = await anext(events)
        assert "a" == first.object.metadata.name if first.object else False
        Expire(component="c").apply(bench)
        with pytest.raises(ExpiredError):
            await anext(events)

    run(scenario)


def test_perturb_and_coalesce_switch_the_watch_faults_on() -> None:
    """``Perturb`` sets the three watch rates; ``Coalesce`` adds coalescing to them."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Perturb(component="c", drop=0.2, duplicate=0.3, reorder=0.1).apply(bench)
        Coalesce(component="c").apply(bench)
        expected = ClientFaults(drop_rate=0.2, duplicate_rate=0.3, reorder_rate=0.1, coalesce=True)
        assert expected == bench.faulty.faults

    run(scenario)


def test_skew_sets_an_offset_but_a_jump_adds_up() -> None:
    """Two skews stay 5 s off; two jumps step 10 s; ``time()`` never moves."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Skew(component="c", seconds=5.0).apply(bench)
        Skew(component="c", seconds=5.0).apply(bench)
        assert 5.0 == bench.clock.offset
        assert 5.0 == (bench.clock.now() - clock.now()).total_seconds()
        Skew(component="c", seconds=-1.0).apply(bench)
        assert -1.0 == bench.clock.offset
        jumping = Bench(clock)
        Skew(component="c", seconds=5.0, jump=True).apply(jumping)
        Skew(component="c", seconds=5.0, jump=True).apply(jumping)
        assert (10.0, 2) == (jumping.clock.offset, jumping.clock.statistics().jumps)
        assert clock.time() == jumping.clock.time()

    run(scenario)


def test_freeze_stops_the_component_clock_and_heal_thaws_it() -> None:
    """``Freeze`` holds the component's time; ``Heal`` thaws it and zeroes its skew."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Skew(component="c", seconds=3.0).apply(bench)
        Freeze(component="c").apply(bench)
        before = bench.clock.time()
        await clock.advance(10)
        assert (True, before) == (bench.clock.frozen, bench.clock.time())
        Heal(component="c").apply(bench)
        assert (False, 0.0) == (bench.clock.frozen, bench.clock.offset)
        await clock.advance(1)
        assert before + 1 == bench.clock.time()

    run(scenario)


def test_freezing_a_frozen_component_keeps_it_frozen() -> None:
    """A second ``Freeze`` (schedules may draw two) changes nothing; one ``Heal`` thaws."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        Freeze(component="c").apply(bench)
        await clock.advance(1)
        Freeze(component="c").apply(bench)
        assert (True, 1) == (bench.clock.frozen, bench.clock.statistics().freezes)
        Heal(component="c").apply(bench)
        assert not bench.clock.frozen

    run(scenario)


def test_heal_ends_every_client_fault() -> None:
    """``Heal`` switches the rates off, stops lagging and cancels a pending crash."""

    async def scenario(clock: VirtualClock) -> None:
        bench = Bench(clock)
        for fault in (
            Conflicts(component="c", rate=1.0),
            Throttle(component="c", rate=1.0),
            Perturb(component="c", drop=0.2),
            Lag(component="c"),
            Crash(component="c", writes=1),
        ):
            fault.apply(bench)
        Heal(component="c").apply(bench)
        assert (ClientFaults(), False) == (bench.faulty.faults, bench.faulty.lagging)
        await bench.faulty.create(_widget("a"))
        await bench.faulty.create(_widget("b"))
        assert not bench.faulty.crashed

    run(scenario)
