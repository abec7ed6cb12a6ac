"""kubectl's get tables of DaemonSets, Jobs, CronJobs, Pods, Services and Endpoints."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pytest

from controllers.api.apps import DaemonSet, DaemonSetSpec, DaemonSetStatus
from controllers.api.batch import (
    CronJob,
    CronJobSpec,
    CronJobStatus,
    Job,
    JobCondition,
    JobSpec,
    JobStatus,
    JobTemplateSpec,
)
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
    cron_job_table,
    daemon_set_table,
    endpoints_cell,
    endpoints_table,
    job_completions,
    job_status,
    job_table,
    pod_table,
    service_table,
)
from reconcile import ConditionStatus, FrozenDict, LabelSelector, ObjectMeta, ObjectReference
from tests.controllers.kubectl.builders import LABELS, at, template

NOW = at(600)


def _meta(name: str, *, created: float = 0.0) -> ObjectMeta:
    return ObjectMeta(name=name, namespace="default", creation_timestamp=at(created))


# -- DaemonSets ----------------------------------------------------------------------------


def _daemon_set(name: str, counts: tuple[int, int, int, int, int], **node: str) -> DaemonSet:
    desired, current, ready, updated, available = counts
    pods = template("fluentd:v5", name="fluentd")
    pods = attrs.evolve(pods, spec=attrs.evolve(pods.spec, node_selector=FrozenDict(node)))
    return DaemonSet(
        metadata=_meta(name),
        spec=DaemonSetSpec(selector=LabelSelector(match_labels=LABELS), template=pods),
        status=DaemonSetStatus(
            desired_number_scheduled=desired,
            current_number_scheduled=current,
            number_ready=ready,
            updated_number_scheduled=updated,
            number_available=available,
        ),
    )


def test_daemon_set_table_counts_node_selector_and_wide_columns() -> None:
    """DESIRED..AVAILABLE from status, the template's node selector sorted, <none> if empty."""
    daemon_sets = [
        _daemon_set("logs", (3, 3, 2, 1, 2)),
        _daemon_set("gpu", (1, 1, 1, 1, 1), zone="a", accelerator="nvidia"),
    ]
    assert (
        "NAME   DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   "
        "NODE SELECTOR               AGE\n"
        "logs   3         3         2       1            2           "
        "<none>                      10m\n"
        "gpu    1         1         1       1            1           "
        "accelerator=nvidia,zone=a   10m"
    ) == daemon_set_table(daemon_sets, now=NOW)
    wide = daemon_set_table(daemon_sets[:1], now=NOW, wide=True).split("\n")
    assert ["CONTAINERS", "IMAGES", "SELECTOR"] == wide[0].split()[-3:]
    assert ["fluentd", "fluentd:v5", "app=web"] == wide[1].split()[-3:]


# -- Jobs ----------------------------------------------------------------------------------


def _condition(type_: str, status: ConditionStatus = ConditionStatus.TRUE) -> JobCondition:
    return JobCondition(type=type_, status=status)


def _job(
    name: str = "pi",
    *,
    completions: int | None = 3,
    parallelism: int | None = None,
    succeeded: int = 0,
    started: float | None = 0.0,
    finished: float | None = None,
    conditions: tuple[JobCondition, ...] = (),
    deleted: bool = False,
) -> Job:
    meta = _meta(name)
    if deleted:
        meta = attrs.evolve(meta, deletion_timestamp=NOW)
    return Job(
        metadata=meta,
        spec=JobSpec(
            completions=completions,
            parallelism=parallelism,
            template=template("perl:5.34", name="pi"),
        ),
        status=JobStatus(
            conditions=conditions,
            start_time=None if started is None else at(started),
            completion_time=None if finished is None else at(finished),
            succeeded=succeeded,
        ),
    )


