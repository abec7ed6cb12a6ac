"""
What Pod and Service events mean for a Service's endpoints.

Shared by the Endpoints and EndpointSlice controllers; everything runs in
the informers, synchronously, once per event.

* :data:`INDEX_SELECTOR` indexes each Service under one pair of its
  selector (``namespace/key=value``, the smallest pair). A pod can only be
  selected by a Service whose indexed pair is one of its own labels, so
  :func:`ServicesOfPod` finds the Services of a pod with one index look-up
  per pod label, never a scan of the namespace's Services.
* :func:`pod_endpoints_changed` drops pod updates no endpoint depends on
  (container restarts, status times, ``Pending`` → ``Running``...).
* :func:`service_spec_changed` drops Service updates that change neither
  the spec nor the labels (status writes).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controllers.api.core import Pod, Service
from controllers.endpoints.pods import is_pod_ready
from reconcile import ObjectKey, Resource, Store

__all__ = [
    "INDEX_SELECTOR",
    "ServicesOfPod",
    "pod_endpoints_changed",
    "pod_endpoints_changed_unless_marked",
    "selector_pair",
    "service_spec_changed",
]

INDEX_SELECTOR = "endpoints.selector"
"""The Service cache index: each Service with a selector under one of its pairs (``ns/k=v``)."""


def selector_pair(service: Service) -> tuple[str, ...]:
    """The :data:`INDEX_SELECTOR` indexer: ``("ns/k=v",)`` for the smallest pair, ``()`` if none."""
    selector = service.spec.selector
    if not selector:
        return ()
    key = min(selector)
    return (f"{service.metadata.namespace}/{key}={selector[key]}",)


@attrs.frozen
class ServicesOfPod:
    """
    Maps a pod to the keys of the Services of its namespace that select it.

    Cost: one index look-up per pod label, plus a selector match per
    Service found.
    """

    services: Store[Service]

    def __call__(self, obj: Resource) -> Iterable[ObjectKey]:
        if not isinstance(obj, Pod) or not len(self.services):
            return ()  # no Services at all (a cluster of bare workloads): nothing to look up
        meta = obj.metadata
        labels = meta.labels
        keys: list[ObjectKey] = []
        for key, value in labels.items():
            for service in self.services.by_index(
                INDEX_SELECTOR, f"{meta.namespace}/{key}={value}"
            ):
                selector = service.spec.selector
                if all(labels.get(k) == v for k, v in selector.items()):
                    keys.append(service.metadata.key)
        return keys


def pod_endpoints_changed(old: Resource | None, new: Resource | None) -> bool:
    """
    Pod events an endpoint can see: adds, deletes, and updates of what endpoints are made of.

    Labels (which Services select it), the IPs, the node, the Ready
    condition, the deletion mark, a terminal phase, hostname and
    subdomain. Container ports are immutable.
    """
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        return True
    o, n = old.status, new.status
    return (
        old.metadata.labels != new.metadata.labels
        or o.pod_ip != n.pod_ip
        or o.pod_ips != n.pod_ips
        or old.spec.node_name != new.spec.node_name
        or is_pod_ready(old) != is_pod_ready(new)
        or (old.metadata.deletion_timestamp is None) != (new.metadata.deletion_timestamp is None)
        or _terminal(o.phase) != _terminal(n.phase)
        or old.spec.hostname != new.spec.hostname
        or old.spec.subdomain != new.spec.subdomain
    )


def pod_endpoints_changed_unless_marked(old: Resource | None, new: Resource | None) -> bool:
    """
    :func:`pod_endpoints_changed`, but deletions of pods with a deletion mark are dropped.

    Only the planted bug ``endpoints.edge-triggered-delete`` filters this way,
    reasoning that the update which marked the pod took it out already. A
    watch that coalesces the mark and the deletion into one event (or a
    Service with ``publishNotReadyAddresses``, which keeps terminating pods)
    proves it wrong.
    """
    if new is None and isinstance(old, Pod) and old.metadata.deletion_timestamp is not None:
        return False
    return pod_endpoints_changed(old, new)


def service_spec_changed(old: Resource | None, new: Resource | None) -> bool:
    """Service events that can change endpoints: adds, deletes, spec or label changes."""
    if not isinstance(old, Service) or not isinstance(new, Service):
        return True
    return old.spec != new.spec or old.metadata.labels != new.metadata.labels


def _terminal(phase: str) -> bool:
    return phase in ("Succeeded", "Failed")
