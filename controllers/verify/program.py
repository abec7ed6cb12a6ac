"""
A run as data: :class:`Program` (seed, profile, planted bugs, steps) and its execution.

:func:`execute` runs a program on a fresh :class:`~controllers.verify.world.World`
in a fresh virtual clock, applies every oracle, and compares the end state with
a fault-free run of the same user actions (the differential oracle). The same
program gives the same trace, byte for byte: that is what makes a failure found
by the state machine replayable with ``python -m controllers.verify replay FILE``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

import reconcile
from controllers.cluster.collector import simulation_collector
from controllers.verify.liveness import Verdict
from controllers.verify.steps import Delete, Replace, Step, Undo, step_from_json, step_to_json
from controllers.verify.world import World
from reconcile.testing import plant
from reconcile.verify import Trace

__all__ = [
    "Program",
    "Report",
    "Session",
    "compare",
    "execute",
    "fault_free_projection",
    "volatile",
]

T = TypeVar("T")

_WALL = reconcile.SystemClock()  # reports wall time; never drives the simulation


@attrs.frozen(kw_only=True)
class Program:
    """Everything a run depends on."""

    seed: int = 0
    profile: str = "everything"
    leader_election: bool = False
    bugs: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "profile": self.profile,
            "leader_election": self.leader_election,
            "bugs": list(self.bugs),
            "steps": [step_to_json(s) for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: Any) -> Program:
        """
        Raises:
            ValueError: not a program, naming the field at fault.
        """
        if not isinstance(data, dict):
            raise ValueError("program: expected a JSON object")
        steps = data.get("steps", [])
        if not isinstance(steps, list):
            raise ValueError("program.steps: expected a list")
        parsed = []
        for index, step in enumerate(steps):
            try:
                parsed.append(step_from_json(step))
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError(f"program.steps[{index}]: {exc}") from exc
        return cls(
            seed=int(data.get("seed", 0)),
            profile=str(data.get("profile", "everything")),
            leader_election=bool(data.get("leader_election", False)),
            bugs=tuple(str(b) for b in data.get("bugs", ())),
            steps=tuple(parsed),
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Program:
        """
        Raises:
            ValueError: unreadable JSON or not a program (the message names the file).
        """
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def fault_free(self) -> Program:
        """The same user actions and waits, without a single fault."""
        return attrs.evolve(self, steps=tuple(s for s in self.steps if not s.fault))


@attrs.frozen(kw_only=True)
class Report:
    """What a run found (``failures`` empty when every oracle held) and what it cost."""

    failures: tuple[str, ...]
    digest: str
    writes: int
    commits: int
    simulated: float
    wall: float
    trace: Trace

    @property
    def ok(self) -> bool:
        return not self.failures


def volatile(program: Program) -> frozenset[str]:
    """
    Names whose end state timing may decide: objects the user deleted, replaced
    or rolled back.

    Creating an object whose predecessor still terminates is refused (as
    ``kubectl create`` is), and how long the predecessor takes depends on the
    faults. Which revision ``rollout undo`` returns to depends on whether the
    controller had yet recorded the latest template as a revision. The safety
    and liveness oracles still judge these objects.
    """
    names = {s.target for s in program.steps if isinstance(s, Delete | Replace | Undo)}
    return frozenset(names | {f"svc-{n}" for n in names} | {f"cfg-{n}" for n in names})


def compare(
    faulty: Sequence[str], clean: Sequence[str], *, skip: frozenset[str] = frozenset()
) -> list[str]:
    """
    The differential oracle's findings: lines of one end state missing from the
    other, leaving out lines that name one of ``skip``.
    """

    def kept(lines: Sequence[str]) -> set[str]:
        return {line for line in lines if not skip.intersection(line.split())}

    missing = sorted(kept(clean) - kept(faulty))
    extra = sorted(kept(faulty) - kept(clean))
    if not missing and not extra:
        return []
    return [
        "differs from the fault-free run: "
        + "; ".join([*(f"expected {m}" for m in missing[:4]), *(f"got {e}" for e in extra[:4])])
    ]


class Session:
    """
    A world on its own virtual clock and event loop, driven one step at a time.

    Each step runs the loop until the step is done, then the loop stops: the
    state machine and :func:`execute` both drive a world this way, so a
    program replays exactly as the machine ran it.
    """

    def __init__(self, program: Program, *, trace: bool = False) -> None:
        self.clock = reconcile.VirtualClock()
        self.loop = self.clock.new_event_loop()
        self.world = World(seed=program.seed, leader_election=program.leader_election, trace=trace)
        self._run(self.world.__aenter__())
        self.begin = self.clock.time()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def apply(self, step: Step) -> None:
        self._run(self.world.apply(step))

    def finish(self) -> Verdict:
        return self._run(self.world.finish())

    @property
    def simulated(self) -> float:
        return self.clock.time() - self.begin

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self.world.__aexit__(None, None, None))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def _play(program: Program, *, trace: bool) -> tuple[Session, Verdict]:
    session = Session(program, trace=trace)
    try:
        for step in program.steps:
            session.apply(step)
        return session, session.finish()
    finally:
        session.close()


def fault_free_projection(program: Program) -> tuple[str, ...]:
    """The end state (as :func:`~controllers.verify.liveness.project` sees it) without faults."""
    with simulation_collector():
        _, verdict = _play(program.fault_free(), trace=False)
    return verdict.projection


def execute(program: Program, *, trace: bool = False, differential: bool = True) -> Report:
    """Run ``program`` with its bugs planted (synchronously, in fresh virtual time)."""
    started = _WALL.time()
    with plant(*program.bugs), simulation_collector():
        session, verdict = _play(program, trace=trace)
        failures = list(verdict.failures)
        if differential and not failures and any(s.fault for s in program.steps):
            clean = fault_free_projection(program)
            failures += compare(verdict.projection, clean, skip=volatile(program))
    return Report(
        failures=tuple(failures),
        digest=session.world.trace.digest(),
        writes=session.world.writes,
        commits=session.world.safety.commits,
        simulated=session.simulated,
        wall=_WALL.time() - started,
        trace=session.world.trace,
    )
