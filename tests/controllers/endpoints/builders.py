"""Builders and Hypothesis strategies for Services and the pods behind them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from hypothesis import strategies as st

from controllers.api.core import (
    Container,
    ContainerPort,
    Pod,
    PodCondition,
    PodIP,
    PodSpec,
    PodStatus,
    Service,
    ServicePort,
    ServiceSpec,
)
from reconcile import FrozenDict, ObjectMeta, Uid

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SERVICE_UID = Uid("00000000-0000-4000-8000-00000000aaaa")
LABELS: Mapping[str, str] = {"app": "web"}


def service(
    name: str = "web",
    *,
    selector: Mapping[str, str] | None = LABELS,
    ports: Sequence[ServicePort] = (ServicePort(name="http", port=80, target_port=8080),),
    publish_not_ready: bool = False,
    cluster_ip: str = "10.96.0.10",
    labels: Mapping[str, str] | None = None,
    namespace: str = "default",
) -> Service:
    """A created Service (defaulted as the API server would: TCP ports)."""
    return Service(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            uid=SERVICE_UID,
            labels=FrozenDict(labels or {}),
            creation_timestamp=T0,
        ),
        spec=ServiceSpec(
            selector=FrozenDict(selector or {}),
            ports=tuple(
                ServicePort(
                    name=p.name,
                    port=p.port,
                    protocol=p.protocol or "TCP",
                    target_port=p.port if p.target_port is None else p.target_port,
                )
                for p in ports
            ),
            publish_not_ready_addresses=publish_not_ready,
            cluster_ip=cluster_ip,
            type="ClusterIP",
        ),
    )


def pod(
    name: str,
    *,
    ip: str = "10.244.0.2",
    ready: bool = True,
    labels: Mapping[str, str] = LABELS,
    ports: Sequence[ContainerPort] = (ContainerPort(name="http", container_port=8080),),
    node: str = "node-1",
    phase: str = "Running",
    terminating: bool = False,
    namespace: str = "default",
    uid: str | None = None,
    hostname: str = "",
    subdomain: str = "",
) -> Pod:
    """A created, scheduled pod with one container declaring ``ports``."""
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            uid=Uid(uid or f"uid-{name}"),
            labels=FrozenDict(labels),
            creation_timestamp=T0,
            deletion_timestamp=T0 if terminating else None,
        ),
        spec=PodSpec(
            node_name=node,
            hostname=hostname,
            subdomain=subdomain,
            containers=(
                Container(
                    name="app",
                    image="app",
                    ports=tuple(
                        ContainerPort(
                            name=p.name,
                            container_port=p.container_port,
                            protocol=p.protocol or "TCP",
                        )
                        for p in ports
                    ),
                ),
            ),
        ),
        status=PodStatus(
            phase=phase,
            pod_ip=ip,
            pod_ips=(PodIP(ip=ip),) if ip else (),
            conditions=(
                PodCondition(
                    type="Ready", status="True" if ready else "False", last_transition_time=T0
                ),
            ),
        ),
    )


# -- strategies ---------------------------------------------------------------------------

PORT_NAMES = ("http", "metrics", "grpc")


@st.composite
def pods(draw: st.DrawFn, *, max_size: int = 12) -> list[Pod]:
    """Pods with distinct IPs, random labels, readiness, phases, deletion marks and ports."""
    count = draw(st.integers(0, max_size))
    result = []
    for i in range(count):
        declared = draw(st.lists(st.sampled_from(PORT_NAMES), unique=True, max_size=3))
        result.append(
            pod(
                f"p{i}",
                ip=draw(st.sampled_from(["", f"10.244.{i // 200}.{i % 200 + 2}"])),
                ready=draw(st.booleans()),
                labels=draw(
                    st.sampled_from([{"app": "web"}, {"app": "db"}, {"app": "web", "v": "2"}, {}])
                ),
                ports=tuple(
                    ContainerPort(
                        name=n,
                        container_port=8000 + PORT_NAMES.index(n),
                        protocol=draw(st.sampled_from(["TCP", "TCP", "UDP"])),
                    )
                    for n in declared
                ),
                node=f"node-{draw(st.integers(1, 3))}",
                phase=draw(
                    st.sampled_from(["Running", "Running", "Pending", "Succeeded", "Failed"])
                ),
                terminating=draw(st.booleans()),
                namespace=draw(st.sampled_from(["default", "default", "other"])),
            )
        )
    return result


@st.composite
def services(draw: st.DrawFn) -> Service:
    """Services selecting ``app=web`` with numeric and named target ports."""
    names = draw(st.lists(st.sampled_from(PORT_NAMES), unique=True, min_size=0, max_size=3))
    ports = []
    for i, name in enumerate(names):
        target: int | str = draw(st.one_of(st.just(name), st.just(9000 + i)))
        ports.append(
            ServicePort(
                name=name,
                port=80 + i,
                protocol=draw(st.sampled_from(["TCP", "UDP"])),
                target_port=target,
            )
        )
    return service(
        ports=ports,
        publish_not_ready=draw(st.booleans()),
        cluster_ip=draw(st.sampled_from(["10.96.0.10", "None"])),
    )
