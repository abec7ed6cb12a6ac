"""
``python -m reconcile.verify``: replay a failure, diff two traces.

* ``replay FILE [--trace OUT.jsonl]``: rerun the schedule saved by a
  failing check, print what failed and the trace digest, save the trace;
* ``diff A.jsonl B.jsonl``: the first line where two traces differ
  (exit status 1 when they do).

A file that cannot be read or is not what the command expects is reported
on stderr with exit status 2, as a usage error is.
"""

from __future__ import annotations

import argparse
import sys

from reconcile.verify.harness import replay
from reconcile.verify.trace import Trace, diff


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv``, else ``sys.argv``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m reconcile.verify", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rerun = commands.add_parser("replay", help="rerun a saved failing schedule")
    rerun.add_argument("file")
    rerun.add_argument("--trace", help="write the run's trace here (JSON lines)")
    compare = commands.add_parser("diff", help="where two traces part")
    compare.add_argument("left")
    compare.add_argument("right")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (OSError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "diff":
        divergence = diff(Trace.load(args.left), Trace.load(args.right))
        print("traces are identical" if divergence is None else divergence)
        return 0 if divergence is None else 1
    outcome, failures = replay(args.file, trace=args.trace)
    for line in failures:
        print(line)
    print(
        f"{'FAILED' if failures else 'passed'}: {outcome.writes} writes, "
        f"{outcome.restarts} restarts, {outcome.simulated:.1f} simulated s, "
        f"trace {outcome.digest[:16]}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
