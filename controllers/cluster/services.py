"""
Service traffic: ``Cluster.request`` picks a backend as kube-proxy would.

Nothing is sent anywhere: :meth:`Services.request` reads the Service and
its EndpointSlices (what kube-proxy watches; never the pods) and answers
which pod would have served the connection:

* a **ready** endpoint, chosen uniformly at random with the cluster's
  seeded randomness (kube-proxy's iptables and nftables modes pick
  uniformly), so a run is reproducible per seed; when no endpoint is ready
  but some terminating ones still serve, those are used (kube-proxy's
  terminating-endpoint fallback);
* a selector-less Service has no slices here (there is no mirroring
  controller): the ready addresses of its own Endpoints are used, as the
  mirrored slices would be;
* with ``sessionAffinity: ClientIP``, the endpoint that last served the
  same client IP, as long as it is still usable and it was used less than
  ``sessionAffinityConfig.clientIP.timeoutSeconds`` ago (default 10,800 s),
  in the cluster's (virtual) time. Each use renews the affinity.

A Service without a usable endpoint refuses the connection:
:class:`NoEndpointsError` (a :class:`ConnectionRefusedError`) names it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import attrs

import reconcile
from controllers.api.core import Endpoints, Service, ServicePort
from controllers.api.discovery import Endpoint, EndpointSlice
from controllers.endpointslice import SERVICE_NAME_LABEL

__all__ = ["DEFAULT_AFFINITY_TIMEOUT", "NoEndpointsError", "Response", "Services"]

DEFAULT_AFFINITY_TIMEOUT = 10_800
"""Seconds a ``ClientIP`` affinity lasts without use unless the Service says otherwise."""


class NoEndpointsError(ConnectionRefusedError):
    """The Service has no endpoint that can take a connection (``connection refused``)."""


@attrs.frozen(kw_only=True)
class Response:
    """Who answered a :meth:`Services.request`."""

    service: str
    namespace: str
    pod: str
    ip: str
    port: int
    node: str | None

    def __str__(self) -> str:
        return f"{self.pod or self.ip} ({self.ip}:{self.port} on {self.node or 'no node'})"


@attrs.define
class _Affinity:
    ip: str
    used: float


class Services:
    """Mixin of :class:`~controllers.cluster.Cluster`: service traffic as kube-proxy routes it."""

    api: reconcile.MemoryCluster
    _seed: int

    @property
    def clock(self) -> reconcile.Clock:
        raise NotImplementedError

    def request(
        self,
        service: str,
        *,
        namespace: str = "default",
        client_ip: str | None = None,
        port: int | str | None = None,
    ) -> Response:
        """
        Connect to ``service`` (like ``curl http://service``) and return who answered.

        Args:
            service: The Service's name.
            namespace: Its namespace.
            client_ip: The client's address; with ``sessionAffinity:
                ClientIP`` one client sticks to one pod. ``None`` is one
                fixed client.
            port: The Service port (number or name); the first one by default.

        Raises:
            reconcile.NotFoundError: No such Service.
            ValueError: ``port`` is not a port of the Service.
            NoEndpointsError: No endpoint can take the connection.
        """
        svc: Service = self.api.get_nowait(Service, service, namespace=namespace)
        where = f"{namespace}/{service}"
        if svc.spec.type == "ExternalName":
            raise NoEndpointsError(
                f"connect to service {where}: an ExternalName service has no endpoints; "
                f"clients resolve {svc.spec.external_name!r} by DNS instead"
            )
        service_port = _service_port(svc, port)
        candidates = self._usable(svc, service_port)
        if not candidates:
            raise NoEndpointsError(
                f"connect to service {where}: connection refused (no ready endpoints)"
            )
        chosen = self._choose(svc, service_port, client_ip, candidates)
        endpoint, number = candidates[chosen]
        ref = endpoint.target_ref
        return Response(
            service=service,
            namespace=namespace,
            pod=ref.name if ref is not None else "",  # "" for an address that is no pod
            ip=chosen,
            port=number,
            node=endpoint.node_name,
        )

    def _usable(self, svc: Service, port: ServicePort | None) -> dict[str, tuple[Endpoint, int]]:
        """The endpoints a connection may go to, by IP, with the target port (sorted by IP)."""
        slices = self.api.list_nowait(
            EndpointSlice,
            namespace=svc.metadata.namespace,
            labels=f"{SERVICE_NAME_LABEL}={svc.metadata.name}",
        ).items
        ready: dict[str, tuple[Endpoint, int]] = {}
        serving: dict[str, tuple[Endpoint, int]] = {}
        for s in slices:
            number = _slice_port(s, port)
            if number is None:
                continue
            for endpoint in s.endpoints or ():
                if not endpoint.addresses:
                    continue
                c = endpoint.conditions
                entry = (endpoint, number)
                if c.ready is not False:  # unknown counts as ready, as in kube-proxy
                    ready[endpoint.addresses[0]] = entry
                elif c.serving and c.terminating:
                    serving[endpoint.addresses[0]] = entry
        if not slices and not svc.spec.selector:
            ready = self._user_endpoints(svc, port)
        chosen = ready or serving
        return {ip: chosen[ip] for ip in sorted(chosen)}

    def _user_endpoints(
        self, svc: Service, port: ServicePort | None
    ) -> dict[str, tuple[Endpoint, int]]:
        """
        The ready addresses of a selector-less Service's own Endpoints.

        Kubernetes mirrors them into EndpointSlices (the mirroring
        controller); reading them directly gives kube-proxy's view.
        """
        try:
            endpoints = self.api.get_nowait(
                Endpoints, svc.metadata.name, namespace=svc.metadata.namespace
            )
        except reconcile.NotFoundError:
            return {}
        usable: dict[str, tuple[Endpoint, int]] = {}
        for subset in endpoints.subsets:
            number = 0 if port is None else None
            for p in subset.ports:
                if port is not None and p.name == port.name:
                    number = p.port
            if number is None:
                continue
            for address in subset.addresses:
                endpoint = Endpoint(
                    addresses=(address.ip,),
                    target_ref=address.target_ref,
                    node_name=address.node_name,
                )
                usable[address.ip] = (endpoint, number)
        return usable

    def _choose(
        self,
        svc: Service,
        port: ServicePort | None,
        client_ip: str | None,
        candidates: dict[str, tuple[Endpoint, int]],
    ) -> str:
        rng, affinities = self._traffic_state()
        now = self.clock.time()
        if svc.spec.session_affinity != "ClientIP":
            return rng.choice(list(candidates))
        key = (
            svc.metadata.namespace,
            svc.metadata.name,
            port.name if port else "",
            client_ip or "",
        )
        sticky = affinities.get(key)
        if (
            sticky is not None
            and sticky.ip in candidates
            and now - sticky.used < _affinity_timeout(svc)
        ):
            sticky.used = now
            return sticky.ip
        ip = rng.choice(list(candidates))
        affinities[key] = _Affinity(ip=ip, used=now)
        return ip

    def _traffic_state(self) -> tuple[random.Random, dict[tuple[str, str, str, str], _Affinity]]:
        """The seeded generator and the affinity table, made on first use."""
        state: Any = self.__dict__.get("_traffic")
        if state is None:
            # Its own generator: requests must not shift the API server's names and uids.
            state = (random.Random(f"services-{self._seed}"), {})
            self.__dict__["_traffic"] = state
        return state  # type: ignore[no-any-return]


def _service_port(svc: Service, port: int | str | None) -> ServicePort | None:
    ports = svc.spec.ports
    if port is None:
        return ports[0] if ports else None
    for p in ports:
        if port in (p.port, p.name):
            return p
    names = ", ".join(f"{p.name or '-'}:{p.port}" for p in ports) or "none"
    raise ValueError(
        f"port: service {svc.metadata.namespace}/{svc.metadata.name} has no port {port!r} "
        f"(its ports: {names})"
    )


def _slice_port(s: EndpointSlice, port: ServicePort | None) -> int | None:
    """The target port of ``port`` in slice ``s`` (by port name); ``None`` if it lacks it."""
    if port is None:
        return 0
    for p in s.ports or ():
        if (p.name or "") == port.name and p.port is not None:
            return p.port
    return None


def _affinity_timeout(svc: Service) -> float:
    config = svc.spec.session_affinity_config
    if isinstance(config, Mapping):
        client = config.get("clientIP")
        if isinstance(client, Mapping):
            timeout = client.get("timeoutSeconds")
            if isinstance(timeout, int | float) and timeout > 0:
                return float(timeout)
    return float(DEFAULT_AFFINITY_TIMEOUT)
