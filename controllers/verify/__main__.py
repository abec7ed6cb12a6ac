"""
``python -m controllers.verify``: replay a failing program, hunt planted bugs, run deep searches.

* ``replay FILE [--trace OUT]``: run a saved program again, byte for byte
  (the digest printed is the trace's); exits 1 if an oracle fails.
* ``bugs [--examples N] [--steps S]``: hunt every planted bug of
  :mod:`controllers.planted` with its profile and print, per bug, the
  examples and seconds it took; exits 1 if one goes undetected.
* ``deep [--examples N] [--steps S] [--profile P]...``: the deep profile:
  many more examples of every profile, without planted bugs, in random
  order (failures shrink and are saved); prints examples, simulated
  seconds and wall time; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import structlog

from controllers.verify.machine import hunt
from controllers.verify.profiles import BUG_PROFILES, PROFILES
from controllers.verify.program import Program, execute


def _drop(_logger: object, _name: str, _event: object) -> str:
    raise structlog.DropEvent


def _quiet() -> None:
    """The controllers' logs would drown the report: a run may make thousands of lines."""
    structlog.configure(processors=[_drop])


def _replay(args: argparse.Namespace) -> int:
    try:
        program = Program.load(args.file)
    except (OSError, ValueError) as exc:
        print(f"python -m controllers.verify: error: {exc}", file=sys.stderr)
        return 2
    report = execute(program, trace=args.trace is not None)
    if args.trace is not None:
        report.trace.save(args.trace)
    print(
        f"{len(program.steps)} steps, seed {program.seed}, bugs {list(program.bugs)}: "
        f"{report.writes} writes, {report.commits} commits, {report.simulated:.1f} simulated s, "
        f"{report.wall:.2f} s wall; trace digest {report.digest}"
    )
    for failure in report.failures:
        print(f"  - {failure}")
    print("FAILED" if report.failures else "all oracles held")
    return 1 if report.failures else 0


def _bugs(args: argparse.Namespace) -> int:
    missed = 0
    print(f"{'planted bug':46} {'profile':10} {'examples':>8} {'seconds':>8}  first finding")
    for bug, profile in BUG_PROFILES.items():
        found = hunt(profile, bugs=[bug], examples=args.examples, steps=args.steps)
        first = (found.error or "").splitlines()[1:2]
        shown = first[0].strip(" -")[:70] if first else "NOT DETECTED"
        at = str(found.failed_at) if found.detected else "-"
        print(f"{bug:46} {profile:10} {at:>8} {found.seconds:8.2f}  {shown}", flush=True)
        missed += not found.detected
    return 1 if missed else 0


def _deep(args: argparse.Namespace) -> int:
    names = args.profile or list(PROFILES)
    total_examples, total_simulated, total_wall, failures = 0, 0.0, 0.0, 0
    for name in names:
        result = hunt(
            name,
            examples=args.examples,
            steps=args.steps,
            seed=args.seed,
            shrink=True,
            derandomize=False,
        )
        total_examples += result.examples
        total_simulated += result.simulated
        total_wall += result.seconds
        verdict = "ok" if not result.detected else f"FAILED at example {result.failed_at}"
        print(
            f"{name:10} {result.examples:5} examples {result.simulated:10.0f} simulated s "
            f"{result.seconds:8.1f} s wall  {verdict}",
            flush=True,
        )
        if result.error:
            print(result.error)
            failures += 1
    print(
        f"total: {total_examples} examples, {total_simulated:.0f} simulated s, "
        f"{total_wall:.1f} s wall, {failures} failing profile(s)"
    )
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controllers.verify", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    replay = sub.add_parser("replay", help="run a saved program again")
    replay.add_argument("file")
    replay.add_argument("--trace", help="write the run's trace (JSON lines) here")
    bugs = sub.add_parser("bugs", help="hunt every planted bug")
    bugs.add_argument("--examples", type=int, default=40)
    bugs.add_argument("--steps", type=int, default=12)
    deep = sub.add_parser("deep", help="many examples of every profile, no bugs planted")
    deep.add_argument("--examples", type=int, default=300)
    deep.add_argument("--steps", type=int, default=25)
    deep.add_argument("--seed", type=int, default=0, help="seeds the clusters and faults")
    deep.add_argument("--profile", action="append", choices=sorted(PROFILES))
    args = parser.parse_args(argv)
    _quiet()
    handlers = {"replay": _replay, "bugs": _bugs, "deep": _deep}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
