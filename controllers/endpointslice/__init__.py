"""
The EndpointSlice controller: ``discovery.k8s.io/v1`` slices of every selecting Service's pods.

Like kube-controller-manager's ``endpointslice-controller``
(pkg/controller/endpointslice and staging/src/k8s.io/endpointslice in
Kubernetes): per Service and address type, slices of at most 100
endpoints, grouped by port set, named ``<service>-<suffix>`` by
``generateName`` (the API server's seeded randomness keeps the simulation
deterministic), labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by``, and controlled by the Service.
Endpoints carry ``ready``/``serving``/``terminating``, ``nodeName``,
``zone`` and a ``targetRef``; terminating pods stay, ``serving`` as long as
they are Ready.

Decisions are pure: :mod:`~controllers.endpointslice.desired` (the
endpoints) and :mod:`~controllers.endpointslice.plan` (the packing); the
:mod:`~controllers.endpointslice.reconciler` reads the caches and writes.

Differences from Kubernetes, each deliberate:

* The packing keeps endpoints in their slices and fills slices that change
  anyway first, but never rebalances (see :mod:`~controllers.endpointslice.plan`).
* Only the Service's primary IP family gets slices.
* Node changes (a zone label added later) are seen at the Service's next
  sync, not on the node event.
* Selector-less Services get no slices: there is no EndpointSlice
  mirroring controller; a Service that loses its selector has its slices
  deleted.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    endpointslice.setup(manager)
    async with manager: ...
"""

from __future__ import annotations

from controllers.api.core import Node, Pod, Service
from controllers.api.discovery import EndpointSlice
from controllers.endpoints import (
    pod_endpoints_changed,
    service_spec_changed,
    services_of_pods,
)
from controllers.endpointslice.desired import (
    ZONE_LABEL,
    Memo,
    PortSet,
    desired_endpoints,
    endpoint_key,
    pod_endpoint,
    pod_entry,
    ports_of,
)
from controllers.endpointslice.plan import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    MAX_ENDPOINTS_PER_SLICE,
    SERVICE_NAME_LABEL,
    SlicePlan,
    plan,
    slice_labels,
)
from controllers.endpointslice.reconciler import EndpointSliceReconciler
from reconcile import (
    Controller,
    EventRecorder,
    Manager,
    ObjectKey,
    Resource,
    Watch,
    controller_of,
    enqueue_mapped,
)

__all__ = [
    "CONTROLLER_NAME",
    "MANAGED_BY_LABEL",
    "MAX_ENDPOINTS_PER_SLICE",
    "SERVICE_NAME_LABEL",
    "ZONE_LABEL",
    "EndpointSliceReconciler",
    "Memo",
    "PortSet",
    "SlicePlan",
    "desired_endpoints",
    "endpoint_key",
    "plan",
    "pod_endpoint",
    "pod_entry",
    "ports_of",
    "setup",
    "slice_labels",
]


def setup(
    manager: Manager,
    *,
    recorder: EventRecorder | None = None,
    workers: int = 5,
    max_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
) -> Controller[Service]:
    """
    Add the EndpointSlice controller (``endpointslice-controller``) to ``manager``.

    Services are the primary kind; Pod changes enqueue the Services that
    select the pod; changes of a slice this controller manages enqueue its
    Service (but its own writes). ``workers`` is Kubernetes'
    ``--concurrent-service-endpoint-syncs`` (5); ``recorder`` (Kubernetes
    uses component ``endpoint-slice-controller``) receives the failure events.
    """
    reconciler = EndpointSliceReconciler(
        manager.client,
        services=manager.store(Service),
        pods=manager.store(Pod),
        slices=manager.store(EndpointSlice),
        nodes=manager.store(Node),
        max_per_slice=max_per_slice,
        recorder=recorder,
    )

    def slice_service(obj: Resource) -> list[ObjectKey]:
        if not isinstance(obj, EndpointSlice):
            return []
        if obj.metadata.labels.get(MANAGED_BY_LABEL) != CONTROLLER_NAME:
            return []
        ref = controller_of(obj.metadata)
        if ref is None or ref.kind != "Service":
            return []
        return [ObjectKey(namespace=obj.metadata.namespace, name=ref.name)]

    def not_own_write(old: Resource | None, new: Resource | None) -> bool:
        """Our own writes need no sync: we just made them."""
        return not (isinstance(new, EndpointSlice) and reconciler.wrote(new))

    controller: Controller[Service] = Controller(
        name="endpointslice-controller",
        reconciler=reconciler,
        for_=Service,
        predicates=(service_spec_changed,),
        watches=[
            Watch(
                kind=Pod,
                mapper=enqueue_mapped(services_of_pods(manager)),
                predicates=(pod_endpoints_changed,),
            ),
            Watch(
                kind=EndpointSlice,
                mapper=enqueue_mapped(slice_service),
                predicates=(not_own_write,),
            ),
        ],
        workers=workers,
    )
    return manager.add(controller)
