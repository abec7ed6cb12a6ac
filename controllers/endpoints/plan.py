"""
The Endpoints controller's decisions, pure: which addresses back a Service, and what to write.

Kubernetes: ``syncService`` in pkg/controller/endpoint/endpoints_controller.go.

* :func:`endpoints_for` turns a Service and pods into repacked subsets:
  every matching pod that :func:`~controllers.endpoints.pods.should_pod_be_in_endpoints`
  (terminating ones only with ``publishNotReadyAddresses``), ready ones in
  ``addresses`` and the others in ``notReadyAddresses`` (all in
  ``addresses`` with ``publishNotReadyAddresses``), each Service port
  resolved per pod by :func:`~controllers.endpoints.pods.find_port` (a pod
  lacking a named port is left out of that port only).
* :func:`plan` compares that with the stored Endpoints and says whether to
  create, update or delete it. Nothing is written when the subsets, the
  labels and the over-capacity annotation are unchanged.

Ownership: like Kubernetes, the Endpoints has no owner reference; the
controller marks the ones it writes with :data:`MANAGED_BY_LABEL`
(``endpoints.kubernetes.io/managed-by: endpoint-controller``, as Kubernetes
1.33 does), and only such an Endpoints is deleted when its Service is gone
or has no selector. An Endpoints of a selector-less Service is the user's:
it is never written or deleted.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controllers.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Pod,
    Service,
)
from controllers.endpoints.pods import (
    IPV4,
    find_port,
    hostname_for,
    is_headless,
    is_pod_ready,
    pod_ip,
    should_pod_be_in_endpoints,
)
from controllers.endpoints.repack import repack_subsets
from controllers.endpoints.truncate import MAX_CAPACITY, OVER_CAPACITY_ANNOTATION, truncate
from reconcile import FrozenDict, ObjectMeta, ObjectReference

__all__ = [
    "CONTROLLER_NAME",
    "HEADLESS_LABEL",
    "MANAGED_BY_LABEL",
    "EndpointsPlan",
    "endpoints_for",
    "endpoints_labels",
    "is_managed",
    "plan",
    "selects",
    "service_family",
]

CONTROLLER_NAME = "endpoint-controller"
MANAGED_BY_LABEL = "endpoints.kubernetes.io/managed-by"
HEADLESS_LABEL = "service.kubernetes.io/headless"


@attrs.frozen(kw_only=True)
class EndpointsPlan:
    """At most one write: the Endpoints to create, to update, or to delete."""

    create: Endpoints | None = None
    update: Endpoints | None = None
    delete: Endpoints | None = None

    @property
    def empty(self) -> bool:
        """Whether there is nothing to write."""
        return self.create is None and self.update is None and self.delete is None


def selects(service: Service) -> bool:
    """Whether ``service`` gets managed endpoints: it has a selector and is not ExternalName."""
    return bool(service.spec.selector) and service.spec.type != "ExternalName"


def service_family(service: Service) -> str:
    """The Service's primary IP family (``IPv4`` unless ``spec.ipFamilies`` says otherwise)."""
    return service.spec.ip_families[0] if service.spec.ip_families else IPV4


def is_managed(endpoints: Endpoints) -> bool:
    """Whether this controller wrote ``endpoints`` (it carries :data:`MANAGED_BY_LABEL`)."""
    return endpoints.metadata.labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME


def endpoints_labels(service: Service) -> FrozenDict[str, str]:
    """The Service's labels, :data:`MANAGED_BY_LABEL`, and :data:`HEADLESS_LABEL` if headless."""
    labels = {k: v for k, v in service.metadata.labels.items() if k != HEADLESS_LABEL}
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return FrozenDict(labels)


def endpoints_for(service: Service, pods: Iterable[Pod]) -> tuple[EndpointSubset, ...]:
    """
    The repacked subsets of ``service`` over ``pods`` (pods it does not select are ignored).

    See the module docstring; the order of ``pods`` does not matter.
    """
    selector = service.spec.selector
    namespace = service.metadata.namespace
    tolerate = service.spec.publish_not_ready_addresses
    family = service_family(service)
    ports = service.spec.ports
    headless = is_headless(service)
    subsets: list[EndpointSubset] = []
    for pod in pods:
        labels = pod.metadata.labels
        if pod.metadata.namespace != namespace or not selector:
            continue
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        if not should_pod_be_in_endpoints(pod, include_terminating=tolerate):
            continue
        ip = pod_ip(pod, family)
        if not ip:
            continue
        address = _address(pod, service, ip)
        ready = tolerate or is_pod_ready(pod)
        if not ports:
            if headless:
                subsets.append(_subset(address, (), ready=ready))
            continue
        for service_port in ports:
            number = find_port(pod, service_port)
            if number is None:
                continue
            port = EndpointPort(
                name=service_port.name,
                port=number,
                protocol=service_port.protocol or "TCP",
                app_protocol=service_port.app_protocol,
            )
            subsets.append(_subset(address, (port,), ready=ready))
    return repack_subsets(subsets)


def plan(service: Service | None, existing: Endpoints | None, pods: Iterable[Pod]) -> EndpointsPlan:
    """
    What to write so that ``existing`` (the stored Endpoints, if any) serves ``service``.

    ``service`` is ``None`` when it no longer exists. Guarantees: the plan
    never touches an Endpoints this controller did not write unless the
    Service selects pods; applying the plan and planning again (same
    inputs) gives an empty plan.
    """
    if service is None or not selects(service):
        if existing is not None and is_managed(existing):
            return EndpointsPlan(delete=existing)
        return EndpointsPlan()
    subsets, truncated = truncate(endpoints_for(service, pods), MAX_CAPACITY)
    labels = endpoints_labels(service)
    if existing is None:
        annotations = {OVER_CAPACITY_ANNOTATION: "truncated"} if truncated else {}
        meta = ObjectMeta(
            name=service.metadata.name,
            namespace=service.metadata.namespace,
            labels=labels,
            annotations=FrozenDict(annotations),
        )
        return EndpointsPlan(create=Endpoints(metadata=meta, subsets=subsets))
    annotations = dict(existing.metadata.annotations)
    if truncated:
        annotations[OVER_CAPACITY_ANNOTATION] = "truncated"
    else:
        annotations.pop(OVER_CAPACITY_ANNOTATION, None)
    if (
        existing.subsets == subsets
        and existing.metadata.labels == labels
        and existing.metadata.annotations == annotations
    ):
        return EndpointsPlan()
    meta = attrs.evolve(existing.metadata, labels=labels, annotations=FrozenDict(annotations))
    return EndpointsPlan(update=attrs.evolve(existing, metadata=meta, subsets=subsets))


def _address(pod: Pod, service: Service, ip: str) -> EndpointAddress:
    meta = pod.metadata
    return EndpointAddress(
        ip=ip,
        hostname=hostname_for(pod, service),
        node_name=pod.spec.node_name or None,
        target_ref=ObjectReference(
            kind="Pod", namespace=meta.namespace, name=meta.name, uid=meta.uid
        ),
    )


def _subset(
    address: EndpointAddress, ports: tuple[EndpointPort, ...], *, ready: bool
) -> EndpointSubset:
    if ready:
        return EndpointSubset(addresses=(address,), ports=ports)
    return EndpointSubset(not_ready_addresses=(address,), ports=ports)
