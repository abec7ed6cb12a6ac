"""Validation with Kubernetes field paths and reasons; refused writes change nothing."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from controllers.api import (
    Container,
    CronJob,
    CronJobSpec,
    DaemonSet,
    DaemonSetSpec,
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    Job,
    JobSpec,
    Pod,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    Probe,
    ReplicaSet,
    ReplicaSetSpec,
    RollingUpdateDeployment,
    Toleration,
    install_admission,
)
from controllers.api.validation import validate_deployment, validate_job
from reconcile import InvalidError, LabelSelector, MemoryCluster, ObjectMeta, Operation

LABELS = {"app": "web"}
SPEC = PodSpec(containers=(Container(name="web", image="nginx:1.25"),), restart_policy="Always")
TEMPLATE = PodTemplateSpec(metadata=ObjectMeta(labels=LABELS), spec=SPEC)
SELECTOR = LabelSelector(match_labels=LABELS)
JOB_TEMPLATE = attrs.evolve(TEMPLATE, spec=attrs.evolve(SPEC, restart_policy="Never"))


@pytest.fixture
def cluster() -> MemoryCluster:
    """A cluster that defaults and validates like the Kubernetes API server."""
    cluster = MemoryCluster()
    install_admission(cluster.admission)
    return cluster


def deployment(**changes: Any) -> Deployment:
    """A valid Deployment ``web`` with ``changes`` applied to its spec."""
    spec = attrs.evolve(DeploymentSpec(selector=SELECTOR, template=TEMPLATE), **changes)
    return Deployment(metadata=ObjectMeta(name="web", namespace="default"), spec=spec)


def job(**changes: Any) -> Job:
    """A valid Job ``work`` with ``changes`` applied to its spec."""
    spec = attrs.evolve(JobSpec(template=JOB_TEMPLATE), **changes)
    return Job(metadata=ObjectMeta(name="work", namespace="default"), spec=spec)


def causes(exc: pytest.ExceptionInfo[InvalidError]) -> list[str]:
    """The refused fields, rendered as Kubernetes renders them."""
    return [str(cause) for cause in exc.value.causes]


async def test_mismatching_selector_is_refused_and_nothing_is_stored(
    cluster: MemoryCluster,
) -> None:
    """The error names the template labels, and the cluster holds no Deployment."""
    bad = deployment(selector=LabelSelector(match_labels={"app": "db"}))
    with pytest.raises(InvalidError) as exc:
        await cluster.create(bad)
    assert (
        'Deployment "web" is invalid: spec.template.metadata.labels: '
        "Invalid value: {'app': 'web'}: selector does not match template labels"
    ) == str(exc.value)
    assert () == (await cluster.list(Deployment)).items


async def test_changing_a_deployment_selector_is_refused(cluster: MemoryCluster) -> None:
    """``spec.selector`` is immutable, and the stored object stays as it was."""
    stored = await cluster.create(deployment())
    selector = LabelSelector(match_labels={"app": "web", "tier": "front"})
    template = attrs.evolve(TEMPLATE, metadata=ObjectMeta(labels={"app": "web", "tier": "front"}))
    changed = attrs.evolve(
        stored, spec=attrs.evolve(stored.spec, selector=selector, template=template)
    )
    with pytest.raises(InvalidError) as exc:
        await cluster.update(changed)
    assert [
        "spec.selector: Invalid value: {'matchLabels': {'app': 'web', 'tier': 'front'}}: "
        "field is immutable"
    ] == causes(exc)
    assert stored == await cluster.get(Deployment, "web", namespace="default")


async def test_scaling_and_status_updates_are_admitted(cluster: MemoryCluster) -> None:
    """Changing replicas is a valid update; a status write skips spec validation."""
    stored = await cluster.create(deployment())
    scaled = await cluster.update(attrs.evolve(stored, spec=attrs.evolve(stored.spec, replicas=5)))
    pod = await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=SPEC))
    running = await cluster.update_status(attrs.evolve(pod, status=PodStatus(phase="Running")))
    assert (5, "Running") == (scaled.spec.replicas, running.status.phase)


def test_negative_replicas_are_invalid() -> None:
    """``spec.replicas: Invalid value: -1: must be greater than or equal to 0``."""
    with attrs.validators.disabled():
        bad = deployment(replicas=-1)
    assert ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"] == [
        str(e) for e in validate_deployment(bad, None, Operation.CREATE)
    ]


async def test_containers_need_names_and_images_and_unique_names(cluster: MemoryCluster) -> None:
    """Missing name and image are required values; a repeated name is a duplicate."""
    containers = (Container(name="a", image="x"), Container(name="a", image=""), Container())
    spec = attrs.evolve(SPEC, containers=containers)
    with pytest.raises(InvalidError) as exc:
        await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=spec))
    assert [
        "spec.containers[1].name: Duplicate value: 'a'",
        "spec.containers[1].image: Required value",
        "spec.containers[2].name: Required value",
        "spec.containers[2].image: Required value",
    ] == causes(exc)


W = ObjectMeta(name="w", namespace="default")


@pytest.mark.parametrize(
    "obj",
    [
        ReplicaSet(metadata=W, spec=ReplicaSetSpec(selector=SELECTOR, template=JOB_TEMPLATE)),
        DaemonSet(metadata=W, spec=DaemonSetSpec(selector=SELECTOR, template=JOB_TEMPLATE)),
        Deployment(metadata=W, spec=DeploymentSpec(selector=SELECTOR, template=JOB_TEMPLATE)),
    ],
)
async def test_workload_templates_must_restart_always(
    cluster: MemoryCluster, obj: ReplicaSet | DaemonSet | Deployment
) -> None:
    """A ReplicaSet, DaemonSet or Deployment template with ``Never`` is unsupported."""
    with pytest.raises(InvalidError) as exc:
        await cluster.create(obj)
    assert [
        "spec.template.spec.restartPolicy: Unsupported value: 'Never': supported values: \"Always\""
    ] == causes(exc)


async def test_job_template_defaulting_to_always_is_refused(cluster: MemoryCluster) -> None:
    """A Job must say OnFailure or Never, as in Kubernetes."""
    with pytest.raises(InvalidError) as exc:
        await cluster.create(job(template=TEMPLATE))
    assert [
        "spec.template.spec.restartPolicy: Unsupported value: 'Always': "
        'supported values: "OnFailure", "Never"'
    ] == causes(exc)


@pytest.mark.parametrize(
    ("max_unavailable", "max_surge", "expected"),
    [
        ("25%", 1, []),
        (0, "25%", []),
        (
            "25",
            1,
            [
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: '25': a valid "
                "percent string must be a numeric string followed by an ending '%' (e.g. '1%',"
                "  or '93%', regex used for validation is '[0-9]+%')"
            ],
        ),
        (
            0,
            "0%",
            [
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: "
                "may not be 0 when `maxSurge` is 0"
            ],
        ),
        (
            "150%",
            1,
            [
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: '150%': "
                "must not be greater than 100%"
            ],
        ),
    ],
)
def test_rolling_update_bounds(
    max_unavailable: int | str, max_surge: int | str, expected: list[str]
) -> None:
    """Counts or ``N%`` strings, at most 100% unavailable, not both zero."""
    rolling = RollingUpdateDeployment(max_unavailable=max_unavailable, max_surge=max_surge)
    obj = deployment(strategy=DeploymentStrategy(rolling_update=rolling))
    assert expected == [str(e) for e in validate_deployment(obj, None, Operation.CREATE)]


async def test_job_template_and_completions_are_immutable_unless_suspended(
    cluster: MemoryCluster,
) -> None:
    """A running Job refuses new completions and template; a suspended one takes a template."""
    running = await cluster.create(job())
    other = attrs.evolve(
        JOB_TEMPLATE, spec=attrs.evolve(JOB_TEMPLATE.spec, restart_policy="OnFailure")
    )
    with pytest.raises(InvalidError) as exc:
        await cluster.update(
            attrs.evolve(running, spec=attrs.evolve(running.spec, completions=3, template=other))
        )
    assert [
        "spec.completions: Invalid value: 3: field is immutable",
        "spec.template: Invalid value: '<pod template>': field is immutable",
    ] == causes(exc)
    suspended = await cluster.create(
        attrs.evolve(job(suspend=True), metadata=ObjectMeta(name="later", namespace="default"))
    )
    updated = await cluster.update(
        attrs.evolve(suspended, spec=attrs.evolve(suspended.spec, template=other))
    )
    assert "OnFailure" == updated.spec.template.spec.restart_policy


def test_job_counts_are_non_negative() -> None:
    """Parallelism, completions and backoffLimit must be >= 0."""
    with attrs.validators.disabled():
        bad = job(parallelism=-1, completions=-2, backoff_limit=-3)
    assert [
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "spec.completions: Invalid value: -2: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0",
    ] == [str(e) for e in validate_job(bad, None, Operation.CREATE)]


async def test_cron_job_needs_a_schedule(cluster: MemoryCluster) -> None:
    """An empty schedule is a required value."""
    cron = CronJob(metadata=ObjectMeta(name="c", namespace="default"), spec=CronJobSpec())
    cron = attrs.evolve(
        cron,
        spec=attrs.evolve(
            cron.spec, job_template=attrs.evolve(cron.spec.job_template, spec=job().spec)
        ),
    )
    with pytest.raises(InvalidError) as exc:
        await cluster.create(cron)
    assert ["spec.schedule: Required value"] == causes(exc)


async def test_probe_thresholds_must_be_positive(cluster: MemoryCluster) -> None:
    """A negative failure threshold is reported at the probe's own path."""
    container = attrs.evolve(SPEC.containers[0], readiness_probe=Probe(failure_threshold=-1))
    spec = attrs.evolve(SPEC, containers=(container,))
    with pytest.raises(InvalidError) as exc:
        await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=spec))
    assert [
        "spec.containers[0].readinessProbe.failureThreshold: Invalid value: -1: "
        "must be greater than or equal to 1"
    ] == causes(exc)


