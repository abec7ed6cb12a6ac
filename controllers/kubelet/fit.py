"""
Whether a pod bound to a node fits what the node has left: pure, no I/O.

The scheduler only binds pods that fit, but a pod whose ``spec.nodeName`` is
set by its author reaches the kubelet without it. As Kubernetes' kubelet does
(``lifecycle/predicate.go``, with the scheduler's ``noderesources.Fits``),
:func:`reject` compares the pod's requests with the node's allocatable minus
the requests of the pods already admitted there and still active. The first
resource that does not fit names the rejection, in Kubernetes' order: the pod
count, then ``cpu``, ``memory``, ``ephemeral-storage``, then any other
resource by name. Amounts are those of the scheduler
(:func:`controllers.scheduler.snapshot.requests`): cpu in millicores,
everything else in whole units (memory in bytes).

A pod that requests nothing is only counted against ``pods``. Extended
resources the node does not offer (``example.com/gpu`` on a node without
it) are left out, as Kubernetes leaves them to cluster-level allocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from controllers.api.pod import Pod
from controllers.scheduler.snapshot import requests

__all__ = ["Rejection", "reject"]

_STANDARD = ("cpu", "memory", "ephemeral-storage")


@attrs.frozen(kw_only=True)
class Rejection:
    """
    Why the kubelet refuses a pod: Kubernetes' reason and message.

    ``reason`` is ``OutOf<resource>`` (``OutOfcpu``, ``OutOfmemory``,
    ``OutOfpods``...); ``message`` is the kubelet's "Node didn't have enough
    resource: ..." (the pod status prefixes it with "Pod was rejected: ").
    """

    reason: str
    message: str


def _rejection(resource: str, requested: int, used: int, capacity: int) -> Rejection:
    return Rejection(
        reason=f"OutOf{resource}",
        message=(
            f"Node didn't have enough resource: {resource}, requested: {requested}, "
            f"used: {used}, capacity: {capacity}"
        ),
    )


def _extended(resource: str) -> bool:
    """Whether ``resource`` is an extended resource (``example.com/gpu``), not a native one."""
    return "/" in resource and "kubernetes.io/" not in resource


def reject(
    pod: Pod, *, allocatable: Mapping[str, int], admitted: Sequence[Pod]
) -> Rejection | None:
    """
    The reason the node must refuse ``pod``, or ``None`` when it fits.

    Args:
        pod: The pod to admit.
        allocatable: The node's allocatable, in the units of
            :func:`~controllers.scheduler.snapshot.requests`.
        admitted: The other pods the node runs (admitted and not terminal).
    """
    allowed = allocatable.get("pods", 0)
    if len(admitted) + 1 > allowed:
        return _rejection("pods", 1, len(admitted), allowed)
    wanted = requests(pod)
    if not any(wanted.values()):
        return None
    others = sorted(
        name
        for name in wanted
        if name not in _STANDARD
        and name != "pods"
        and not (_extended(name) and name not in allocatable)
    )
    names = (*_STANDARD, *others)
    used = dict.fromkeys(names, 0)
    for other in admitted:
        for name, amount in requests(other).items():
            if name in used:
                used[name] += amount
    for name in names:
        capacity = allocatable.get(name, 0)
        if capacity < wanted.get(name, 0) + used[name]:
            return _rejection(name, wanted.get(name, 0), used[name], capacity)
    return None
