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
from controllers.scheduler.reconciler import RETRY_UNSCHEDULABLE, Scheduler

__all__ = [
    "RETRY_UNSCHEDULABLE",
    "Decision",
    "NodeTrace",
    "Scheduler",
    "failure_message",
    "node_changed",
    "schedule",
    "setup",
]


def node_changed(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    """
    Whether a node event can change a decision: an added or removed node, or
    new labels, spec (taints, ``unschedulable``) or allocatable resources.

    Heartbeats (conditions, ``lastHeartbeatTime``) change nothing the filters
    and scores read, so they requeue no pending pod (kube-scheduler's queueing
    hints skip them likewise).
    """
    if not isinstance(old, Node) or not isinstance(new, Node):
        return True
    return (
        old.spec != new.spec
        or old.metadata.labels != new.metadata.labels
        or old.status.allocatable != new.status.allocatable
    )


def setup(
    manager: reconcile.Manager,
    *,
    recorder: reconcile.EventRecorder | None = None,
    trace: bool = True,
) -> reconcile.Controller[Pod]:
    """
    Add the scheduler's controller for Pods to ``manager``.

    Only pod events that can give the scheduler work pass (see
    :meth:`Scheduler.concerns`). Node events that can change a decision (see :func:`node_changed`)
    requeue every pending pod that was found unschedulable. ``recorder`` (component
    ``default-scheduler``, as in Kubernetes) receives ``FailedScheduling``
    events; without one, none are recorded. ``trace=False`` skips building
    each decision's per-node trace (see :func:`schedule`); bindings are the same.
    """
    reconciler = Scheduler(
        manager.client,
        pods=manager.informers.get(Pod),
        nodes=manager.informers.get(Node),
        clock=manager.clock,
        recorder=recorder,
        trace=trace,
    )

    def unschedulable(_: reconcile.Resource) -> list[reconcile.ObjectKey]:
        return reconciler.unschedulable()

    watch_nodes = reconcile.Watch(
        kind=Node, mapper=reconcile.enqueue_mapped(unschedulable), predicates=(node_changed,)
    )
    controller: reconcile.Controller[Pod] = reconcile.Controller(
        name="default-scheduler",
        reconciler=reconciler,
        for_=Pod,
        predicates=[reconciler.concerns],
        watches=[watch_nodes],
    )
    return manager.add(controller)
