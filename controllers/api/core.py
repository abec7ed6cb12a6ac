"""
The ``core/v1`` kinds: Pod (from :mod:`controllers.api.pod`), Node, Namespace,
Service, Endpoints, ConfigMap, and the framework's own Event (re-exported).

``Lease`` belongs to ``coordination.k8s.io`` but is re-exported here too,
next to the Node heartbeats that use it. Field names, presence rules and the
spec/status split follow Kubernetes (see :mod:`controllers.api.common`):
Endpoints and ConfigMap have neither spec nor status; Node and Namespace are
cluster-scoped.
"""

from __future__ import annotations

# ``always`` returns an ``attrs.field`` declaration, not a shared mutable default,
# which RUF009 cannot tell apart.
# ruff: noqa: RUF009
import datetime as dt
from collections.abc import Callable

import attrs

from controllers.api import container as _container
from controllers.api import pod as _pod
from controllers.api import scheduling as _scheduling
from controllers.api.common import IntOrString, ResourceList, always, renamed
from controllers.api.container import *  # noqa: F403 - core/v1 re-exports its parts
from controllers.api.pod import *  # noqa: F403
from controllers.api.scheduling import *  # noqa: F403
from controllers.api.scheduling import Taint
from reconcile import (
    JSON,
    Event,
    FrozenDict,
    Lease,
    LeaseSpec,
    ObjectReference,
    Resource,
    kind,
)

__all__ = [
    "MIRROR_ANNOTATION",
    "NODE_LEASE_NAMESPACE",
    "ConfigMap",
    "ContainerImage",
    "DaemonEndpoint",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSubset",
    "Endpoints",
    "Event",
    "Lease",
    "LeaseSpec",
    "LoadBalancerIngress",
    "LoadBalancerStatus",
    "Namespace",
    "NamespaceSpec",
    "NamespaceStatus",
    "Node",
    "NodeAddress",
    "NodeCondition",
    "NodeDaemonEndpoints",
    "NodeSpec",
    "NodeStatus",
    "NodeSystemInfo",
    "ObjectReference",
    "Service",
    "ServicePort",
    "ServiceSpec",
    "ServiceStatus",
]
__all__ += _container.__all__
__all__ += _pod.__all__
__all__ += _scheduling.__all__

# -- Node -----------------------------------------------------------------------------------

NODE_LEASE_NAMESPACE = "kube-node-lease"
"""Where each node's heartbeat Lease (named after the node) lives."""
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
"""Marks a mirror pod: the API's view of a static pod a kubelet runs from a local manifest."""


@attrs.frozen(kw_only=True)
class NodeSpec:
    """How a node is set up: its pod CIDRs, taints and whether it takes new pods."""

    pod_cidr: str = renamed("podCIDR", "")
    pod_cidrs: tuple[str, ...] = renamed("podCIDRs", ())
    provider_id: str = renamed("providerID", "")
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()
    config_source: JSON = None
    external_id: str = renamed("externalID", "")


@attrs.frozen(kw_only=True)
class NodeCondition:
    """``Ready``, ``MemoryPressure``, ``DiskPressure``, ``PIDPressure``, ``NetworkUnavailable``."""

    type: str = always("")
    status: str = always("")
    last_heartbeat_time: dt.datetime | None = always()
    last_transition_time: dt.datetime | None = always()
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class NodeAddress:
    """``InternalIP``, ``ExternalIP`` or ``Hostname`` and its value."""

    type: str = always("")
    address: str = always("")


@attrs.frozen(kw_only=True)
class DaemonEndpoint:
    """A port a node daemon listens on (its JSON key really is ``Port``)."""

    port: int = always(0, json="Port")


@attrs.frozen(kw_only=True)
class NodeDaemonEndpoints:
    """Where the kubelet listens."""

    kubelet_endpoint: DaemonEndpoint = always(factory=DaemonEndpoint)


@attrs.frozen(kw_only=True)
class NodeSystemInfo:
    """Versions and identifiers the kubelet reports about its machine."""

    machine_id: str = always("", json="machineID")
    system_uuid: str = always("", json="systemUUID")
    boot_id: str = always("", json="bootID")
    kernel_version: str = always("")
    os_image: str = always("")
    container_runtime_version: str = always("")
    kubelet_version: str = always("")
    kube_proxy_version: str = always("")
    operating_system: str = always("")
    architecture: str = always("")
    swap: JSON = None


@attrs.frozen(kw_only=True)
class ContainerImage:
    """An image present on the node."""

    names: tuple[str, ...] = ()
    size_bytes: int = 0


