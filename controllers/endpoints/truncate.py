"""
The Endpoints capacity limit: at most 1,000 addresses, ready ones kept first.

Kubernetes: ``truncateEndpoints`` in pkg/controller/endpoint/endpoints_controller.go.
Beyond :data:`MAX_CAPACITY` addresses (ready and not-ready, counted per
subset), not-ready addresses are dropped first; if the ready ones alone are
too many, every not-ready address goes and the ready ones are cut. Each
subset keeps a share proportional to its size, rounded up, so the last
subsets may get less. The Endpoints is then annotated
:data:`OVER_CAPACITY_ANNOTATION` ``: truncated``. EndpointSlices have no
such limit, which is why kube-proxy reads those.
"""

from __future__ import annotations

import attrs

from controllers.api.core import EndpointSubset

__all__ = ["MAX_CAPACITY", "OVER_CAPACITY_ANNOTATION", "truncate"]

MAX_CAPACITY = 1000
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"


def truncate(
    subsets: tuple[EndpointSubset, ...], capacity: int = MAX_CAPACITY
) -> tuple[tuple[EndpointSubset, ...], bool]:
    """
    ``subsets`` cut down to ``capacity`` addresses, and whether anything was cut.

    Guarantees: at most ``capacity`` addresses remain; no ready address is
    dropped while a not-ready one remains; within a subset the first
    addresses (in the sorted order) are kept.
    """
    if capacity < 0:
        raise ValueError(f"capacity: must be >= 0, got {capacity}")
    ready = sum(len(s.addresses) for s in subsets)
    not_ready = sum(len(s.not_ready_addresses) for s in subsets)
    if ready + not_ready <= capacity:
        return subsets, False
    cut_ready = ready > capacity
    budget = capacity if cut_ready else capacity - ready
    total = ready if cut_ready else not_ready
    left = budget
    result = []
    for subset in subsets:
        size = len(subset.addresses if cut_ready else subset.not_ready_addresses)
        share = min(-(-size * budget // total), left)  # ceil, then what is left
        if cut_ready:
            kept = attrs.evolve(subset, addresses=subset.addresses[:share], not_ready_addresses=())
            left -= len(kept.addresses)
        else:
            kept = attrs.evolve(subset, not_ready_addresses=subset.not_ready_addresses[:share])
            left -= len(kept.not_ready_addresses)
        result.append(kept)
    return tuple(result), True
