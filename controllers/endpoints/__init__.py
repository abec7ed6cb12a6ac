"""
The Endpoints controller: one ``v1/Endpoints`` per Service with a selector, listing its pods.

Like kube-controller-manager's ``endpoint-controller``
(pkg/controller/endpoint in Kubernetes): matching pods that are not
terminal and have an IP are listed, ready ones in ``addresses`` and the
others in ``notReadyAddresses`` (every one in ``addresses`` with
``publishNotReadyAddresses``, terminating ones left out without it); named
target ports are resolved per pod; subsets are repacked so that the object
is deterministic; more than 1,000 addresses are truncated; each write
carries ``endpoints.kubernetes.io/last-change-trigger-time``. The Endpoints is
labelled with the Service's labels (plus ``service.kubernetes.io/headless``
for a headless Service and ``endpoints.kubernetes.io/managed-by``) and, as
in Kubernetes, has no owner reference.

Decisions are pure: :mod:`~controllers.endpoints.pods` (membership, IPs,
ports), :mod:`~controllers.endpoints.plan`,
:mod:`~controllers.endpoints.repack` and
:mod:`~controllers.endpoints.truncate`. The
:mod:`~controllers.endpoints.reconciler` reads the caches and writes;
:mod:`~controllers.endpoints.watches` turns Pod and Service events into
work (also for the EndpointSlice controller).

Differences from Kubernetes, each deliberate:

* A Service that loses its selector (or becomes ExternalName) gets the
  Endpoints this controller wrote deleted; Kubernetes leaves it stale until
  the Service is deleted. A user's Endpoints is never touched.
* Subsets and ports are ordered by content instead of by hash.
* Failed syncs are retried with the engine's backoff, without Kubernetes'
  limit of 15 retries.

Expected flow::

    manager = reconcile.Manager(cluster, clock=clock)
    endpoints.setup(manager)
    async with manager: ...
"""

from __future__ import annotations

import contextlib

from controllers.api.core import Endpoints, Pod, Service
from controllers.endpoints.memo import MISSING, PodMemo
from controllers.endpoints.plan import (
    CONTROLLER_NAME,
    HEADLESS_LABEL,
    MANAGED_BY_LABEL,
    EndpointsPlan,
    Memo,
    endpoints_for,
    endpoints_labels,
    is_managed,
    plan,
    pod_row,
    selects,
    service_family,
)
from controllers.endpoints.pods import (
    IPV4,
    IPV6,
    find_port,
    hostname_for,
    ip_family,
    is_headless,
    is_pod_ready,
    pod_ip,
    should_pod_be_in_endpoints,
)
from controllers.endpoints.reconciler import EndpointsReconciler
from controllers.endpoints.repack import Row, address_key, pack, port_key, repack_subsets
from controllers.endpoints.trigger import (
    TRIGGER_TIME_ANNOTATION,
    TriggerTimes,
    format_trigger_time,
    pod_trigger_time,
)
from controllers.endpoints.truncate import MAX_CAPACITY, OVER_CAPACITY_ANNOTATION, truncate
from controllers.endpoints.watches import (
    INDEX_SELECTOR,
    ServicesOfPod,
    pod_endpoints_changed,
    pod_endpoints_changed_unless_marked,
    selector_pair,
    service_spec_changed,
)
from controllers.planted import ENDPOINTS_EDGE_TRIGGERED_DELETE
from reconcile import (
    Controller,
    EventRecorder,
    Manager,
    ObjectKey,
    Resource,
    Store,
    Watch,
    enqueue_mapped,
    planted,
)

__all__ = [
    "CONTROLLER_NAME",
    "HEADLESS_LABEL",
    "INDEX_SELECTOR",
    "IPV4",
    "IPV6",
    "MANAGED_BY_LABEL",
    "MAX_CAPACITY",
    "MISSING",
    "OVER_CAPACITY_ANNOTATION",
    "TRIGGER_TIME_ANNOTATION",
    "EndpointsPlan",
    "EndpointsReconciler",
    "Memo",
    "PodMemo",
    "Row",
    "ServicesOfPod",
    "TriggerTimes",
    "address_key",
    "endpoints_for",
    "endpoints_labels",
    "find_port",
    "format_trigger_time",
    "hostname_for",
    "ip_family",
    "is_headless",
    "is_managed",
    "is_pod_ready",
    "pack",
    "plan",
    "pod_endpoints_changed",
    "pod_ip",
    "pod_row",
    "pod_trigger_time",
    "port_key",
    "repack_subsets",
    "selector_pair",
    "selects",
    "service_family",
    "service_spec_changed",
    "services_of_pods",
    "setup",
    "should_pod_be_in_endpoints",
    "truncate",
]


def services_of_pods(manager: Manager) -> ServicesOfPod:
    """The Pod → Services mapper over ``manager``'s Service cache (adds :data:`INDEX_SELECTOR`)."""
    services = manager.store(Service)
    with contextlib.suppress(ValueError):  # already added by another controller's setup
        manager.informers.get(Service).add_indexer(INDEX_SELECTOR, selector_pair)
    return ServicesOfPod(services)


def setup(
    manager: Manager, *, recorder: EventRecorder | None = None, workers: int = 5
) -> Controller[Service]:
    """
    Add the Endpoints controller (``endpoint-controller``) to ``manager``.

    Services are the primary kind; Pod changes enqueue the Services that
    select the pod (old and new labels), Endpoints changes enqueue the
    Service of the same name (so a deleted or edited Endpoints is
    restored). ``workers`` is Kubernetes' ``--concurrent-endpoint-syncs`` (5).
    """
    pods_to_services = services_of_pods(manager)
    endpoints: Store[Endpoints] = manager.store(Endpoints)
    reconciler = EndpointsReconciler(
        manager.client,
        services=manager.store(Service),
        pods=manager.store(Pod),
        endpoints=endpoints,
        recorder=recorder,
    )

    def same_name(obj: Resource) -> list[ObjectKey]:
        return [obj.metadata.key] if isinstance(obj, Endpoints) else []

    def not_own_write(old: Resource | None, new: Resource | None) -> bool:
        """Our own writes need no sync: we just made them."""
        return not (isinstance(new, Endpoints) and reconciler.wrote(new))

    pod_filter = pod_endpoints_changed
    if planted(ENDPOINTS_EDGE_TRIGGERED_DELETE):
        pod_filter = pod_endpoints_changed_unless_marked

    controller: Controller[Service] = Controller(
        name=CONTROLLER_NAME,
        reconciler=reconciler,
        for_=Service,
        predicates=(service_spec_changed,),
        watches=[
            Watch(
                kind=Pod,
                mapper=enqueue_mapped(pods_to_services),
                predicates=(pod_filter,),
            ),
            Watch(kind=Endpoints, mapper=enqueue_mapped(same_name), predicates=(not_own_write,)),
        ],
        workers=workers,
    )
    return manager.add(controller)
