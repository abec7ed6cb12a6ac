"""
``kubectl get`` tables of the core kinds: Pods, Services and Endpoints.

Each function takes the objects in the order to print them and ``now``,
and returns the table as kubectl prints it (``-o wide`` with ``wide``),
laid out by :func:`~controllers.kubectl.printers.tabwrite` without a
trailing newline. Cells follow kubectl's ``printPod``, ``printService``
and ``printEndpoints``:

* a Pod's STATUS is its phase, replaced by its ``reason``, then by an
  ``Init:`` state while init containers run (``Init:0/2``,
  ``Init:CrashLoopBackOff``, ``Init:ExitCode:1``), then by a container's
  waiting or terminated reason (``ContainerCreating``,
  ``CrashLoopBackOff``, ``Completed``, ``ExitCode:1``), and by
  ``Terminating`` while a live pod is deleted (``Unknown`` when its node is
  unreachable); RESTARTS adds ``(5m ago)`` after the last restart;
* READY counts ready, running containers (and started sidecars) over all
  containers plus sidecar init containers;
* a Service's CLUSTER-IP is its first cluster IP, EXTERNAL-IP its external
  IPs, load-balancer ingress (``<pending>`` until there is one, cut to 16
  characters unless wide) or external name, PORT(S) ``80/TCP`` or
  ``80:30080/TCP`` with a node port;
* ENDPOINTS lists up to three ``ip:port`` and then ``+ N more...``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import attrs

from controllers.api.container import Container, ContainerStatus
from controllers.api.core import Endpoints, Service
from controllers.api.pod import Pod, PodStatus
from controllers.kubectl.printers import age, labels_cell, tabwrite

__all__ = ["endpoints_cell", "endpoints_table", "pod_table", "service_table"]

_LOAD_BALANCER_WIDTH = 16
_NODE_UNREACHABLE = "NodeLost"


def _sidecar(container: Container | None) -> bool:
    return container is not None and container.restart_policy == "Always"


def _latest(current: dt.datetime | None, status: ContainerStatus) -> dt.datetime | None:
    terminated = status.last_state.terminated
    if terminated is None or terminated.finished_at is None:
        return current
    return terminated.finished_at if current is None else max(current, terminated.finished_at)


def _initialized(status: PodStatus) -> bool:
    return any(c.type == "Initialized" and c.status == "True" for c in status.conditions)


@attrs.frozen(kw_only=True)
class _Counts:
    """What the init containers add: kubectl counts those it looked at before it stopped."""

    reason: str | None = None
    ready: int = 0
    restarts: int = 0
    last: dt.datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last: dt.datetime | None = None


def _init_containers(pod: Pod) -> _Counts:
    """The ``Init:`` status (``None`` once initialised), ready sidecars and restarts."""
    sidecars = {c.name for c in pod.spec.init_containers if _sidecar(c)}
    counts = _Counts()
    for i, status in enumerate(pod.status.init_container_statuses):
        sidecar = status.name in sidecars
        counts = attrs.evolve(
            counts,
            restarts=counts.restarts + status.restart_count,
            last=_latest(counts.last, status),
            sidecar_restarts=counts.sidecar_restarts + sidecar * status.restart_count,
            sidecar_last=_latest(counts.sidecar_last, status) if sidecar else counts.sidecar_last,
        )
        state = status.state
        if state.terminated is not None and state.terminated.exit_code == 0:
            continue
        if sidecar and status.started:
            counts = attrs.evolve(counts, ready=counts.ready + status.ready)
            continue
        if state.terminated is not None:
            t = state.terminated
            if t.reason:
                reason = f"Init:{t.reason}"
            else:
                reason = f"Init:Signal:{t.signal}" if t.signal else f"Init:ExitCode:{t.exit_code}"
        elif state.waiting is not None and state.waiting.reason not in ("", "PodInitializing"):
            reason = f"Init:{state.waiting.reason}"
        else:
            reason = f"Init:{i}/{len(pod.spec.init_containers)}"
        return attrs.evolve(counts, reason=reason)
    return counts


def _pod_cells(pod: Pod, now: dt.datetime) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS of one pod."""
    spec, status = pod.spec, pod.status
    total = len(spec.containers) + sum(_sidecar(c) for c in spec.init_containers)
    reason = status.reason or status.phase
    if any(c.type == "PodScheduled" and c.reason == "SchedulingGated" for c in status.conditions):
        reason = "SchedulingGated"
    init = _init_containers(pod)
    ready, restarts, last = init.ready, init.restarts, init.last
    if init.reason is not None:
        reason = init.reason
    if init.reason is None or _initialized(status):
        restarts, last = init.sidecar_restarts, init.sidecar_last
        running = False
        for s in reversed(status.container_statuses):
            restarts += s.restart_count
            last = _latest(last, s)
            state = s.state
            if state.waiting is not None and state.waiting.reason:
                reason = state.waiting.reason
            elif state.terminated is not None and state.terminated.reason:
                reason = state.terminated.reason
            elif state.terminated is not None:
                t = state.terminated
                reason = f"Signal:{t.signal}" if t.signal else f"ExitCode:{t.exit_code}"
            elif s.ready and state.running is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            pod_ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions)
            reason = "Running" if pod_ready else "NotReady"
    if pod.metadata.deletion_timestamp is not None:
        if status.reason == _NODE_UNREACHABLE:
            reason = "Unknown"
        elif status.phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    shown = str(restarts)
    if restarts and last is not None:
        shown = f"{restarts} ({age(last, now)} ago)"
    return f"{ready}/{total}", reason, shown


