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
  labels and the over-capacity annotation are unchanged; a write carries
  the ``last-change-trigger-time`` annotation it is given.

Ownership: like Kubernetes, the Endpoints has no owner reference; the
controller marks the ones it writes with :data:`MANAGED_BY_LABEL`
(``endpoints.kubernetes.io/managed-by: endpoint-controller``, as Kubernetes
1.33 does), and only such an Endpoints is deleted when its Service is gone
or has no selector. An Endpoints of a selector-less Service is the user's:
it is never written or deleted.
"""

from __future__ import annotations

import datetime as dt
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
from controllers.endpoints.memo import PodMemo, _Missing
from controllers.endpoints.pods import (
    IPV4,
    find_port,
    hostname_for,
    is_headless,
    is_pod_ready,
    pod_ip,
    should_pod_be_in_endpoints,
)
from controllers.endpoints.repack import Row, pack
from controllers.endpoints.trigger import TRIGGER_TIME_ANNOTATION, format_trigger_time
from controllers.endpoints.truncate import MAX_CAPACITY, OVER_CAPACITY_ANNOTATION, truncate
from controllers.planted import ENDPOINTS_INCLUDES_NOT_READY_PODS, ENDPOINTS_REWRITES_UNCHANGED
from reconcile import FrozenDict, ObjectMeta, ObjectReference, planted

__all__ = [
    "CONTROLLER_NAME",
    "HEADLESS_LABEL",
    "MANAGED_BY_LABEL",
    "EndpointsPlan",
    "Memo",
    "endpoints_for",
    "endpoints_labels",
    "is_managed",
    "plan",
    "pod_row",
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


Memo = PodMemo["Row | None"]
"""The rows of a Service's pods (see :class:`~controllers.endpoints.memo.PodMemo`)."""


def pod_row(service: Service, pod: Pod) -> Row | None:
    """
    What ``pod`` contributes to ``service``'s Endpoints: address, resolved ports, readiness.

    ``None`` when it contributes nothing: not selected, terminal, no IP,
    terminating (without ``publishNotReadyAddresses``), or none of the
    Service's ports resolves.
    """
    selector = service.spec.selector
    labels = pod.metadata.labels
    if pod.metadata.namespace != service.metadata.namespace or not selector:
        return None
    if any(labels.get(k) != v for k, v in selector.items()):
        return None
    tolerate = service.spec.publish_not_ready_addresses
    if not should_pod_be_in_endpoints(pod, include_terminating=tolerate):
        return None
    ip = pod_ip(pod, service_family(service))
    if not ip:
        return None
    address = _address(pod, service, ip)
    ready = tolerate or is_pod_ready(pod)
    if not service.spec.ports:
        return (address, (), ready) if is_headless(service) else None
    ports = []
    for service_port in service.spec.ports:
        number = find_port(pod, service_port)
        if number is not None:
            ports.append(
                EndpointPort(
                    name=service_port.name,
                    port=number,
                    protocol=service_port.protocol or "TCP",
                    app_protocol=service_port.app_protocol,
                )
            )
    return (address, tuple(ports), ready) if ports else None


def endpoints_for(
    service: Service, pods: Iterable[Pod], *, memo: Memo | None = None
) -> tuple[EndpointSubset, ...]:
    """
    The repacked subsets of ``service`` over ``pods`` (pods it does not select are ignored).

    See the module docstring; the order of ``pods`` does not matter.
    ``memo`` (kept by the caller between calls) saves recomputing the row
    of a pod whose object and Service are the very same as last time;
    the result is the same with or without it.
    """
    rows: list[Row] = []
    context = (service,)
    all_ready = planted(ENDPOINTS_INCLUDES_NOT_READY_PODS)
    for pod in pods:
        if memo is None:
            row = pod_row(service, pod)
        else:
            hit = memo.lookup(pod, context)
            if isinstance(hit, _Missing):
                row = pod_row(service, pod)
                if row is not None:
                    row = (row[0], memo.intern(row[1]), row[2])
                memo.store(pod, context, row)
            else:
                row = hit
        if row is not None:
            rows.append((row[0], row[1], True) if all_ready else row)
    return pack(rows)


def plan(
    service: Service | None,
    existing: Endpoints | None,
    pods: Iterable[Pod],
    *,
    memo: Memo | None = None,
    trigger_time: dt.datetime | None = None,
) -> EndpointsPlan:
    """
    What to write so that ``existing`` (the stored Endpoints, if any) serves ``service``.

    ``service`` is ``None`` when it no longer exists. Guarantees: the plan
    never touches an Endpoints this controller did not write unless the
    Service selects pods; applying the plan and planning again (same
    inputs) gives an empty plan. A write carries ``trigger_time`` (see
    :mod:`~controllers.endpoints.trigger`) as the
    ``endpoints.kubernetes.io/last-change-trigger-time`` annotation, or
    drops it when ``None``; the annotation never causes a write by itself.
    """
    if service is None or not selects(service):
        if existing is not None and is_managed(existing):
            return EndpointsPlan(delete=existing)
        return EndpointsPlan()
    subsets, truncated = truncate(endpoints_for(service, pods, memo=memo), MAX_CAPACITY)
    labels = endpoints_labels(service)
    if existing is None:
        annotations = {OVER_CAPACITY_ANNOTATION: "truncated"} if truncated else {}
        if trigger_time is not None:
            annotations[TRIGGER_TIME_ANNOTATION] = format_trigger_time(trigger_time)
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
        and existing.metadata.annotations.get(OVER_CAPACITY_ANNOTATION)
        == annotations.get(OVER_CAPACITY_ANNOTATION)
        and not planted(ENDPOINTS_REWRITES_UNCHANGED)
    ):
        return EndpointsPlan()  # the trigger time alone is no reason to write
    if trigger_time is not None:
        annotations[TRIGGER_TIME_ANNOTATION] = format_trigger_time(trigger_time)
    else:
        annotations.pop(TRIGGER_TIME_ANNOTATION, None)
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