@attrs.frozen(kw_only=True)
class NodeStatus:
    """What the kubelet reports: resources, conditions, addresses and system info."""

    capacity: ResourceList = attrs.field(factory=FrozenDict)
    allocatable: ResourceList = attrs.field(factory=FrozenDict)
    phase: str = ""
    conditions: tuple[NodeCondition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    daemon_endpoints: NodeDaemonEndpoints = always(factory=NodeDaemonEndpoints)
    node_info: NodeSystemInfo = always(factory=NodeSystemInfo)
    images: tuple[ContainerImage, ...] = ()
    volumes_in_use: tuple[str, ...] = ()
    volumes_attached: tuple[JSON, ...] = ()
    config: JSON = None
    runtime_handlers: tuple[JSON, ...] = ()
    features: JSON = None
    declared_features: tuple[str, ...] = ()


_NODE_SELECTABLE: dict[str, Callable[[Node], str]] = {
    "spec.unschedulable": lambda n: str(n.spec.unschedulable).lower(),
}


@kind(version="v1", kind="Node", namespaced=False, field_selectors=_NODE_SELECTABLE)
@attrs.frozen(kw_only=True)
class Node(Resource):
    """A ``v1`` Node (cluster-scoped): a machine that runs pods."""

    spec: NodeSpec = attrs.field(factory=NodeSpec)
    status: NodeStatus = attrs.field(factory=NodeStatus)


# -- Namespace ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NamespaceSpec:
    """Finalizers that must clear before the namespace is removed (``kubernetes``)."""

    finalizers: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class NamespaceStatus:
    """``Active`` or ``Terminating``, with conditions while it is being emptied."""

    phase: str = ""
    conditions: tuple[JSON, ...] = ()


_NAMESPACE_SELECTABLE: dict[str, Callable[[Namespace], str]] = {
    "status.phase": lambda n: n.status.phase,
}


@kind(version="v1", kind="Namespace", namespaced=False, field_selectors=_NAMESPACE_SELECTABLE)
@attrs.frozen(kw_only=True)
class Namespace(Resource):
    """A ``v1`` Namespace (cluster-scoped)."""

    spec: NamespaceSpec = attrs.field(factory=NamespaceSpec)
    status: NamespaceStatus = attrs.field(factory=NamespaceStatus)


# -- Service ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ServicePort:
    """A port the service exposes and the pod port (number or name) it forwards to."""

    name: str = ""
    protocol: str = ""
    app_protocol: str | None = None
    port: int = always(0)
    target_port: IntOrString | None = None
    node_port: int = 0


@attrs.frozen(kw_only=True)
class ServiceSpec:
    """Which pods a service selects and how it exposes them."""

    ports: tuple[ServicePort, ...] = ()
    selector: FrozenDict[str, str] = attrs.field(factory=FrozenDict)
    cluster_ip: str = renamed("clusterIP", "")
    cluster_ips: tuple[str, ...] = renamed("clusterIPs", ())
    type: str = ""
    external_ips: tuple[str, ...] = renamed("externalIPs", ())
    session_affinity: str = ""
    load_balancer_ip: str = renamed("loadBalancerIP", "")
    load_balancer_source_ranges: tuple[str, ...] = ()
    external_name: str = ""
    external_traffic_policy: str = ""
    health_check_node_port: int = 0
    publish_not_ready_addresses: bool = False
    session_affinity_config: JSON = None
    ip_families: tuple[str, ...] = ()
    ip_family_policy: str | None = None
    allocate_load_balancer_node_ports: bool | None = None
    load_balancer_class: str | None = None
    internal_traffic_policy: str | None = None
    traffic_distribution: str | None = None


@attrs.frozen(kw_only=True)
class LoadBalancerIngress:
    """One ingress point of a load balancer."""

    ip: str = ""
    hostname: str = ""
    ip_mode: str | None = None
    ports: tuple[JSON, ...] = ()


@attrs.frozen(kw_only=True)
class LoadBalancerStatus:
    """The load balancer's ingress points (empty for ``ClusterIP`` services)."""

    ingress: tuple[LoadBalancerIngress, ...] = ()


@attrs.frozen(kw_only=True)
class ServiceStatus:
    """
    The load balancer status and conditions.

    ``loadBalancer`` is optional here, although the server always writes it
    (``loadBalancer: {}``), so that both hand-written manifests and server
    output round-trip.
    """

    load_balancer: LoadBalancerStatus | None = None
    conditions: tuple[JSON, ...] = ()


@kind(version="v1", kind="Service")
@attrs.frozen(kw_only=True)
class Service(Resource):
    """A ``v1`` Service: a stable address for the pods its selector matches."""

    spec: ServiceSpec = attrs.field(factory=ServiceSpec)
    status: ServiceStatus = attrs.field(factory=ServiceStatus)


# -- Endpoints --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EndpointAddress:
    """One backend address, usually a pod's IP with a ``targetRef`` to the pod."""

    ip: str = always("")
    hostname: str = ""
    node_name: str | None = None
    target_ref: ObjectReference | None = None


@attrs.frozen(kw_only=True)
class EndpointPort:
    """A port of every address in the subset."""

    name: str = ""
    port: int = always(0)
    protocol: str = ""
    app_protocol: str | None = None


@attrs.frozen(kw_only=True)
class EndpointSubset:
    """Addresses (ready and not ready) that share the same ports."""

    addresses: tuple[EndpointAddress, ...] = ()
    not_ready_addresses: tuple[EndpointAddress, ...] = ()
    ports: tuple[EndpointPort, ...] = ()


@kind(version="v1", kind="Endpoints", plural="endpoints", status_subresource=False)
@attrs.frozen(kw_only=True)
class Endpoints(Resource):
    """A ``v1`` Endpoints object (named like its Service; no spec and no status)."""

    subsets: tuple[EndpointSubset, ...] = ()


# -- ConfigMap ----------------------------------------------------------------------------------


@kind(version="v1", kind="ConfigMap", status_subresource=False)
@attrs.frozen(kw_only=True)
class ConfigMap(Resource):
    """A ``v1`` ConfigMap: string ``data`` and base64 ``binaryData`` (no spec, no status)."""

    data: FrozenDict[str, str] = attrs.field(factory=FrozenDict)
    binary_data: FrozenDict[str, str] = attrs.field(factory=FrozenDict)
    immutable: bool | None = None
