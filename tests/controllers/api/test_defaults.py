"""Server-side defaulting, through a MemoryCluster with the admission chain installed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api import (
    Container,
    ContainerPort,
    CronJob,
    CronJobSpec,
    DaemonSet,
    DaemonSetSpec,
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    Job,
    JobSpec,
    JobTemplateSpec,
    Pod,
    PodSpec,
    PodTemplateSpec,
    Probe,
    ReplicaSet,
    ReplicaSetSpec,
    Service,
    ServicePort,
    ServiceSpec,
    Toleration,
    install_admission,
)
from controllers.api.apps import (
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
    DeploymentStrategyType,
    RollingUpdateDaemonSet,
    RollingUpdateDeployment,
)
from controllers.api.batch import CompletionMode, ConcurrencyPolicy
from controllers.api.container import HTTPGetAction
from controllers.api.defaults import default_deployment, default_pod
from reconcile import LabelSelector, MemoryCluster, ObjectMeta
from tests.controllers.api.strategies import deployments, labels, names

LABELS = {"app": "web"}
SPEC = PodSpec(containers=(Container(name="web", image="nginx:1.25"),))
TEMPLATE = PodTemplateSpec(metadata=ObjectMeta(labels=LABELS), spec=SPEC)
SELECTOR = LabelSelector(match_labels=LABELS)


@pytest.fixture
def cluster() -> MemoryCluster:
    """A cluster that defaults and validates like the Kubernetes API server."""
    cluster = MemoryCluster()
    install_admission(cluster.admission)
    return cluster


def meta(name: str = "web") -> ObjectMeta:
    """Metadata of a namespaced test object."""
    return ObjectMeta(name=name, namespace="default")


async def test_deployment_without_strategy_is_stored_with_rolling_update_25_percent(
    cluster: MemoryCluster,
) -> None:
    """A Deployment gets k8s-semantics §2.3's defaults when it is stored."""
    await cluster.create(
        Deployment(metadata=meta(), spec=DeploymentSpec(selector=SELECTOR, template=TEMPLATE))
    )
    stored = await cluster.get(Deployment, "web", namespace="default")
    expected = DeploymentStrategy(
        type=DeploymentStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateDeployment(max_unavailable="25%", max_surge="25%"),
    )
    assert expected == stored.spec.strategy
    assert (1, 10, 600, False, 0) == (
        stored.spec.replicas,
        stored.spec.revision_history_limit,
        stored.spec.progress_deadline_seconds,
        stored.spec.paused,
        stored.spec.min_ready_seconds,
    )
    assert "Always" == stored.spec.template.spec.restart_policy


async def test_deployment_keeps_values_the_user_set(cluster: MemoryCluster) -> None:
    """Explicit zeros and a Recreate strategy survive defaulting untouched."""
    spec = DeploymentSpec(
        replicas=0,
        selector=SELECTOR,
        template=TEMPLATE,
        strategy=DeploymentStrategy(type=DeploymentStrategyType.RECREATE),
        revision_history_limit=0,
    )
    stored = await cluster.create(Deployment(metadata=meta(), spec=spec))
    assert (0, 0, DeploymentStrategy(type=DeploymentStrategyType.RECREATE)) == (
        stored.spec.replicas,
        stored.spec.revision_history_limit,
        stored.spec.strategy,
    )


async def test_pod_gets_spec_defaults_and_not_ready_unreachable_tolerations(
    cluster: MemoryCluster,
) -> None:
    """A bare Pod gets restartPolicy, grace period, DNS, scheduler and two tolerations."""
    pod = await cluster.create(Pod(metadata=meta(), spec=SPEC))
    spec = pod.spec
    assert ("Always", 30, "ClusterFirst", "default-scheduler") == (
        spec.restart_policy,
        spec.termination_grace_period_seconds,
        spec.dns_policy,
        spec.scheduler_name,
    )
    expected = tuple(
        Toleration(key=key, operator="Exists", effect="NoExecute", toleration_seconds=300)
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
    )
    assert expected == spec.tolerations
    container = spec.containers[0]
    assert ("IfNotPresent", "/dev/termination-log", "File") == (
        container.image_pull_policy,
        container.termination_message_path,
        container.termination_message_policy,
    )