@pytest.mark.parametrize(
    ("conditions", "deleted", "expected"),
    [
        ((), False, "Running"),
        ((_condition("Complete"),), False, "Complete"),
        ((_condition("Failed"),), True, "Failed"),
        ((), True, "Terminating"),
        ((_condition("Suspended"),), False, "Suspended"),
        ((_condition("Suspended", ConditionStatus.FALSE),), False, "Running"),
        ((_condition("FailureTarget"),), False, "FailureTarget"),
        ((_condition("SuccessCriteriaMet"), _condition("Complete")), False, "Complete"),
        ((_condition("SuccessCriteriaMet"),), False, "SuccessCriteriaMet"),
    ],
)
def test_job_status_follows_kubectls_precedence(
    conditions: tuple[JobCondition, ...], deleted: bool, expected: str
) -> None:
    """Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running."""
    assert expected == job_status(_job(conditions=conditions, deleted=deleted))


@pytest.mark.parametrize(
    ("completions", "parallelism", "expected"),
    [(5, 2, "2/5"), (None, None, "2/1"), (None, 1, "2/1"), (None, 3, "2/1 of 3")],
)
def test_job_completions_of_fixed_counts_and_work_queues(
    completions: int | None, parallelism: int | None, expected: str
) -> None:
    """succeeded/completions; a work queue counts to 1, ``of N`` when N pods run in parallel."""
    job = _job(completions=completions, parallelism=parallelism, succeeded=2)
    assert expected == job_completions(job)


def test_job_table_duration_runs_to_completion_or_now() -> None:
    """DURATION: start to completion when done, start to now while running, empty before."""
    jobs = [
        _job("done", succeeded=3, started=0, finished=75, conditions=(_condition("Complete"),)),
        _job("busy", succeeded=1, started=390),
        _job("new", started=None),
    ]
    assert (
        "NAME   STATUS     COMPLETIONS   DURATION   AGE\n"
        "done   Complete   3/3           75s        10m\n"
        "busy   Running    1/3           3m30s      10m\n"
        "new    Running    0/3                      10m"
    ) == job_table(jobs, now=NOW)


def test_job_table_wide_adds_containers_images_and_selector() -> None:
    """The template's containers and images; a Job without a selector shows <none>."""
    assert (
        "NAME   STATUS    COMPLETIONS   DURATION   AGE   CONTAINERS   IMAGES      SELECTOR\n"
        "pi     Running   0/3           10m        10m   pi           perl:5.34   <none>"
    ) == job_table([_job()], now=NOW, wide=True)


# -- CronJobs ------------------------------------------------------------------------------


def _cron_job(
    name: str,
    schedule: str,
    *,
    zone: str | None = None,
    suspend: bool | None = False,
    active: int = 0,
    last: float | None = None,
) -> CronJob:
    return CronJob(
        metadata=_meta(name),
        spec=CronJobSpec(
            schedule=schedule,
            time_zone=zone,
            suspend=suspend,
            job_template=JobTemplateSpec(
                spec=JobSpec(template=template("busybox:1.28", name="hello"))
            ),
        ),
        status=CronJobStatus(
            active=tuple(ObjectReference(kind="Job", name=f"j{i}") for i in range(active)),
            last_schedule_time=None if last is None else at(last),
        ),
    )


def test_cron_job_table_schedule_zone_suspend_active_and_last_schedule() -> None:
    """TIMEZONE and LAST SCHEDULE are <none> when unset; SUSPEND is True/False or <unset>."""
    cron_jobs = [
        _cron_job("hello", "*/1 * * * *", active=1, last=540),
        _cron_job("nightly", "0 3 * * *", zone="Europe/Paris", suspend=True),
        _cron_job("raw", "@hourly", suspend=None),
    ]
    assert (
        "NAME      SCHEDULE      TIMEZONE       SUSPEND   ACTIVE   LAST SCHEDULE   AGE\n"
        "hello     */1 * * * *   <none>         False     1        60s             10m\n"
        "nightly   0 3 * * *     Europe/Paris   True      0        <none>          10m\n"
        "raw       @hourly       <none>         <unset>   0        <none>          10m"
    ) == cron_job_table(cron_jobs, now=NOW)


def test_cron_job_table_wide_shows_the_job_templates_containers() -> None:
    """Wide adds the Job template's CONTAINERS, IMAGES and SELECTOR."""
    wide = cron_job_table([_cron_job("hello", "* * * * *")], now=NOW, wide=True).split("\n")
    assert ["CONTAINERS", "IMAGES", "SELECTOR"] == wide[0].split()[-3:]
    assert ["hello", "busybox:1.28", "<none>"] == wide[1].split()[-3:]


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
