"""
The embedded cluster: ``from controllers import Cluster``.

See :class:`~controllers.cluster.facade.Cluster`; ``kubectl apply``
semantics are in :mod:`controllers.cluster.apply`, the object verbs in
:mod:`controllers.cluster.objects`, fault injection in
:mod:`controllers.cluster.faults`.
"""

from __future__ import annotations

from controllers.cluster.facade import COMPONENTS, Cluster, Setup, run
from controllers.cluster.objects import resolve_kind

__all__ = ["COMPONENTS", "Cluster", "Setup", "resolve_kind", "run"]