def _readiness_gates(pod: Pod) -> str:
    gates = [g.get("conditionType") for g in pod.spec.readiness_gates if isinstance(g, Mapping)]
    if not gates:
        return "<none>"
    true = 0
    for gate in gates:
        found = next((c for c in pod.status.conditions if c.type == gate), None)
        true += found is not None and found.status == "True"
    return f"{true}/{len(gates)}"


def pod_table(pods: Iterable[Pod], *, now: dt.datetime, wide: bool = False) -> str:
    """
    ``kubectl get pods`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, READY, STATUS, RESTARTS, AGE; wide adds IP, NODE,
    NOMINATED NODE and READINESS GATES (``<none>`` when unset).
    """
    header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    if wide:
        header += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    rows = [header]
    for pod in pods:
        ready, reason, restarts = _pod_cells(pod, now)
        created = age(pod.metadata.creation_timestamp, now)
        row = [pod.metadata.name, ready, reason, restarts, created]
        if wide:
            ip = pod.status.pod_ips[0].ip if pod.status.pod_ips else pod.status.pod_ip
            row += [
                ip or "<none>",
                pod.spec.node_name or "<none>",
                pod.status.nominated_node_name or "<none>",
                _readiness_gates(pod),
            ]
        rows.append(row)
    return tabwrite(rows)


def _load_balancer(service: Service, wide: bool) -> str:
    status = service.status.load_balancer
    ingress = () if status is None else status.ingress
    addresses = sorted({i.ip or i.hostname for i in ingress if i.ip or i.hostname})
    text = ",".join(addresses)
    if not wide and len(text) > _LOAD_BALANCER_WIDTH:
        text = text[: _LOAD_BALANCER_WIDTH - 3] + "..."
    return text


def _external_ip(service: Service, wide: bool) -> str:
    spec = service.spec
    match spec.type or "ClusterIP":
        case "ClusterIP" | "NodePort":
            return ",".join(spec.external_ips) or "<none>"
        case "LoadBalancer":
            ips = _load_balancer(service, wide)
            listed = [*(ips.split(",") if ips else []), *spec.external_ips]
            return ",".join(listed) or "<pending>"
        case "ExternalName":
            return spec.external_name
        case _:
            return "<unknown>"


def _ports(service: Service) -> str:
    pieces = []
    for p in service.spec.ports:
        protocol = p.protocol or "TCP"
        node = f":{p.node_port}" if p.node_port > 0 else ""
        pieces.append(f"{p.port}{node}/{protocol}")
    return ",".join(pieces) or "<none>"


def service_table(services: Iterable[Service], *, now: dt.datetime, wide: bool = False) -> str:
    """
    ``kubectl get services`` (``-o wide`` with ``wide``), in the order given.

    Columns: NAME, TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE; wide adds
    SELECTOR (``<none>`` for a Service without one).
    """
    header = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    rows = [header + (["SELECTOR"] if wide else [])]
    for svc in services:
        spec = svc.spec
        cluster_ip = spec.cluster_ips[0] if spec.cluster_ips else spec.cluster_ip
        row = [
            svc.metadata.name,
            spec.type or "ClusterIP",
            cluster_ip or "<none>",
            _external_ip(svc, wide),
            _ports(svc),
            age(svc.metadata.creation_timestamp, now),
        ]
        if wide:
            row.append(labels_cell(spec.selector))
        rows.append(row)
    return tabwrite(rows)


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def endpoints_cell(endpoints: Endpoints, *, most: int = 3) -> str:
    """
    The ENDPOINTS cell: ``ip:port`` of ready addresses, ``most`` of them then ``+ N more...``.

    Addresses of a subset without ports show as bare IPs; an object without
    subsets shows ``<none>``, one with only not-ready addresses an empty cell.
    """
    if not endpoints.subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    more = False
    for subset in endpoints.subsets:
        pairs: Sequence[tuple[str, int | None]]
        if subset.ports:
            pairs = [(a.ip, p.port) for p in subset.ports for a in subset.addresses]
        else:
            pairs = [(a.ip, None) for a in subset.addresses]
        count += len(pairs)
        for ip, port in pairs:
            if len(shown) == most:
                more = True
                break
            shown.append(ip if port is None else _host_port(ip, port))
    text = ",".join(shown)
    return f"{text} + {count - most} more..." if more else text


def endpoints_table(endpoints: Iterable[Endpoints], *, now: dt.datetime) -> str:
    """``kubectl get endpoints`` (wide is the same), in the order given: NAME, ENDPOINTS, AGE."""
    rows = [["NAME", "ENDPOINTS", "AGE"]]
    rows += [
        [ep.metadata.name, endpoints_cell(ep), age(ep.metadata.creation_timestamp, now)]
        for ep in endpoints
    ]
    return tabwrite(rows)
