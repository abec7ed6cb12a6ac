"""
One run of a system under a fault schedule, and what the oracles said.

A *schedule* is a tuple of :class:`Injection`\\ s: a fault and the moment it
fires, counted in writes made by the system's components (``0``: before the
workload starts), which places a fault at a precise point inside a
reconcile, as Sieve does. :func:`run_once` drives the workload, checks the
invariants after every commit, heals every fault, settles, and applies the
liveness oracles: the caller's ``converged`` check, a fixpoint pass with no
writes and a bounded number of reconciles, and no orphans. It returns an
:class:`Outcome` whose ``canonical`` end state the caller compares with a
fault-free run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, final

import attrs

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.cluster.watcher import Backoff
from reconcile.model.kinds import Resource
from reconcile.primitives.clock import SystemClock
from reconcile.primitives.virtual import VirtualClock
from reconcile.verify.faults import Fault, fault_from_json, fault_to_json
from reconcile.verify.oracles import State, canonical, further_pass, orphans
from reconcile.verify.system import Setup, Simulation
from reconcile.verify.trace import Trace

__all__ = [
    "Driver",
    "Injection",
    "Invariant",
    "Outcome",
    "Workload",
    "run_once",
    "schedule_from_json",
    "schedule_to_json",
]

_WALL = SystemClock()  # reports wall time; never drives the simulation
_RELIST_BACKOFF = Backoff().cap
"""Healing may leave an informer waiting out its relist backoff (a timer that settling cannot
see as work): the run waits this long, the reflector's longest backoff, before settling."""
_HEALED_WITHIN = 1000.0
"""After healing, wait for parked work due this soon: the default rate limiter's cap, so
a retry backed off during a long fault still runs before the liveness oracles look."""

Invariant = Callable[[State], None]
"""A safety property: raises ``AssertionError`` (with a message) when violated."""


@final
class Driver:
    """What a workload acts through: the API server (no faults apply to the user) and time."""

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation

    @property
    def api(self) -> Any:
        """The API server (a :class:`~reconcile.cluster.memory.MemoryCluster`)."""
        return self._simulation.api

    @property
    def state(self) -> State:
        return State(self._simulation.api)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass."""
        await self._simulation.clock.advance(seconds)

    async def settle(self) -> float:
        """Run until the components have nothing left to do (faults may still be active)."""
        return await self._simulation.settle()


Workload = Callable[[Driver], Awaitable[None]]
"""The user's actions: create, change and delete objects, let time pass."""


@attrs.frozen(kw_only=True)
class Injection:
    """``fault`` fires once the components have made ``at_write`` writes in all."""

    fault: Fault
    at_write: int = 0


def schedule_to_json(schedule: Sequence[Injection]) -> list[dict[str, Any]]:
    return [{"at_write": i.at_write, **fault_to_json(i.fault)} for i in schedule]


def schedule_from_json(data: Sequence[Mapping[str, Any]]) -> tuple[Injection, ...]:
    out = []
    for item in data:
        fields = dict(item)
        at = int(fields.pop("at_write", 0))
        out.append(Injection(fault=fault_from_json(fields), at_write=at))
    return tuple(out)


@attrs.frozen(kw_only=True)
class Outcome:
    """What one run did and what the oracles found (``failures`` empty when all held)."""

    failures: tuple[str, ...]
    canonical: tuple[str, ...]
    writes: int  # by the components
    restarts: int
    simulated: float
    wall: float
    digest: str
    trace: Trace


class _Checker:
    """Checks invariants after every commit; keeps the first violation of each."""

    def __init__(self, state: State, invariants: Sequence[Invariant], trace: Trace) -> None:
        self._state = state
        self._invariants = invariants
        self._trace = trace
        self.violations: list[str] = []
        self._failed: set[int] = set()

    def __call__(self, event: WatchEvent[Resource]) -> None:
        if event.type is EventType.BOOKMARK:
            return
        for index, invariant in enumerate(self._invariants):
            if index in self._failed:
                continue
            try:
                invariant(self._state)
            except AssertionError as exc:
                self._failed.add(index)
                name = getattr(invariant, "__name__", repr(invariant))
                self.violations.append(
                    f"invariant {name} violated at commit {event.resource_version} "
                    f"(trace line {self._trace.count}): {exc}"
                )