async def test_pod_updates_may_change_images_and_tolerations_only(cluster: MemoryCluster) -> None:
    """A new image and a new toleration are admitted; a changed nodeName is forbidden."""
    spec = attrs.evolve(SPEC, node_name="n0")
    pod = await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=spec))
    container = attrs.evolve(pod.spec.containers[0], image="nginx:1.26")
    tolerations = (*pod.spec.tolerations, Toleration(key="gpu", operator="Exists"))
    updated = await cluster.update(
        attrs.evolve(
            pod, spec=attrs.evolve(pod.spec, containers=(container,), tolerations=tolerations)
        )
    )
    with pytest.raises(InvalidError) as exc:
        await cluster.update(attrs.evolve(updated, spec=attrs.evolve(updated.spec, node_name="n1")))
    assert ("nginx:1.26", 3) == (updated.spec.containers[0].image, len(updated.spec.tolerations))
    assert [
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`, `spec.initContainers[*].image`, "
        "`spec.activeDeadlineSeconds` or `spec.tolerations`"
    ] == causes(exc)
    assert updated == await cluster.get(Pod, "p", namespace="default")


async def test_pod_binding_sets_an_unset_node_name_once(cluster: MemoryCluster) -> None:
    """An unset nodeName may be set (binding); unsetting it again is forbidden."""
    pod = await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=SPEC))
    bound = await cluster.update(attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="n1")))
    with pytest.raises(InvalidError) as exc:
        await cluster.update(attrs.evolve(bound, spec=attrs.evolve(bound.spec, node_name="")))
    assert "n1" == (await cluster.get(Pod, "p", namespace="default")).spec.node_name
    assert [
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`, `spec.initContainers[*].image`, "
        "`spec.activeDeadlineSeconds` or `spec.tolerations`"
    ] == causes(exc)


