"""
Whole-cluster verification of the built-in controllers under injected faults.

A hypothesis state machine (:func:`cluster_machine`) drives an embedded
:class:`controllers.Cluster` through random programs of user actions, faults
and waits (:mod:`~controllers.verify.steps`), drawn from a
:class:`~controllers.verify.profiles.Profile`. Safety invariants
(:mod:`~controllers.verify.safety`) are checked at every commit; after the
faults heal, liveness oracles (:mod:`~controllers.verify.liveness`) and a
differential comparison with a fault-free run judge the end state. Failures
shrink to a short program saved as a file that ``python -m controllers.verify
replay FILE`` replays byte for byte; :func:`hunt` measures how fast the
harness catches a planted bug (:mod:`controllers.planted`).

Needs ``hypothesis`` (the ``verify`` extra).
"""

from __future__ import annotations

from controllers.verify.liveness import Verdict, project
from controllers.verify.machine import ClusterFailureError, Hunt, cluster_machine, hunt
from controllers.verify.profiles import BUG_PROFILES, PROFILES, Profile
from controllers.verify.program import Program, Report, execute
from controllers.verify.world import World

__all__ = [
    "BUG_PROFILES",
    "PROFILES",
    "ClusterFailureError",
    "Hunt",
    "Profile",
    "Program",
    "Report",
    "Verdict",
    "World",
    "cluster_machine",
    "execute",
    "hunt",
    "project",
]
