"""
The user-facing checks: :func:`assert_converges` (random fault schedules,
shrunk by hypothesis) and :func:`fault_sweep` (every single fault at every
write, systematically), both against the same oracles (:mod:`~reconcile.verify.run`)
and a fault-free run of the same workload (the differential oracle).

A failure raises :class:`VerificationError` with the seed, the shrunk
schedule and a replay file: ``python -m reconcile.verify replay FILE``
reruns it byte for byte (when the components, workload, checks and
``ignore`` filter are importable module attributes) and can write its trace.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from reconcile.model.kinds import Resource
from reconcile.primitives.clock import SystemClock
from reconcile.primitives.virtual import VirtualClock
from reconcile.verify.faults import FAULT_CLASSES, Crash, Fault, fault_from_json, faults
from reconcile.verify.run import (
    Injection,
    Invariant,
    Outcome,
    Workload,
    run_once,
    schedule_from_json,
    schedule_to_json,
)
from reconcile.verify.system import Setup

__all__ = [
    "SweepReport",
    "VerificationError",
    "assert_converges",
    "fault_sweep",
    "reference",
    "replay",
]

_WALL = SystemClock()  # reports wall time; never drives the simulation


class VerificationError(AssertionError):
    """A schedule broke an oracle; ``str()`` says which, how to replay, and the shrunk schedule."""

    def __init__(self, message: str, *, schedule: Sequence[Injection], replay: Path | None) -> None:
        super().__init__(message)
        self.schedule = tuple(schedule)
        self.replay = replay


def _count_everything(obj: Resource) -> bool:
    """The default ``ignore``: no object is left out (a named function, so replays import it)."""
    return False


def reference(obj: object) -> str | None:
    """``module:qualname`` of an importable function or mapping, else ``None``."""
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not name or "<" in name:
        return None
    return f"{module}:{name}"


@attrs.frozen(kw_only=True)
class _Config:
    components: Mapping[str, Setup]
    workload: Workload
    seed: int
    invariants: tuple[Invariant, ...]
    converged: Invariant | None
    ignore: Callable[[Resource], bool]

    def run(self, schedule: Sequence[Injection], *, keep_trace: bool = False) -> Outcome:
        async def main() -> Outcome:
            return await run_once(
                self.components, self.workload, schedule, seed=self.seed,
                invariants=self.invariants, converged=self.converged, ignore=self.ignore,
                keep_trace=keep_trace,
            )  # fmt: skip

        return VirtualClock().run(main())

    def replay_file(self, schedule: Sequence[Injection], directory: Path | None) -> Path:
        data = {
            "components": {name: reference(setup) for name, setup in self.components.items()},
            "workload": reference(self.workload),
            "invariants": [reference(i) for i in self.invariants],
            "converged": reference(self.converged) if self.converged else None,
            "seed": self.seed,
            "schedule": schedule_to_json(schedule),
            "ignore": reference(self.ignore),
        }
        text = json.dumps(data, indent=2, sort_keys=True)
        name = hashlib.sha256(text.encode()).hexdigest()[:12]
        folder = directory or Path(tempfile.gettempdir()) / "reconcile-verify"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"failure-{name}.json"
        path.write_text(text + "\n")
        return path


def _failures(outcome: Outcome, baseline: Outcome) -> list[str]:
    found = list(outcome.failures)
    if outcome.canonical != baseline.canonical:
        delta = list(
            difflib.unified_diff(
                baseline.canonical, outcome.canonical, "fault-free", "with faults", lineterm="", n=0
            )
        )
        found.append("end state differs from the fault-free run:\n  " + "\n  ".join(delta[:12]))
    return found


def _error(
    config: _Config, schedule: Sequence[Injection], found: Sequence[str], directory: Path | None
) -> VerificationError:
    path = config.replay_file(schedule, directory)
    steps = "\n".join(f"  {json.dumps(s, sort_keys=True)}" for s in schedule_to_json(schedule))
    message = (
        "\n".join(found)
        + f"\nseed: {config.seed}\nschedule ({len(schedule)} injections):\n{steps or '  (none)'}"
        + f"\nreplay: python -m reconcile.verify replay {path}"
    )
    return VerificationError(message, schedule=schedule, replay=path)


def _baseline(config: _Config, directory: Path | None) -> Outcome:
    outcome = config.run(())
    if outcome.failures:
        raise _error(
            config, (), ["the fault-free run already fails:", *outcome.failures], directory
        )
    return outcome


@attrs.frozen(kw_only=True)
class SweepReport:
    """What a sweep ran and found."""

    runs: int
    failures: tuple[tuple[tuple[Injection, ...], tuple[str, ...]], ...]
    wall: float
    simulated: float


def assert_converges(
    components: Mapping[str, Setup],
    workload: Workload,
    *,
    invariants: Iterable[Invariant] = (),
    converged: Invariant | None = None,
    faults_from: Iterable[str] = FAULT_CLASSES,
    examples: int = 50,
    max_faults: int = 4,
    seed: int = 0,
    ignore: Callable[[Resource], bool] = _count_everything,
    replay_dir: Path | None = None,
) -> SweepReport:
    """
    Check ``workload`` under ``examples`` random fault schedules (up to
    ``max_faults`` injections each, of the classes named in ``faults_from``).

    Every run must keep ``invariants`` after every commit; after healing it
    must pass ``converged``, make no writes in a further pass of every
    controller, not loop, leave no orphans, and end in the same canonical
    state as the fault-free run. Deterministic for a given ``seed``.

    Raises:
        VerificationError: the shrunk failing schedule, with a replay file.
    """
    config = _Config(
        components=components, workload=workload, seed=seed, invariants=tuple(invariants),
        converged=converged, ignore=ignore,
    )  # fmt: skip
    started = _WALL.time()
    baseline = _baseline(config, replay_dir)
    names = list(components)
    injections = st.builds(
        Injection,
        fault=faults(names, classes=faults_from),
        at_write=st.integers(0, max(baseline.writes, 1)),
    )
    simulated = [0.0]
    runs = [0]
    last: list[tuple[tuple[Injection, ...], list[str]]] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=False,
        suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )  # fmt: skip
    @given(st.lists(injections, max_size=max_faults))
    def check(schedule: list[Injection]) -> None:
        outcome = config.run(schedule)
        runs[0] += 1
        simulated[0] += outcome.simulated
        found = _failures(outcome, baseline)
        if found:
            last[:] = [(tuple(schedule), found)]
            raise AssertionError("\n".join(found))

    try:
        check()
    except AssertionError as exc:
        if not last:
            raise
        schedule, found = last[0]
        raise _error(config, schedule, found, replay_dir) from exc
    return SweepReport(
        runs=runs[0], failures=(), wall=_WALL.time() - started, simulated=simulated[0]
    )


def _sweep_schedules(
    classes: Sequence[str], components: Sequence[str], baseline: Outcome, stride: int
) -> list[tuple[Injection, ...]]:
    writes_of = dict.fromkeys(components, 0)
    for entry in baseline.trace.entries():
        if "write" in entry and entry.get("component") in writes_of:
            writes_of[entry["component"]] += 1
    schedules: list[tuple[Injection, ...]] = []
    for name in classes:
        for component in components:
            if name == "crash":  # after each of the component's own writes (Sieve)
                schedules.extend(
                    (Injection(fault=Crash(component=component, writes=k)),)
                    for k in range(0, writes_of[component], stride)
                )
                continue
            fault: Fault = fault_from_json({"fault": name, "component": component})
            schedules.extend(
                (Injection(fault=fault, at_write=at),)
                for at in range(0, baseline.writes + 1, stride)
            )
    return schedules


def fault_sweep(
    components: Mapping[str, Setup],
    workload: Workload,
    *,
    invariants: Iterable[Invariant] = (),
    converged: Invariant | None = None,
    faults_from: Iterable[str] = ("crash", "lag", "time-travel", "coalesce", "expire"),
    stride: int = 1,
    seed: int = 0,
    ignore: Callable[[Resource], bool] = _count_everything,
    replay_dir: Path | None = None,
    raise_on_failure: bool = True,
) -> SweepReport:
    """
    Run the workload once per single fault at every point: a crash after each
    of each component's writes, and every other class (with its default
    parameters) injected at every ``stride``-th write of the fault-free run.

    Raises:
        VerificationError: the first failing schedule (unless ``raise_on_failure`` is false;
            the report then lists them all).
    """
    config = _Config(
        components=components, workload=workload, seed=seed, invariants=tuple(invariants),
        converged=converged, ignore=ignore,
    )  # fmt: skip
    started = _WALL.time()
    baseline = config.run((), keep_trace=True)
    if baseline.failures:
        found = ["the fault-free run already fails:", *baseline.failures]
        raise _error(config, (), found, replay_dir)
    failures: list[tuple[tuple[Injection, ...], tuple[str, ...]]] = []
    simulated = 0.0
    schedules = _sweep_schedules(list(faults_from), list(components), baseline, max(stride, 1))
    for schedule in schedules:
        outcome = config.run(schedule)
        simulated += outcome.simulated
        found = _failures(outcome, baseline)
        if found:
            if raise_on_failure:
                raise _error(config, schedule, found, replay_dir)
            failures.append((schedule, tuple(found)))
    return SweepReport(
        runs=len(schedules) + 1,
        failures=tuple(failures),
        wall=_WALL.time() - started,
        simulated=simulated + baseline.simulated,
    )


def _resolve(ref: str | None, what: str) -> Any:
    if not ref:
        raise ValueError(f"{what}: not importable (a lambda or local function), cannot replay")
    module, _, name = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{what}: cannot import {ref!r}: {exc}") from exc
    return obj


_REPLAY_FIELDS = ("components", "workload", "invariants", "converged", "seed", "schedule")


def replay(path: str | Path, *, trace: str | Path | None = None) -> tuple[Outcome, list[str]]:
    """
    Rerun the schedule of a replay file; returns the outcome and what failed
    (compared with a fresh fault-free run), and saves the trace to ``trace``.

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not a replay file (saying why), or names
            something that cannot be imported.
    """
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a replay file (invalid JSON: {exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a replay file (expected a JSON object)")
    if missing := [f for f in _REPLAY_FIELDS if f not in data]:
        raise ValueError(f"{path}: not a replay file (missing {', '.join(map(repr, missing))})")
    config = _Config(
        components={n: _resolve(r, f"components.{n}") for n, r in data["components"].items()},
        workload=_resolve(data["workload"], "workload"),
        seed=int(data["seed"]),
        invariants=tuple(_resolve(r, "invariants") for r in data["invariants"]),
        converged=_resolve(data["converged"], "converged") if data["converged"] else None,
        # Files written before ``ignore`` was recorded ignore nothing.
        ignore=_resolve(data["ignore"], "ignore") if "ignore" in data else _count_everything,
    )
    schedule = schedule_from_json(data["schedule"])
    baseline = config.run(())
    outcome = config.run(schedule, keep_trace=True)
    if trace is not None:
        outcome.trace.save(trace)
    return outcome, _failures(outcome, baseline)