def test_pod_with_its_own_not_ready_toleration_only_gains_unreachable() -> None:
    """An existing not-ready toleration (any effect) is kept and not duplicated."""
    own = Toleration(key="node.kubernetes.io/not-ready", operator="Exists", toleration_seconds=5)
    pod = default_pod(
        Pod(metadata=meta(), spec=PodSpec(containers=SPEC.containers, tolerations=(own,)))
    )
    assert ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] == [
        t.key for t in pod.spec.tolerations
    ]
    assert own == pod.spec.tolerations[0]


def test_pod_tolerating_everything_gains_no_toleration() -> None:
    """A toleration with an empty key and effect already covers both taints."""
    everything = Toleration(operator="Exists")
    pod = default_pod(Pod(spec=PodSpec(containers=SPEC.containers, tolerations=(everything,))))
    assert (everything,) == pod.spec.tolerations


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"),
        ("localhost:5000/nginx:1.2", "IfNotPresent"),
        ("nginx@sha256:0123abcd", "IfNotPresent"),
    ],
)
def test_image_pull_policy_depends_on_the_tag(image: str, policy: str) -> None:
    """Always for ``:latest`` or no tag, IfNotPresent otherwise."""
    pod = default_pod(Pod(spec=PodSpec(containers=(Container(name="c", image=image),))))
    assert policy == pod.spec.containers[0].image_pull_policy


def test_probes_and_ports_get_their_defaults() -> None:
    """Probe timings 1/10/1/3, HTTP GET path ``/`` and scheme HTTP, ports TCP."""
    container = Container(
        name="c",
        image="app:1",
        ports=(ContainerPort(container_port=80),),
        liveness_probe=Probe(http_get=HTTPGetAction(port=80), failure_threshold=5),
    )
    pod = default_pod(Pod(spec=PodSpec(containers=(container,))))
    probe = pod.spec.containers[0].liveness_probe
    expected = Probe(
        http_get=HTTPGetAction(port=80, path="/", scheme="HTTP"),
        timeout_seconds=1,
        period_seconds=10,
        success_threshold=1,
        failure_threshold=5,
    )
    assert expected == probe
    assert "TCP" == pod.spec.containers[0].ports[0].protocol


async def test_service_defaults(cluster: MemoryCluster) -> None:
    """ClusterIP, sessionAffinity None, TCP ports and targetPort equal to port."""
    ports = (ServicePort(port=80), ServicePort(port=443, target_port="https", protocol="UDP"))
    svc = await cluster.create(Service(metadata=meta(), spec=ServiceSpec(ports=ports)))
    assert ("ClusterIP", "None") == (svc.spec.type, svc.spec.session_affinity)
    expected = (
        ServicePort(port=80, target_port=80, protocol="TCP"),
        ServicePort(port=443, target_port="https", protocol="UDP"),
    )
    assert expected == svc.spec.ports


async def test_replica_set_and_daemon_set_defaults(cluster: MemoryCluster) -> None:
    """ReplicaSet replicas 1; DaemonSet RollingUpdate 1/0 and history 10."""
    rs = await cluster.create(
        ReplicaSet(metadata=meta(), spec=ReplicaSetSpec(selector=SELECTOR, template=TEMPLATE))
    )
    ds = await cluster.create(
        DaemonSet(metadata=meta(), spec=DaemonSetSpec(selector=SELECTOR, template=TEMPLATE))
    )
    assert 1 == rs.spec.replicas
    expected = DaemonSetUpdateStrategy(
        type=DaemonSetUpdateStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateDaemonSet(max_unavailable=1, max_surge=0),
    )
    assert (expected, 10) == (ds.spec.update_strategy, ds.spec.revision_history_limit)


