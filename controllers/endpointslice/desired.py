"""
The endpoints a Service should have in its EndpointSlices, pure.

Kubernetes: ``podToEndpoint`` and ``getEndpointPorts``
(staging/src/k8s.io/endpointslice/utils.go). Every pod the Service selects
that is not terminal and has an IP of the Service's family is an endpoint,
terminating ones included:

* ``serving``: the pod is Ready;
* ``terminating``: the pod has a deletion timestamp;
* ``ready``: serving and not terminating (always true with
  ``publishNotReadyAddresses``);
* ``nodeName``, ``zone`` (the node's ``topology.kubernetes.io/zone``
  label), ``hostname`` (when the pod's subdomain is the Service) and a
  ``targetRef`` to the pod.

Ports are resolved per pod (:func:`~controllers.endpoints.find_port`); a
named port a pod lacks is left out of that pod's port set, and endpoints
are grouped by port set, since every endpoint of a slice shares its ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter

from controllers.api.core import Pod, Service
from controllers.api.discovery import Endpoint, EndpointConditions, EndpointSlicePort
from controllers.endpoints import (
    find_port,
    hostname_for,
    is_pod_ready,
    pod_ip,
    service_family,
    should_pod_be_in_endpoints,
)
from controllers.endpoints.memo import PodMemo, _Missing
from reconcile import ObjectReference

__all__ = [
    "ZONE_LABEL",
    "Memo",
    "PortSet",
    "desired_endpoints",
    "endpoint_key",
    "pod_endpoint",
    "pod_entry",
    "ports_of",
]

ZONE_LABEL = "topology.kubernetes.io/zone"

_ADDRESS_UID = itemgetter(0, 1)

PortSet = tuple[EndpointSlicePort, ...]
"""The ports of a slice, sorted by name, port, protocol (what groups endpoints)."""


def endpoint_key(endpoint: Endpoint) -> str:
    """An endpoint's identity: its pod's uid, else its first address."""
    ref = endpoint.target_ref
    if ref is not None and ref.uid:
        return str(ref.uid)
    return endpoint.addresses[0] if endpoint.addresses else ""


def ports_of(service: Service, pod: Pod) -> PortSet:
    """The Service's ports as ``pod`` serves them, sorted; unresolvable ones left out."""
    ports = []
    for service_port in service.spec.ports:
        number = find_port(pod, service_port)
        if number is None:
            continue
        ports.append(
            EndpointSlicePort(
                name=service_port.name,
                protocol=service_port.protocol or "TCP",
                port=number,
                app_protocol=service_port.app_protocol,
            )
        )
    ports.sort(key=lambda p: (p.name or "", p.port or 0, p.protocol or ""))
    return tuple(ports)


def pod_endpoint(pod: Pod, service: Service, ip: str, *, zone: str | None) -> Endpoint:
    """The endpoint of ``pod`` at ``ip`` for ``service``, with its conditions."""
    serving = is_pod_ready(pod)
    terminating = pod.metadata.deletion_timestamp is not None
    ready = service.spec.publish_not_ready_addresses or (serving and not terminating)
    meta = pod.metadata
    return Endpoint(
        addresses=(ip,),
        conditions=EndpointConditions(ready=ready, serving=serving, terminating=terminating),
        hostname=hostname_for(pod, service) or None,
        target_ref=ObjectReference(
            kind="Pod", namespace=meta.namespace, name=meta.name, uid=meta.uid
        ),
        node_name=pod.spec.node_name or None,
        zone=zone,
    )


Memo = PodMemo["tuple[PortSet, Endpoint] | None"]
"""The endpoints of a Service's pods (see :class:`~controllers.endpoints.PodMemo`)."""


def pod_entry(service: Service, pod: Pod, zone: str | None) -> tuple[PortSet, Endpoint] | None:
    """``pod``'s port set and endpoint for ``service``, or ``None`` if it has none."""
    selector = service.spec.selector
    labels = pod.metadata.labels
    if pod.metadata.namespace != service.metadata.namespace or not selector:
        return None
    if any(labels.get(k) != v for k, v in selector.items()):
        return None
    if not should_pod_be_in_endpoints(pod, include_terminating=True):
        return None
    ip = pod_ip(pod, service_family(service))
    if not ip:
        return None
    return ports_of(service, pod), pod_endpoint(pod, service, ip, zone=zone)


def desired_endpoints(
    service: Service,
    pods: Iterable[Pod],
    *,
    zones: Mapping[str, str] | None = None,
    memo: Memo | None = None,
) -> dict[PortSet, dict[str, Endpoint]]:
    """
    The endpoints of ``service`` over ``pods``, grouped by port set, keyed by :func:`endpoint_key`.

    Pods the Service does not select (other namespace, labels) are ignored;
    ``zones`` maps node names to zones. Each port set's endpoints are in
    address order, whatever the order of ``pods``. ``memo`` (kept by the
    caller) reuses the endpoint of a pod whose object, Service and zone are
    the very same as last time; the result is equal with or without it.
    """
    zones = zones or {}
    # By the identity of the port set (interned by the memo: most pods share
    # one), then merged by equality; per port set, (address, uid, endpoint),
    # sorted natively without a key function per endpoint.
    by_identity: dict[int, tuple[PortSet, list[tuple[str, str, Endpoint]]]] = {}
    for pod in pods:
        node = pod.spec.node_name
        zone = zones.get(node) if node else None
        if memo is None:
            entry = pod_entry(service, pod, zone)
        else:
            context = (service, zone)
            hit = memo.lookup(pod, context)
            if isinstance(hit, _Missing):
                entry = pod_entry(service, pod, zone)
                if entry is not None:
                    entry = (memo.intern(entry[0]), entry[1])
                memo.store(pod, context, entry)
            else:
                entry = hit
        if entry is not None:
            ports, endpoint = entry
            group = by_identity.get(id(ports))
            if group is None:
                group = by_identity[id(ports)] = (ports, [])
            ip = endpoint.addresses[0]
            group[1].append((ip, str(pod.metadata.uid) or ip, endpoint))
    groups: dict[PortSet, list[tuple[str, str, Endpoint]]] = {}
    for ports, members in by_identity.values():
        groups.setdefault(ports, []).extend(members)
    return {
        ports: {uid: e for _, uid, e in sorted(endpoints, key=_ADDRESS_UID)}
        for ports, endpoints in sorted(groups.items(), key=lambda item: _ports_order(item[0]))
    }


def _ports_order(ports: PortSet) -> tuple[tuple[str, int, str], ...]:
    return tuple((p.name or "", p.port or 0, p.protocol or "") for p in ports)
