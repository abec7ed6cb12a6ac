"""
A pod's quality-of-service class, as the kubelet reports it in ``status.qosClass``.

Kubernetes' rules (``pkg/apis/core/v1/helper/qos``), over every container
and init container and the two compute resources ``cpu`` and ``memory``:

* ``BestEffort``: no container requests or limits either resource;
* ``Guaranteed``: every container limits both, and every request it states
  equals its limit (an unstated request defaults to the limit);
* ``Burstable``: anything else.
"""

from __future__ import annotations

from controllers.api.container import Container
from controllers.api.pod import PodSpec
from controllers.scheduler.quantity import parse_quantity

__all__ = ["BEST_EFFORT", "BURSTABLE", "GUARANTEED", "qos_class"]

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"

_COMPUTE = ("cpu", "memory")


def _guaranteed(container: Container) -> bool:
    limits, requests = container.limits, container.requests
    for resource in _COMPUTE:
        limit = limits.get(resource)
        if limit is None or parse_quantity(limit) == 0:
            return False
        request = requests.get(resource)
        if request is not None and parse_quantity(request) != parse_quantity(limit):
            return False
    return True


def qos_class(spec: PodSpec) -> str:
    """The QoS class of a pod with ``spec`` (see the module docstring)."""
    containers = (*spec.init_containers, *spec.containers)
    stated = any(
        parse_quantity(q) != 0
        for c in containers
        for resources in (c.requests, c.limits)
        for name, q in resources.items()
        if name in _COMPUTE
    )
    if not stated:
        return BEST_EFFORT
    if all(_guaranteed(c) for c in containers):
        return GUARANTEED
    return BURSTABLE
