"""
What a Service sees of a pod: membership, its address and its ports.

Pure functions shared by the Endpoints and EndpointSlice controllers and by
the simulated kube-proxy (:meth:`~controllers.cluster.services.Services.request`).
Kubernetes: ``ShouldPodBeInEndpoints`` and ``FindPort``
(staging/src/k8s.io/endpointslice/util, pkg/api/v1/pod/util.go).
"""

from __future__ import annotations

from controllers.api.core import Pod, Service, ServicePort
from controllers.replicaset.pods import is_pod_ready

__all__ = [
    "IPV4",
    "IPV6",
    "find_port",
    "hostname_for",
    "ip_family",
    "is_headless",
    "is_pod_ready",
    "pod_ip",
    "should_pod_be_in_endpoints",
]

IPV4 = "IPv4"
IPV6 = "IPv6"

_TERMINAL = frozenset({"Succeeded", "Failed"})


def ip_family(ip: str) -> str:
    """:data:`IPV6` when ``ip`` has a colon, else :data:`IPV4`."""
    return IPV6 if ":" in ip else IPV4


def pod_ip(pod: Pod, family: str = IPV4) -> str:
    """
    The pod's IP of ``family`` (from ``status.podIPs``, then ``status.podIP``), or ``""``.
    """
    for entry in pod.status.pod_ips:
        if entry.ip and ip_family(entry.ip) == family:
            return entry.ip
    ip = pod.status.pod_ip
    return ip if ip and ip_family(ip) == family else ""


def should_pod_be_in_endpoints(pod: Pod, *, include_terminating: bool) -> bool:
    """
    Whether ``pod`` may back a Service at all (ready or not).

    Not terminal (phase ``Succeeded``/``Failed``), has a pod IP, and is not
    being deleted unless ``include_terminating``. Kubernetes:
    ``ShouldPodBeInEndpoints``.
    """
    if pod.status.phase in _TERMINAL:
        return False
    if not pod.status.pod_ip and not pod.status.pod_ips:
        return False
    return include_terminating or pod.metadata.deletion_timestamp is None


def find_port(pod: Pod, port: ServicePort) -> int | None:
    """
    The container port ``port``'s ``targetPort`` resolves to in ``pod``, or ``None``.

    A number is used as it is (the container need not declare it); a name
    is looked up among the containers' ports, then among the sidecar init
    containers' (``restartPolicy: Always``), matching both the name and
    the protocol (empty means TCP). Kubernetes: ``FindPort``.
    """
    target = port.target_port
    if target is None or target in ("", 0):
        return port.port  # the API defaults targetPort to port; be as lenient here
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)  # a string that is a number is a number (intstr.Parse)
    protocol = port.protocol or "TCP"
    sidecars = (c for c in pod.spec.init_containers if c.restart_policy == "Always")
    for container in (*pod.spec.containers, *sidecars):
        for declared in container.ports:
            if declared.name == target and (declared.protocol or "TCP") == protocol:
                return declared.container_port
    return None


def hostname_for(pod: Pod, service: Service) -> str:
    """
    The DNS hostname the pod's address carries: ``spec.hostname`` when its subdomain is the Service.
    """
    spec = pod.spec
    if (
        spec.hostname
        and spec.subdomain == service.metadata.name
        and pod.metadata.namespace == service.metadata.namespace
    ):
        return spec.hostname
    return ""


def is_headless(service: Service) -> bool:
    """Whether ``spec.clusterIP`` is ``None``."""
    return service.spec.cluster_ip == "None"
