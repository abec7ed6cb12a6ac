"""
The embedded cluster: ``from controllers import Cluster``.

See :class:`~controllers.cluster.facade.Cluster`; ``kubectl apply``
semantics are in :mod:`controllers.cluster.apply`, the object verbs in
:mod:`controllers.cluster.objects`, fault injection in
:mod:`controllers.cluster.faults`, kubectl's workload verbs in
:mod:`controllers.cluster.workloads`, and the garbage-collector tuning
:func:`controllers.run` applies in :mod:`controllers.cluster.collector`.
"""

from __future__ import annotations

from controllers.cluster.collector import SIMULATION_GC_THRESHOLDS, simulation_collector
from controllers.cluster.facade import COMPONENTS, Cluster, Setup, run
from controllers.cluster.objects import resolve_kind

__all__ = [
    "COMPONENTS",
    "SIMULATION_GC_THRESHOLDS",
    "Cluster",
    "Setup",
    "resolve_kind",
    "run",
    "simulation_collector",
]
