"""
Service cluster IPs, allocated by the API server as Kubernetes' service IP allocator does.

A Service of type ClusterIP, NodePort or LoadBalancer created without
``spec.clusterIP`` gets the next free address of :data:`SERVICE_CIDR`
(Kubernetes' default ``10.96.0.0/12``), in order from ``10.96.0.1``, so a
seeded cluster always hands out the same addresses (Kubernetes picks at
random). ``clusterIP: None`` makes a headless Service; ``ExternalName``
Services get no address. An address asked for explicitly must lie in the
range and be free; once set, it cannot be changed (an update that leaves it
empty keeps the old one, as the API server's ``patchAllocatedValues``
does). Addresses are not reused after a Service is deleted: the range holds
a million of them.
"""

from __future__ import annotations

import ipaddress

import attrs

from controllers.api.core import Service
from reconcile import FieldError, Operation

__all__ = ["SERVICE_CIDR", "ClusterIPs"]

SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/12")
"""The range cluster IPs are allocated from (kube-apiserver's ``--service-cluster-ip-range``)."""

_HEADLESS = "None"


def _wants_ip(service: Service) -> bool:
    return service.spec.type != "ExternalName" and service.spec.cluster_ip != _HEADLESS


@attrs.define(eq=False)
class ClusterIPs:
    """
    One cluster's allocator: :meth:`mutate` fills addresses in, :meth:`validate` checks them.

    Register both for Service (``install_admission`` does). An address is
    taken once its Service passed validation.
    """

    _taken: dict[str, tuple[str, str]] = attrs.field(factory=dict, init=False)
    _next: int = attrs.field(default=1, init=False)

    def mutate(self, new: Service, old: Service | None, op: Operation) -> Service:
        """Give ``new`` its address: the old one on update, the next free one on create."""
        spec = new.spec
        if spec.cluster_ip or not _wants_ip(new):
            ip = spec.cluster_ip
        elif old is not None and old.spec.cluster_ip:
            ip = old.spec.cluster_ip
        else:
            ip = self._allocate()
        ips = (ip,) if ip else ()
        if ip == spec.cluster_ip and spec.cluster_ips == ips:
            return new
        return attrs.evolve(new, spec=attrs.evolve(spec, cluster_ip=ip, cluster_ips=ips))

    def validate(self, new: Service, old: Service | None, op: Operation) -> list[FieldError]:
        """The address is in range, free, and unchanged on update; takes it when all is well."""
        if op is Operation.DELETE:
            return []
        ip = new.spec.cluster_ip
        key = (new.metadata.namespace, new.metadata.name)
        changed = old is not None and bool(old.spec.cluster_ip) and ip != old.spec.cluster_ip
        if changed and new.spec.type != "ExternalName":  # becoming ExternalName drops it
            return [FieldError(field="spec.clusterIP", value=ip, detail="field is immutable")]
        if not ip or ip == _HEADLESS:
            return []
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            return [FieldError(field="spec.clusterIP", value=ip, detail="must be a valid IP")]
        if address not in SERVICE_CIDR:
            detail = f"the provided IP is not in the valid range ({SERVICE_CIDR})"
            return [FieldError(field="spec.clusterIP", value=ip, detail=detail)]
        holder = self._taken.get(ip)
        if holder is not None and holder != key:
            detail = "the provided IP is already allocated"
            return [FieldError(field="spec.clusterIP", value=ip, detail=detail)]
        self._taken[ip] = key
        return []

    def _allocate(self) -> str:
        size = SERVICE_CIDR.num_addresses - 2  # no network or broadcast address
        for _ in range(size):
            ip = str(SERVICE_CIDR.network_address + self._next)
            self._next = self._next % size + 1
            if ip not in self._taken:
                return ip
        raise RuntimeError(f"the service IP range {SERVICE_CIDR} is full")
