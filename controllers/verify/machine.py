"""
The whole-cluster state machine: hypothesis drives an embedded cluster step by step.

:func:`cluster_machine` builds a :class:`~hypothesis.stateful.RuleBasedStateMachine`
for a :class:`~controllers.verify.profiles.Profile`: its one rule takes a step
drawn from the profile (a user action, a fault or time passing), its invariant
is every safety property of :mod:`~controllers.verify.safety` (checked at each
commit in between), and its teardown heals the cluster and applies the
liveness and differential oracles. A failure shrinks to a short program;
hypothesis prints it step by step, and the final (shrunk) failure is also saved
as a program file whose path the error names, with the command that replays it
byte for byte (``python -m controllers.verify replay FILE``).

:func:`hunt` runs a machine for a fixed budget of examples without shrinking
and reports after how many examples (and seconds) it first failed: that is
how the suite proves that the harness catches each planted bug.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import reconcile
from controllers.verify.profiles import PROFILES, Profile
from controllers.verify.program import (
    Program,
    Session,
    compare,
    fault_free_projection,
    volatile,
)
from controllers.verify.steps import Step
from reconcile.testing import plant

__all__ = ["REPLAYS", "ClusterFailureError", "Hunt", "cluster_machine", "hunt"]

T = TypeVar("T")
_WALL = reconcile.SystemClock()  # reports wall time; never drives the simulation
REPLAYS = Path(".verify")
"""Where failing programs are saved by default (under the working directory)."""


class ClusterFailureError(AssertionError):
    """An oracle failed; the message has the seed, the program and the replay command."""

    def __init__(self, message: str, program: Program, path: Path | None) -> None:
        super().__init__(message)
        self.program = program
        self.path = path


def _final() -> bool:
    """Whether hypothesis is running the final, shrunk example (the one it reports)."""
    try:
        return current_build_context().is_final
    except InvalidArgument:  # outside a hypothesis test: a direct run
        return True


def cluster_machine(
    profile: Profile | str,
    *,
    seed: int = 0,
    bugs: Sequence[str] = (),
    replay_dir: Path = REPLAYS,
) -> type[RuleBasedStateMachine]:
    """
    A state machine class over a fresh cluster per example (see the module docstring).

    ``bugs`` are only recorded in saved programs; plant them around the run
    (:func:`reconcile.testing.plant`), before the machine starts clusters.
    """
    chosen = PROFILES[profile] if isinstance(profile, str) else profile

    class ClusterMachine(RuleBasedStateMachine):
        examples = 0
        simulated = 0.0
        failed_at: int | None = None

        def __init__(self) -> None:
            super().__init__()
            type(self).examples += 1
            self.session = Session(Program(seed=seed, leader_election=chosen.leader_election))
            self.world = self.session.world
            self.failed = False

        def program(self) -> Program:
            return Program(
                seed=seed,
                profile=chosen.name,
                leader_election=chosen.leader_election,
                bugs=tuple(bugs),
                steps=tuple(self.world.steps),
            )

        @initialize(steps=chosen.initial)
        def start(self, steps: tuple[Step, ...]) -> None:
            for step in steps:
                self.act(step)

        @rule(step=chosen.steps)
        def act(self, step: Step) -> None:
            try:
                self.session.apply(step)
            except Exception as exc:  # a step must never fail: report it with its program
                self._fail([f"step {step!r} raised {type(exc).__name__}: {exc}"])

        @invariant()
        def safe(self) -> None:
            if self.world.safety.violations:
                self._fail(self.world.safety.violations)

        def teardown(self) -> None:
            failures: list[str] = []
            verdict = None
            try:
                if not self.failed:
                    verdict = self.session.finish()
                    failures = list(verdict.failures)
            finally:
                type(self).simulated += self.session.simulated
                self.session.close()
            program = self.program()
            if verdict is not None and not failures and any(s.fault for s in program.steps):
                clean = fault_free_projection(program)
                failures = compare(verdict.projection, clean, skip=volatile(program))
            if failures:
                self._fail(failures)

        def _fail(self, failures: Sequence[str]) -> None:
            self.failed = True
            cls = type(self)
            if cls.failed_at is None:
                cls.failed_at = cls.examples
            program = self.program()
            path = None
            if _final():
                digest = zlib.crc32(json.dumps(program.to_json(), sort_keys=True).encode())
                path = program.save(replay_dir / f"{chosen.name}-{seed}-{digest:08x}.json")
            raise ClusterFailureError(_message(failures, program, path), program, path)

    ClusterMachine.__name__ = ClusterMachine.__qualname__ = f"ClusterMachine_{chosen.name}"
    return ClusterMachine


def _message(failures: Sequence[str], program: Program, path: Path | None) -> str:
    lines = [f"{len(failures)} oracle(s) failed (seed {program.seed}, profile {program.profile}"
             + (f", planted {', '.join(program.bugs)}" if program.bugs else "") + "):"]  # fmt: skip
    lines += [f"  - {f}" for f in failures[:8]]
    lines.append(f"after {len(program.steps)} steps:")
    lines += [f"  {i + 1}. {step!r}" for i, step in enumerate(program.steps)]
    if path is not None:
        lines.append(f"replay: python -m controllers.verify replay {path}")
    return "\n".join(lines)


@attrs.frozen(kw_only=True)
class Hunt:
    """How a budgeted run went: examples run, the first failing one, wall seconds."""

    profile: str
    bugs: tuple[str, ...]
    examples: int
    failed_at: int | None
    seconds: float
    simulated: float
    error: str | None
    path: Path | None = None

    @property
    def detected(self) -> bool:
        return self.failed_at is not None


@contextlib.contextmanager
def _planted(bugs: Sequence[str]) -> Iterator[None]:
    with plant(*bugs):
        yield


def hunt(
    profile: Profile | str,
    *,
    bugs: Sequence[str] = (),
    examples: int = 20,
    steps: int = 12,
    seed: int = 0,
    shrink: bool = False,
    derandomize: bool = True,
    replay_dir: Path = REPLAYS,
) -> Hunt:
    """
    Run the machine of ``profile`` with ``bugs`` planted for at most ``examples``
    examples of up to ``steps`` steps; stop at the first failure (shrunk if
    ``shrink``). With ``derandomize`` (the default) the same arguments draw the
    same programs; otherwise every call explores new ones (a failure is still
    saved as a replayable program). ``seed`` seeds the cluster and the faults.
    """
    machine = cluster_machine(profile, seed=seed, bugs=bugs, replay_dir=replay_dir)
    phases = [Phase.generate, *([Phase.shrink] if shrink else [])]
    chosen = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=derandomize,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    started = _WALL.time()
    error = None
    path = None
    with _planted(bugs):
        try:
            run_state_machine_as_test(machine, settings=chosen)
        except ClusterFailureError as exc:
            error, path = str(exc), exc.path
    name = profile if isinstance(profile, str) else profile.name
    return Hunt(
        profile=name,
        bugs=tuple(bugs),
        examples=machine.examples,  # type: ignore[attr-defined]
        failed_at=machine.failed_at,  # type: ignore[attr-defined]
        seconds=_WALL.time() - started,
        simulated=machine.simulated,  # type: ignore[attr-defined]
        error=error,
        path=path,
    )
