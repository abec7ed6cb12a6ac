"""
The scheduler: binds pending pods to nodes the way kube-scheduler does.

Pure planning lives here (no I/O, never imports asyncio): :func:`schedule`
takes a pod, the nodes and the pods bound to them, and returns a
:class:`Decision` with a per-node trace. Filters are in
:mod:`controllers.scheduler.filters`, scores in :mod:`controllers.scheduler.scores`,
quantity arithmetic in :mod:`controllers.scheduler.quantity`, the
``PodScheduled`` condition in :mod:`controllers.scheduler.status`.
:mod:`controllers.scheduler.reconciler` is the I/O half: :func:`setup` adds
a controller that reads the caches, calls :func:`schedule` and binds.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    scheduler.setup(manager, recorder=reconcile.EventRecorder(
        cluster, component="default-scheduler", clock=clock))
    async with manager: ...
"""

from __future__ import annotations

import reconcile
from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.scheduler.plan import Decision, NodeTrace, failure_message, schedule
from controllers.scheduler.reconciler import RETRY_UNSCHEDULABLE, Scheduler, pending_keys

__all__ = [
    "RETRY_UNSCHEDULABLE",
    "Decision",
    "NodeTrace",
    "Scheduler",
    "failure_message",
    "schedule",
    "setup",
]


def setup(
    manager: reconcile.Manager,
    *,
    recorder: reconcile.EventRecorder | None = None,
    trace: bool = True,
) -> reconcile.Controller[Pod]:
    """
    Add the scheduler's controller for Pods to ``manager``.

    Node events requeue every pending pod. ``recorder`` (component
    ``default-scheduler``, as in Kubernetes) receives ``FailedScheduling``
    events; without one, none are recorded. ``trace=False`` skips building
    each decision's per-node trace (see :func:`schedule`); bindings are the same.
    """
    pods = manager.store(Pod)
    nodes = manager.store(Node)

    def pending(_: reconcile.Resource) -> list[reconcile.ObjectKey]:
        return pending_keys(pods)

    controller: reconcile.Controller[Pod] = reconcile.Controller(
        name="default-scheduler",
        reconciler=Scheduler(
            manager.client,
            pods=pods,
            nodes=nodes,
            clock=manager.clock,
            recorder=recorder,
            trace=trace,
        ),
        for_=Pod,
        watches=[reconcile.Watch(kind=Node, mapper=reconcile.enqueue_mapped(pending))],
    )
    return manager.add(controller)
