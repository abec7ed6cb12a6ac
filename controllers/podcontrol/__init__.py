"""
What the pod-owning controllers share: creating and deleting pods, observing them, mapping them.

Kubernetes keeps this in pkg/controller/controller_utils.go, and so it is
here, for the ReplicaSet, DaemonSet and Job controllers:

* :class:`PodControl` (:mod:`~controllers.podcontrol.control`) creates pods
  in slow-start batches and deletes them with a uid precondition, records
  the ``SuccessfulCreate`` / ``FailedCreate`` / ``SuccessfulDelete`` /
  ``FailedDelete`` events and lowers :class:`reconcile.Expectations` for
  what never reaches the informer (``RealPodControl``, ``slowStartBatch``).
* :class:`PodExpectationsObserver` (:mod:`~controllers.podcontrol.expectations`)
  is the Pod informer handler that tells the expectations what was observed.
* :func:`owner_key` and :func:`pod_owners` (:mod:`~controllers.podcontrol.owners`)
  map a pod to the owners that care about it.
* :func:`claim_pods` decides which pods an owner keeps, adopts and
  releases (pure), and :func:`adopt` and :func:`release`
  (:mod:`~controllers.podcontrol.claims`) write that down
  (``PodControllerRefManager``).
* :class:`StatusWrites` (:mod:`~controllers.podcontrol.writes`) remembers a
  reconciler's own last status write, so a cache lagging behind it is not
  mistaken for a change.

Apart from :func:`claim_pods`, nothing here decides anything: the
callers' pure planners do.
"""

from __future__ import annotations

from controllers.podcontrol.claims import Claim, adopt, claim_pods, release
from controllers.podcontrol.control import PodControl, concurrently
from controllers.podcontrol.expectations import PodExpectationsObserver
from controllers.podcontrol.owners import owner_key, pod_owners
from controllers.podcontrol.writes import StatusWrites

__all__ = [
    "Claim",
    "PodControl",
    "PodExpectationsObserver",
    "StatusWrites",
    "adopt",
    "claim_pods",
    "concurrently",
    "owner_key",
    "pod_owners",
    "release",
]
