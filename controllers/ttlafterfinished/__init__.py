"""
The TTL-after-finished controller: deletes finished Jobs once their TTL has passed.

Like kube-controller-manager's ``ttl-after-finished-controller``
(pkg/controller/ttlafterfinished in Kubernetes): a Job with
``ttlSecondsAfterFinished`` whose ``Complete`` or ``Failed`` condition is
``True`` is deleted ``ttl`` seconds after that condition's transition, in
(virtual) time. Before deleting, the Job is read again from the API server
(the TTL may have been changed), and the deletion carries a uid
precondition, so a Job re-created under the same name is left alone.

The Job is deleted with ``propagationPolicy: Background``: the garbage
collector then deletes its pods (Kubernetes uses ``Foreground``, which
makes the Job linger until its pods are gone; the end state is the same).

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    ttlafterfinished.setup(manager)
    async with manager: ...
"""

from __future__ import annotations

from controllers.api.batch import Job
from controllers.ttlafterfinished.plan import expire_time, needs_cleanup, time_left
from controllers.ttlafterfinished.reconciler import TTLAfterFinishedReconciler
from reconcile import Controller, Manager

__all__ = [
    "CONTROLLER_NAME",
    "TTLAfterFinishedReconciler",
    "expire_time",
    "needs_cleanup",
    "setup",
    "time_left",
]

CONTROLLER_NAME = "ttl-after-finished-controller"


def setup(manager: Manager, *, workers: int = 5) -> Controller[Job]:
    """
    Add the TTL-after-finished controller to ``manager``.

    ``workers`` is Kubernetes' ``--concurrent-ttl-after-finished-syncs`` (5).
    """
    reconciler = TTLAfterFinishedReconciler(
        manager.client, jobs=manager.store(Job), clock=manager.clock
    )
    controller: Controller[Job] = Controller(
        name=CONTROLLER_NAME, reconciler=reconciler, for_=Job, workers=workers
    )
    return manager.add(controller)
