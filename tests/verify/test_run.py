"""``run_once``: each oracle reports its failure, runs repeat exactly, injections land on time."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import Manager
from reconcile.testing import VirtualClock, run
from reconcile.verify import (
    Coalesce,
    Conflicts,
    Crash,
    Driver,
    Expire,
    Injection,
    Invariant,
    Lag,
    Outcome,
    Perturb,
    Skew,
    Workload,
    faults,
    run_once,
)
from reconcile.verify.run import schedule_from_json, schedule_to_json
from tests.kinds import Gadget
from tests.verify import fixtures


def _run(
    setup: Any,
    workload: Workload = fixtures.grow,
    schedule: Sequence[Injection] = (),
    *,
    invariants: Sequence[Invariant] = (fixtures.at_most_size_gadgets,),
    converged: Invariant | None = fixtures.widgets_ready,
    **kw: Any,
) -> Outcome:
    async def scenario(clock: VirtualClock) -> Outcome:
        return await run_once(
            {"c": setup},
            workload,
            schedule,
            invariants=invariants,
            converged=converged,
            **kw,
        )

    return run(scenario)


def test_a_correct_controller_has_no_failures() -> None:
    """The keeper growing a widget passes every oracle and reports what it did."""
    outcome = _run(fixtures.keeper)
    assert () == outcome.failures
    assert (5, 0) == (outcome.writes, outcome.restarts)  # 3 creates and 2 status writes
    assert 10.0 <= outcome.simulated
    assert 4 == len(outcome.canonical)  # the widget and its three gadgets


def test_reports_an_invariant_violated_at_a_commit() -> None:
    """The commit that breaks a safety property is named, with its trace line."""
    outcome = _run(fixtures.keeper, invariants=[fixtures.at_most_one_gadget])
    assert 1 == len(outcome.failures)
    found = re.fullmatch(
        r"invariant at_most_one_gadget violated at commit (\d+) \(trace line (\d+)\): 2 gadgets",
        outcome.failures[0],
    )
    assert found is not None
    rv, line = found.groups()
    second = [e for e in outcome.trace.entries() if e.get("commit") == "ADDED"][2]
    assert ("default/w-1", rv) == (second["key"], second["rv"])
    assert second == outcome.trace.entries()[int(line) - 1]


def test_reports_a_system_that_does_not_converge() -> None:
    """A widget the keeper refuses fails the liveness check after healing."""
    outcome = _run(fixtures.keeper, fixtures.create_broken)
    assert 1 == len(outcome.failures)
    assert outcome.failures[0].startswith("did not converge after healing: ")


def test_reports_a_controller_that_is_not_at_a_fixpoint() -> None:
    """A further pass of a controller that writes every time is reported with its writes."""
    outcome = _run(fixtures.tally)
    assert ("not a fixpoint: a further pass wrote 1: MODIFIED Gizmo tally",) == outcome.failures


def test_reports_a_hot_loop() -> None:
    """A controller that keeps requeueing one key is reported as a hot loop."""
    outcome = _run(fixtures.poller, fixtures.create_one, converged=None)
    assert 1 == len(outcome.failures)
    assert re.fullmatch(
        r"hot loop: a further pass over 1 keys took \d+ reconciles", outcome.failures[0]
    )


def test_hot_loop_slack_sets_the_bound() -> None:
    """The same poller passes when the slack allows its reconciles."""
    assert (
        ()
        == _run(fixtures.poller, fixtures.create_one, converged=None, hot_loop_slack=10**6).failures
    )


def test_reports_orphans_left_behind() -> None:
    """Without a garbage collector, the deleted widget's gadgets are orphans."""
    outcome = _run(fixtures.keeper, fixtures.create_then_delete)
    assert ("orphans left behind: Gadget default/w-0, Gadget default/w-1",) == outcome.failures


def test_stops_a_runaway_at_max_writes() -> None:
    """A controller that writes forever is halted right after ``max_writes`` writes."""
    outcome = _run(fixtures.counter, fixtures.create_one, converged=None, max_writes=30)
    assert ("runaway: the components made more than 30 writes",) == outcome.failures
    assert (31, ()) == (outcome.writes, outcome.canonical)


def test_a_runaway_that_starts_after_the_heal_is_named() -> None:
    """A looping controller whose lagging cache hid the object until the heal is a runaway too."""
    lag = Injection(fault=Lag(component="c"))
    outcome = _run(fixtures.counter, fixtures.create_one, [lag], converged=None, max_writes=30)
    assert "runaway: the components made more than 30 writes" == outcome.failures[0]
    assert 31 == outcome.writes


def test_a_runaway_reports_the_restarts_it_had() -> None:
    """A runaway that crashed and restarted first still counts that restart."""
    crash = Injection(fault=Crash(component="c", writes=3))
    outcome = _run(fixtures.counter, fixtures.create_one, [crash], converged=None, max_writes=30)
    assert "runaway: the components made more than 30 writes" == outcome.failures[-1]
    assert 1 == outcome.restarts


def test_a_healed_storm_of_conflicts_still_converges() -> None:
    """Retries parked by backoff during a long 409 storm still run once it heals."""
    storm = Injection(fault=Conflicts(component="c", rate=1.0))
    outcome = _run(fixtures.keeper, schedule=[storm])
    assert () == outcome.failures


def test_a_relist_forced_by_the_heal_is_waited_for() -> None:
    """A lost event is repaired by the relist heal forces, even after backoff, before the checks."""
    schedule = [
        Injection(fault=Conflicts(component="c", rate=0.25)),
        Injection(fault=Perturb(component="c", drop=0.2)),  # loses the grow to size 3
        Injection(fault=Expire(component="c"), at_write=1),  # so the heal's relist backs off
    ]
    outcome = _run(fixtures.keeper, schedule=schedule, seed=3)
    dropped = [e for e in outcome.trace.entries() if e.get("watch") == "dropped"]
    assert 1 == len(dropped)
    assert () == outcome.failures


