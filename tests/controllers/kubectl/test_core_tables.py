"""kubectl's get tables of Pods, Services and Endpoints, cell by cell."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pytest

from controllers.api.container import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
)
from controllers.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    LoadBalancerIngress,
    LoadBalancerStatus,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceStatus,
)
from controllers.api.pod import Pod, PodCondition, PodIP, PodSpec, PodStatus
from controllers.kubectl import (
    endpoints_cell,
    endpoints_table,
    pod_table,
    service_table,
)
from reconcile import FrozenDict, ObjectMeta
from tests.controllers.kubectl.builders import at

NOW = at(600)


def _meta(name: str, *, created: float = 0.0) -> ObjectMeta:
    return ObjectMeta(name=name, namespace="default", creation_timestamp=at(created))


# -- Pods ----------------------------------------------------------------------------------


def _running(
    *, ready: bool = True, restarts: int = 0, died: float | None = None
) -> ContainerStatus:
    last = ContainerState()
    if died is not None:
        last = ContainerState(
            terminated=ContainerStateTerminated(exit_code=1, reason="Error", finished_at=at(died))
        )
    return ContainerStatus(
        name="app",
        state=ContainerState(running=ContainerStateRunning(started_at=at(0))),
        last_state=last,
        ready=ready,
        restart_count=restarts,
    )


def _waiting(reason: str, *, restarts: int = 0, died: float | None = None) -> ContainerStatus:
    status = _running(ready=False, restarts=restarts, died=died)
    return attrs.evolve(status, state=ContainerState(waiting=ContainerStateWaiting(reason=reason)))


def _terminated(exit_code: int, reason: str = "") -> ContainerStatus:
    state = ContainerState(terminated=ContainerStateTerminated(exit_code=exit_code, reason=reason))
    return ContainerStatus(name="app", state=state)


def _pod(
    name: str,
    phase: str,
    *statuses: ContainerStatus,
    inits: tuple[ContainerStatus, ...] = (),
    conditions: tuple[PodCondition, ...] = (),
    reason: str = "",
    deleted: bool = False,
    node: str = "",
    ip: str = "",
) -> Pod:
    meta = _meta(name, created=120)
    if deleted:
        meta = attrs.evolve(meta, deletion_timestamp=NOW)
    containers = tuple(Container(name=f"c{i}", image="busybox") for i in range(len(statuses)))
    init_containers = tuple(Container(name=s.name, image="busybox") for s in inits)
    return Pod(
        metadata=meta,
        spec=PodSpec(containers=containers, init_containers=init_containers, node_name=node),
        status=PodStatus(
            phase=phase,
            reason=reason,
            conditions=conditions,
            container_statuses=statuses,
            init_container_statuses=inits,
            pod_ip=ip,
            pod_ips=(PodIP(ip=ip),) if ip else (),
        ),
    )


def _init(name: str, status: ContainerStatus) -> ContainerStatus:
    return attrs.evolve(status, name=name)


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (_pod("web", "Running", _running()), ["web", "1/1", "Running", "0", "8m"]),
        (_pod("two", "Running", _running(), _running(ready=False)), ["two", "1/2", "Running"]),
        (_pod("pending", "Pending"), ["pending", "0/0", "Pending", "0"]),
        (
            _pod("creating", "Pending", _waiting("ContainerCreating")),
            ["creating", "0/1", "ContainerCreating", "0"],
        ),
        (
            _pod("crash", "Running", _waiting("CrashLoopBackOff", restarts=4, died=570)),
            ["crash", "0/1", "CrashLoopBackOff", "4", "(30s", "ago)", "8m"],
        ),
        (_pod("done", "Succeeded", _terminated(0, "Completed")), ["done", "0/1", "Completed"]),
        (_pod("exit", "Failed", _terminated(2)), ["exit", "0/1", "ExitCode:2"]),
        (
            _pod(
                "init",
                "Pending",
                _waiting("PodInitializing"),
                inits=(
                    _init("a", _terminated(0, "Completed")),
                    _init("b", _running(ready=False)),
                ),
            ),
            ["init", "0/1", "Init:1/2"],
        ),
        (
            _pod(
                "init-crash",
                "Pending",
                _waiting("PodInitializing"),
                inits=(_init("a", _waiting("CrashLoopBackOff", restarts=2, died=590)),),
            ),
            ["init-crash", "0/1", "Init:CrashLoopBackOff", "2", "(10s", "ago)"],
        ),
        (
            _pod("init-error", "Failed", inits=(_init("a", _terminated(1, "Error")),)),
            ["init-error", "0/0", "Init:Error"],
        ),
        (_pod("going", "Running", _running(), deleted=True), ["going", "1/1", "Terminating"]),
        (_pod("gone", "Succeeded", deleted=True), ["gone", "0/0", "Succeeded"]),
        (
            _pod("lost", "Running", _running(), deleted=True, reason="NodeLost"),
            ["lost", "1/1", "Unknown"],
        ),
        (
            _pod("evicted", "Failed", reason="Evicted"),
            ["evicted", "0/0", "Evicted"],
        ),
    ],
)
def test_pod_row_ready_status_and_restarts(pod: Pod, expected: list[str]) -> None:
    """READY, STATUS and RESTARTS follow kubectl's printPod, restarts with the last one's age."""
    row = pod_table([pod], now=NOW).split("\n")[1].split()
    assert expected == row[: len(expected)]


def test_pod_status_running_again_when_a_container_still_runs() -> None:
    """A Completed container next to a running one reads NotReady until the pod is Ready."""
    statuses = (_running(), _terminated(0, "Completed"))
    ready = PodCondition(type="Ready", status="True")
    assert "NotReady" == pod_table([_pod("a", "Running", *statuses)], now=NOW).split()[-3]
    pod = _pod("a", "Running", *statuses, conditions=(ready,))
    assert "Running" == pod_table([pod], now=NOW).split()[-3]


def test_pod_table_exact_text_and_wide_columns() -> None:
    """Wide adds IP, NODE, NOMINATED NODE and READINESS GATES, <none> when unset."""
    pods = [
        _pod("web", "Running", _running(), node="node-1", ip="10.244.0.5"),
        _pod("pending", "Pending", _waiting("ContainerCreating")),
    ]
    assert (
        "NAME      READY   STATUS              RESTARTS   AGE\n"
        "web       1/1     Running             0          8m\n"
        "pending   0/1     ContainerCreating   0          8m"
    ) == pod_table(pods, now=NOW)
    assert (
        "NAME      READY   STATUS              RESTARTS   AGE   IP           NODE     "
        "NOMINATED NODE   READINESS GATES\n"
        "web       1/1     Running             0          8m    10.244.0.5   node-1   "
        "<none>           <none>\n"
        "pending   0/1     ContainerCreating   0          8m    <none>       <none>   "
        "<none>           <none>"
    ) == pod_table(pods, now=NOW, wide=True)


# -- Services and Endpoints ----------------------------------------------------------------


def _service(
    name: str,
    type_: str,
    *ports: ServicePort,
    ip: str = "",
    selector: Mapping[str, str] | None = None,
    external_name: str = "",
    ingress: tuple[LoadBalancerIngress, ...] = (),
) -> Service:
    return Service(
        metadata=_meta(name, created=540),
        spec=ServiceSpec(
            type=type_,
            ports=ports,
            cluster_ips=(ip,) if ip else (),
            selector=FrozenDict(selector or {}),
            external_name=external_name,
        ),
        status=ServiceStatus(load_balancer=LoadBalancerStatus(ingress=ingress)),
    )


def test_service_table_types_ips_and_ports() -> None:
    """CLUSTER-IP, EXTERNAL-IP by type, PORT(S) with node ports; wide adds the selector."""
    http = ServicePort(port=80, protocol="TCP")
    services = [
        _service("kubernetes", "ClusterIP", ServicePort(port=443, protocol="TCP"),
                 ip="10.96.0.1"),
        _service("web", "NodePort", ServicePort(port=80, node_port=30080, protocol="TCP"),
                 ServicePort(port=53, protocol="UDP"), ip="10.96.0.10",
                 selector={"app": "web"}),
        _service("lb", "LoadBalancer", http, ip="10.96.0.11"),
        _service("db", "ClusterIP", ip="None"),
        _service("ext", "ExternalName", external_name="db.example.com"),
    ]  # fmt: skip
    assert (
        "NAME         TYPE           CLUSTER-IP   EXTERNAL-IP      PORT(S)               AGE\n"
        "kubernetes   ClusterIP      10.96.0.1    <none>           443/TCP               60s\n"
        "web          NodePort       10.96.0.10   <none>           80:30080/TCP,53/UDP   60s\n"
        "lb           LoadBalancer   10.96.0.11   <pending>        80/TCP                60s\n"
        "db           ClusterIP      None         <none>           <none>                60s\n"
        "ext          ExternalName   <none>       db.example.com   <none>                60s"
    ) == service_table(services, now=NOW)
    wide = service_table(services[:2], now=NOW, wide=True).split("\n")
    assert ["AGE", "SELECTOR"] == wide[0].split()[-2:]
    assert ["<none>", "app=web"] == [wide[1].split()[-1], wide[2].split()[-1]]


def test_service_external_ip_of_a_load_balancer_is_cut_unless_wide() -> None:
    """Ingress addresses sorted and joined; over 16 characters they end in ``...``, not wide."""
    ingress = (
        LoadBalancerIngress(ip="203.0.113.20"),
        LoadBalancerIngress(hostname="lb.example.com"),
    )
    lb = _service("lb", "LoadBalancer", ServicePort(port=80, protocol="TCP"), ingress=ingress)
    assert "203.0.113.20,..." == service_table([lb], now=NOW).split("\n")[1].split()[3]
    wide = service_table([lb], now=NOW, wide=True).split("\n")[1].split()
    assert "203.0.113.20,lb.example.com" == wide[3]


def _endpoints(*subsets: EndpointSubset) -> Endpoints:
    return Endpoints(metadata=_meta("web", created=540), subsets=subsets)


def _addresses(*ips: str) -> tuple[EndpointAddress, ...]:
    return tuple(EndpointAddress(ip=ip) for ip in ips)


@pytest.mark.parametrize(
    ("subsets", "expected"),
    [
        ((), "<none>"),
        ((EndpointSubset(not_ready_addresses=_addresses("10.0.0.1")),), ""),
        (
            (EndpointSubset(addresses=_addresses("10.0.0.1", "10.0.0.2"),
                            ports=(EndpointPort(port=8080),)),),
            "10.0.0.1:8080,10.0.0.2:8080",
        ),
        (
            (EndpointSubset(addresses=_addresses("10.0.0.1", "10.0.0.2"),
                            ports=(EndpointPort(port=80), EndpointPort(port=443))),),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
        ),
        (
            (EndpointSubset(addresses=_addresses(*(f"10.0.0.{i}" for i in range(1, 6))),
                            ports=(EndpointPort(port=80),)),
             EndpointSubset(addresses=_addresses("10.0.1.1"))),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...",
        ),
        ((EndpointSubset(addresses=_addresses("10.0.0.1", "fd00::1")),), "10.0.0.1,fd00::1"),
        (
            (EndpointSubset(addresses=_addresses("fd00::1"), ports=(EndpointPort(port=80),)),),
            "[fd00::1]:80",
        ),
    ],
)  # fmt: skip
def test_endpoints_cell_shows_three_then_counts_the_rest(
    subsets: tuple[EndpointSubset, ...], expected: str
) -> None:
    """Up to three ``ip:port`` (bare IPs without ports), then ``+ N more...``; <none> if empty."""
    assert expected == endpoints_cell(_endpoints(*subsets))


def test_endpoints_table() -> None:
    """NAME, ENDPOINTS and AGE."""
    subset = EndpointSubset(addresses=_addresses("10.0.0.1"), ports=(EndpointPort(port=80),))
    assert "NAME   ENDPOINTS     AGE\nweb    10.0.0.1:80   60s" == endpoints_table(
        [_endpoints(subset)], now=NOW
    )