async def test_job_defaults(cluster: MemoryCluster) -> None:
    """Completions and parallelism 1, backoff 6, NonIndexed, not suspended."""
    template = PodTemplateSpec(spec=PodSpec(containers=SPEC.containers, restart_policy="Never"))
    job = await cluster.create(Job(metadata=meta(), spec=JobSpec(template=template)))
    spec = job.spec
    assert (1, 1, 6, CompletionMode.NON_INDEXED, False) == (
        spec.completions,
        spec.parallelism,
        spec.backoff_limit,
        spec.completion_mode,
        spec.suspend,
    )


async def test_work_queue_job_keeps_completions_unset(cluster: MemoryCluster) -> None:
    """With parallelism set and completions unset, completions stay unset (a work queue)."""
    template = PodTemplateSpec(spec=PodSpec(containers=SPEC.containers, restart_policy="Never"))
    job = await cluster.create(Job(metadata=meta(), spec=JobSpec(parallelism=3, template=template)))
    assert (None, 3) == (job.spec.completions, job.spec.parallelism)


async def test_cron_job_defaults(cluster: MemoryCluster) -> None:
    """Allow, not suspended, keep 3 successful and 1 failed Job."""
    template = PodTemplateSpec(spec=PodSpec(containers=SPEC.containers, restart_policy="Never"))
    job_template = JobTemplateSpec(spec=JobSpec(template=template))
    cron = await cluster.create(
        CronJob(metadata=meta(), spec=CronJobSpec(schedule="@hourly", job_template=job_template))
    )
    spec = cron.spec
    assert (ConcurrencyPolicy.ALLOW, False, 3, 1) == (
        spec.concurrency_policy,
        spec.suspend,
        spec.successful_jobs_history_limit,
        spec.failed_jobs_history_limit,
    )


# -- properties ----------------------------------------------------------------------------

probes = st.none() | st.builds(
    Probe,
    timeout_seconds=st.integers(0, 3),
    period_seconds=st.integers(0, 3),
    success_threshold=st.integers(0, 3),
    failure_threshold=st.integers(0, 3),
)
containers = st.builds(
    Container,
    name=names,
    image=st.sampled_from(["nginx", "nginx:latest", "app:1.0", "r:5000/a", "a@sha256:00"]),
    image_pull_policy=st.sampled_from(["", "Never"]),
    ports=st.lists(st.builds(ContainerPort, container_port=st.integers(1, 9)), max_size=2).map(
        tuple
    ),
    liveness_probe=probes,
    readiness_probe=probes,
)
pods = st.builds(
    Pod,
    metadata=st.builds(ObjectMeta, name=names, labels=labels),
    spec=st.builds(
        PodSpec,
        containers=st.lists(containers, max_size=2).map(tuple),
        init_containers=st.lists(containers, max_size=1).map(tuple),
        restart_policy=st.sampled_from(["", "Always", "Never"]),
        termination_grace_period_seconds=st.none() | st.integers(0, 60),
        tolerations=st.lists(
            st.builds(
                Toleration,
                key=st.sampled_from(["", "node.kubernetes.io/not-ready", "x"]),
                effect=st.sampled_from(["", "NoExecute", "NoSchedule"]),
            ),
            max_size=2,
        ).map(tuple),
    ),
)


@given(pods)
def test_pod_defaulting_is_idempotent(pod: Pod) -> None:
    """Defaulting a defaulted Pod changes nothing."""
    once = default_pod(pod)
    assert once == default_pod(once)


@given(deployments)
def test_deployment_defaulting_is_idempotent_and_keeps_set_values(deployment: Deployment) -> None:
    """Defaulting a defaulted Deployment changes nothing, and set values are kept."""
    once = default_deployment(deployment)
    assert once == default_deployment(once)
    if deployment.spec.replicas is not None:
        assert deployment.spec.replicas == once.spec.replicas
    assert deployment.status == once.status
