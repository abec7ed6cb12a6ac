"""
Deterministic fault-injection verification of controllers, in virtual time.

Write your controller's setup function(s) and a workload (the user's
actions), state your safety properties as plain functions over a
:class:`State`, and let the harness break things::

    from reconcile.verify import assert_converges

    def never_two_gadgets(state):
        names = [g.metadata.name for g in state.list(Gadget)]
        assert len(names) == len(set(names)), names

    assert_converges(
        {"widget-operator": setup},      # component name -> setup(manager)
        workload,                        # async def workload(driver): ...
        invariants=[never_two_gadgets],  # checked after every commit
        converged=all_widgets_ready,     # checked after faults heal
    )

Faults (:mod:`~reconcile.verify.faults`) are injected through each
component's :class:`~reconcile.cluster.faulty.FaultyClient` and
:class:`~reconcile.primitives.skew.SkewedClock`: crashes after the k-th
write with the component restarted from scratch, stale caches and relists
back in time, lost, repeated, reordered and coalesced watch events, 409s
and 429s, clock skew, jumps and pauses. Every run is then checked by the
oracles of :mod:`~reconcile.verify.run` and compared with a fault-free run.
Failures shrink to a minimal schedule and come with a replay file
(``python -m reconcile.verify replay FILE [--trace out.jsonl]``);
``python -m reconcile.verify diff A B`` shows where two traces part.

This subpackage needs ``hypothesis`` (the ``verify`` extra).
"""

from __future__ import annotations

from reconcile.verify.faults import (
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
    Slow,
    Throttle,
    TimeTravel,
    fault_from_json,
    fault_to_json,
    faults,
)
from reconcile.verify.harness import (
    SweepReport,
    VerificationError,
    assert_converges,
    fault_sweep,
    replay,
)
from reconcile.verify.oracles import FurtherPass, State, canonical, further_pass, orphans
from reconcile.verify.run import Driver, Injection, Invariant, Outcome, Workload, run_once
from reconcile.verify.system import Setup, Simulation, Supervisor, component_seed
from reconcile.verify.trace import Divergence, Trace, diff

__all__ = [
    "FAULT_CLASSES",
    "Coalesce",
    "Conflicts",
    "Crash",
    "Divergence",
    "Driver",
    "Expire",
    "Fault",
    "Freeze",
    "FurtherPass",
    "Heal",
    "Injection",
    "Invariant",
    "Lag",
    "Outcome",
    "Perturb",
    "Remember",
    "Setup",
    "Simulation",
    "Skew",
    "Slow",
    "State",
    "Supervisor",
    "SweepReport",
    "Throttle",
    "TimeTravel",
    "Trace",
    "VerificationError",
    "Workload",
    "assert_converges",
    "canonical",
    "component_seed",
    "diff",
    "fault_from_json",
    "fault_sweep",
    "fault_to_json",
    "faults",
    "further_pass",
    "orphans",
    "replay",
    "run_once",
]