async def test_pod_binding_marks_the_pod_scheduled_in_the_same_write(
    cluster: MemoryCluster,
) -> None:
    """Like ``pods/binding``: setting nodeName also sets PodScheduled=True, once."""
    pod = await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=SPEC))
    bound = await cluster.update(attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="n1")))
    relabelled = await cluster.update(
        attrs.evolve(bound, metadata=attrs.evolve(bound.metadata, labels={"a": "b"}))
    )
    assert [("PodScheduled", "True")] == [(c.type, c.status) for c in bound.status.conditions]
    assert bound.status == relabelled.status
    assert int(bound.metadata.resource_version) == int(pod.metadata.resource_version) + 1


async def test_pod_binding_that_changes_more_than_the_node_is_refused(
    cluster: MemoryCluster,
) -> None:
    pod = await cluster.create(Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=SPEC))
    with pytest.raises(InvalidError):
        await cluster.update(
            attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="n1", restart_policy="Never"))
        )
    assert pod == await cluster.get(Pod, "p", namespace="default")


async def test_delete_is_never_refused(cluster: MemoryCluster) -> None:
    """Validators let a stored object go, whatever it holds."""
    await cluster.create(deployment())
    await cluster.delete(Deployment, "web", namespace="default")
    assert () == (await cluster.list(Deployment)).items