def test_the_same_seed_gives_the_same_trace() -> None:
    """Two runs of one schedule and seed are byte for byte the same."""
    schedule = [
        Injection(fault=Conflicts(component="c", rate=0.5)),
        Injection(fault=Crash(component="c", writes=1), at_write=2),
    ]
    first = _run(fixtures.forgetful, schedule=schedule, seed=5)
    second = _run(fixtures.forgetful, schedule=schedule, seed=5)
    assert first.digest == second.digest
    assert first.trace.lines == second.trace.lines
    assert first.failures == second.failures


def test_another_seed_gives_another_trace() -> None:
    """The seed reaches the API server: generated names, and so the trace, differ."""
    assert _run(fixtures.forgetful, seed=1).digest != _run(fixtures.forgetful, seed=2).digest


@pytest.mark.parametrize("at", [0, 1, 3])
def test_an_injection_fires_once_that_many_writes_were_made(at: int) -> None:
    """``at_write=N``: the fault is recorded right after the N-th write, and applied then."""
    outcome = _run(fixtures.keeper, schedule=[Injection(fault=Lag(component="c"), at_write=at)])
    entries = outcome.trace.entries()
    index = next(i for i, e in enumerate(entries) if "inject" in e)
    assert {"fault": "lag", "component": "c", "kinds": []} == entries[index]["inject"]
    assert at == entries[index]["writes"]
    assert at == sum(1 for e in entries[:index] if "write" in e)
    assert "lag" == entries[index + 1].get("fault")  # the client's own note follows at once
    assert () == outcome.failures


def test_an_injection_beyond_the_last_write_never_fires() -> None:
    """A fault due after more writes than the run makes is never applied."""
    outcome = _run(fixtures.keeper, schedule=[Injection(fault=Lag(component="c"), at_write=99)])
    assert not any("inject" in e for e in outcome.trace.entries())


def test_an_injection_not_due_before_the_heal_is_dropped() -> None:
    """A fault the fault phase never reached does not start after healing, under the oracles."""
    schedule = [
        Injection(fault=Lag(component="c")),  # the keeper sees nothing, so writes nothing
        Injection(fault=Coalesce(component="c"), at_write=1),  # due only after the heal
    ]
    outcome = _run(fixtures.keeper, schedule=schedule)
    injected = [e["inject"]["fault"] for e in outcome.trace.entries() if "inject" in e]
    assert (["lag"], ()) == (injected, outcome.failures)


def test_an_injection_into_an_unknown_component_is_recorded_but_ignored() -> None:
    """A schedule naming another component's fault does not break this system."""
    outcome = _run(fixtures.keeper, schedule=[Injection(fault=Crash(component="other"))])
    assert any("inject" in e for e in outcome.trace.entries())
    assert (0, ()) == (outcome.restarts, outcome.failures)


def test_run_once_refuses_real_time() -> None:
    """Outside a virtual clock's loop, ``run_once`` says how to run it."""
    with pytest.raises(RuntimeError, match="virtual time"):
        asyncio.run(run_once({"c": fixtures.idle}, fixtures.create_one))


def test_a_schedule_round_trips_through_json() -> None:
    """A schedule written with ``schedule_to_json`` reads back equal."""
    schedule = (
        Injection(fault=Crash(component="a", writes=2), at_write=4),
        Injection(fault=Skew(component="b", seconds=-1.0, jump=True)),
        Injection(fault=Expire(component="a"), at_write=9),
    )
    data = schedule_to_json(schedule)
    assert {"at_write": 4, "fault": "crash", "component": "a", "writes": 2} == data[0]
    assert schedule == schedule_from_json(data)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(Injection, fault=faults(["a", "b"]), at_write=st.integers(0, 50)), max_size=6
    )
)
def test_any_schedule_round_trips_through_json_text(schedule: list[Injection]) -> None:
    """Every schedule the strategies draw survives JSON text unchanged, order included."""
    text = json.dumps(schedule_to_json(schedule))
    assert tuple(schedule) == schedule_from_json(json.loads(text))


def test_keeping_the_trace_does_not_change_the_digest() -> None:
    """A run that keeps no lines has the same digest as one that keeps them."""
    crash = [Injection(fault=Crash(component="c", writes=2))]
    kept = _run(fixtures.keeper, schedule=crash, keep_trace=True)
    lean = _run(fixtures.keeper, schedule=crash, keep_trace=False)
    assert kept.digest == lean.digest
    assert ([], kept.trace.count) == (lean.trace.lines, lean.trace.count)


def test_the_driver_acts_on_the_server_and_sees_the_state() -> None:
    """A workload creates through ``driver.api``, settles, and reads ``driver.state``."""
    seen: list[list[str]] = []

    async def workload(driver: Driver) -> None:
        await driver.api.create(fixtures.widget(size=2))
        took = await driver.settle()
        assert took >= 0.0
        seen.append([g.metadata.name for g in driver.state.list(Gadget)])
        start = driver.state.server.clock.time()
        await driver.advance(3)
        seen.append([str(driver.state.server.clock.time() - start)])

    assert () == _run(fixtures.keeper, workload).failures
    assert [["w-0", "w-1"], ["3.0"]] == seen


def test_setup_sees_a_fresh_manager_per_run() -> None:
    """Each run starts from nothing: two runs set up two different managers."""
    seen: list[Manager] = []

    def setup(manager: Manager) -> None:
        seen.append(manager)
        fixtures.keeper(manager)

    _run(setup)
    _run(setup)
    assert 2 == len(seen)
    assert seen[0] is not seen[1]