@final
class _Trigger:
    """The components' trace sink: records, counts writes and fires each injection at its write."""

    def __init__(self, schedule: Sequence[Injection], trace: Trace, max_writes: int) -> None:
        self._pending = sorted(schedule, key=lambda i: i.at_write)
        self._trace = trace
        self._writes = 0
        self._simulation: Simulation | None = None
        self.max_writes = max_writes
        self.runaway = False

    @property
    def writes(self) -> int:
        """Writes the components made so far."""
        return self._writes

    def attach(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self.fire()

    def __call__(self, entry: Mapping[str, Any]) -> None:
        self._trace(entry)
        if "write" in entry:
            self._writes += 1
            if self._writes > self.max_writes and self._simulation is not None:
                if not self.runaway:
                    self.runaway = True
                    self._simulation.halt()
                return
            self.fire()

    def runaway_failure(self) -> str | None:
        """What to report when the components made more than ``max_writes`` writes."""
        if not self.runaway:
            return None
        return f"runaway: the components made more than {self.max_writes} writes"

    def disarm(self) -> None:
        """Drop the injections not yet due: a fault must not start after the heal."""
        self._pending.clear()

    def fire(self) -> None:
        simulation = self._simulation
        if simulation is None:
            return
        while self._pending and self._pending[0].at_write <= self._writes:
            fault = self._pending.pop(0).fault
            self._trace({"inject": fault_to_json(fault), "writes": self._writes})
            if fault.component in simulation.components():
                fault.apply(simulation)


async def run_once(
    components: Mapping[str, Setup],
    workload: Workload,
    schedule: Sequence[Injection] = (),
    *,
    seed: int = 0,
    invariants: Sequence[Invariant] = (),
    converged: Invariant | None = None,
    ignore: Callable[[Resource], bool] = lambda obj: False,
    hot_loop_slack: int = 10,
    max_writes: int = 5_000,
    keep_trace: bool = True,
) -> Outcome:
    """
    Run ``workload`` on a fresh :class:`Simulation` with ``schedule`` injected;
    must run inside a :class:`~reconcile.primitives.virtual.VirtualClock` loop.
    A run whose components make more than ``max_writes`` writes is stopped
    there and fails as a runaway.
    """
    started = _WALL.time()
    clock = _running_clock()
    trace = Trace(clock=clock, keep=keep_trace)
    trigger = _Trigger(schedule, trace, max_writes)
    simulation = Simulation(components, seed=seed, record=trigger, restart_delay=1.0)
    failures: list[str] = []
    async with simulation:
        begin = clock.time()
        trace.follow(simulation.api)
        state = State(simulation.api)
        checker = _Checker(state, invariants, trace)
        simulation.api.on_commit.append(checker)
        trigger.attach(simulation)
        try:
            await workload(Driver(simulation))
            await simulation.settle()
        finally:
            simulation.api.on_commit.remove(checker)
        if trigger.runaway:
            return _runaway(
                trigger,
                checker,
                trace,
                restarts=simulation.restarts,
                simulated=clock.time() - begin,
                started=started,
            )
        trigger.disarm()
        trace({"phase": "heal"})
        simulation.heal()
        await clock.advance(_RELIST_BACKOFF)
        await simulation.settle(within=_HEALED_WITHIN)
        failures.extend(checker.violations)
        if (runaway := trigger.runaway_failure()) is not None:  # it began after the heal
            failures.append(runaway)
        if converged is not None:
            try:
                converged(state)
            except AssertionError as exc:
                failures.append(f"did not converge after healing: {exc}")
        extra = await further_pass(
            simulation.api, simulation.managers().values(), simulation.settle, ignore=ignore
        )
        if extra.writes:
            shown = ", ".join(extra.writes[:5])
            failures.append(f"not a fixpoint: a further pass wrote {len(extra.writes)}: {shown}")
        if extra.reconciles > 2 * extra.keys + hot_loop_slack:
            failures.append(
                f"hot loop: a further pass over {extra.keys} keys took "
                f"{extra.reconciles} reconciles"
            )
        left = orphans(state)
        if left:
            failures.append(f"orphans left behind: {', '.join(left[:5])}")
        end = canonical(state, ignore=ignore)
        simulated = clock.time() - begin
        restarts = simulation.restarts
    return Outcome(
        failures=tuple(failures),
        canonical=tuple(end),
        writes=trigger.writes,
        restarts=restarts,
        simulated=simulated,
        wall=_WALL.time() - started,
        digest=trace.digest(),
        trace=trace,
    )


def _runaway(
    trigger: _Trigger,
    checker: _Checker,
    trace: Trace,
    *,
    restarts: int,
    simulated: float,
    started: float,
) -> Outcome:
    return Outcome(
        failures=(
            *checker.violations,
            trigger.runaway_failure() or "runaway",
        ),
        canonical=(),
        writes=trigger.writes,
        restarts=restarts,
        simulated=simulated,
        wall=_WALL.time() - started,
        digest=trace.digest(),
        trace=trace,
    )


def _running_clock() -> VirtualClock:
    clock = getattr(asyncio.get_running_loop(), "clock", None)
    if not isinstance(clock, VirtualClock):
        raise RuntimeError("verification runs in virtual time: use reconcile.testing.run")
    return clock
