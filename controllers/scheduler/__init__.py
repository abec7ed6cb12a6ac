"""
The scheduler: binds pending pods to nodes the way kube-scheduler does.

Pure planning lives here (no I/O, never imports asyncio): :func:`schedule`
takes a pod, the nodes and the pods bound to them, and returns a
:class:`Decision` with a per-node trace. Filters are in
:mod:`controllers.scheduler.filters`, scores in :mod:`controllers.scheduler.scores`,
quantity arithmetic in :mod:`controllers.scheduler.quantity`.
"""

from __future__ import annotations

from controllers.scheduler.plan import Decision, NodeTrace, failure_message, schedule

__all__ = ["Decision", "NodeTrace", "failure_message", "schedule"]
