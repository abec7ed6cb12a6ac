"""The pure edits: set image, scale, pause/resume, restart, change cause."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.apps import DaemonSet, DaemonSetSpec, ReplicaSet
from controllers.api.batch import CronJob, CronJobSpec, JobSpec, JobTemplateSpec
from controllers.api.container import Container
from controllers.api.core import ConfigMap, Pod
from controllers.api.pod import PodSpec
from controllers.kubectl import (
    KubectlError,
    pod_spec_of,
    rfc3339,
    with_change_cause,
    with_images,
    with_paused,
    with_replicas,
    with_restart,
)
from controllers.kubectl.annotations import CHANGE_CAUSE, RESTARTED_AT
from reconcile import ObjectMeta
from tests.controllers.kubectl.builders import at, deployment, replica_set, template

IMAGES = st.from_regex(r"[a-z]{1,8}(:[0-9]{1,3})?", fullmatch=True)


def _two_containers() -> PodSpec:
    return PodSpec(
        init_containers=(Container(name="init", image="busybox"),),
        containers=(Container(name="web", image="nginx"), Container(name="log", image="fluent")),
    )


def test_set_image_changes_only_the_named_container() -> None:
    """Other containers keep their images."""
    d = deployment()
    d = attrs.evolve(
        d,
        spec=attrs.evolve(d.spec, template=attrs.evolve(d.spec.template, spec=_two_containers())),
    )
    changed = with_images(d, {"log": "fluent:2", "init": "busybox:1"})
    spec = pod_spec_of(changed)
    assert ["nginx", "fluent:2"] == [c.image for c in spec.containers]
    assert ["busybox:1"] == [c.image for c in spec.init_containers]


def test_set_image_wildcard_sets_every_container() -> None:
    """``*`` reaches init containers and containers alike."""
    pod = Pod(metadata=ObjectMeta(name="p", namespace="default"), spec=_two_containers())
    spec = pod_spec_of(with_images(pod, {"*": "alpine"}))
    assert {"alpine"} == {c.image for c in (*spec.init_containers, *spec.containers)}


def test_set_image_unknown_container_names_it() -> None:
    """kubectl's message, and nothing is changed."""
    with pytest.raises(KubectlError) as info:
        with_images(deployment(), {"web": "nginx:2", "nope": "redis"})
    assert 'unable to find container named "nope"' == str(info.value)


def test_set_image_argument_errors() -> None:
    """No images, or ``*`` with names, are refused."""
    with pytest.raises(KubectlError, match="at least one image update is required"):
        with_images(deployment(), {})
    with pytest.raises(KubectlError, match="all containers are already specified by"):
        with_images(deployment(), {"*": "a", "web": "b"})


def test_set_image_reaches_every_template_kind() -> None:
    """ReplicaSet, DaemonSet and CronJob templates are edited in place."""
    rs = with_images(replica_set(1, "a"), {"web": "b"})
    assert "b" == rs.spec.template.spec.containers[0].image
    ds = DaemonSet(metadata=ObjectMeta(name="ds"), spec=DaemonSetSpec(template=template()))
    assert "b" == pod_spec_of(with_images(ds, {"web": "b"})).containers[0].image
    job = JobTemplateSpec(spec=JobSpec(template=template()))
    cron = CronJob(metadata=ObjectMeta(name="cj"), spec=CronJobSpec(job_template=job))
    edited = with_images(cron, {"web": "b"})
    assert "b" == edited.spec.job_template.spec.template.spec.containers[0].image


def test_kinds_without_template_are_refused() -> None:
    """A ConfigMap has no pod template."""
    with pytest.raises(KubectlError, match='configmaps "c" has no pod template'):
        with_images(ConfigMap(metadata=ObjectMeta(name="c")), {"*": "x"})


@given(image=IMAGES)
def test_set_image_is_idempotent(image: str) -> None:
    """Setting an image twice is setting it once."""
    once = with_images(deployment(), {"web": image})
    assert once == with_images(once, {"web": image})


def test_scale_sets_replicas_and_checks_current() -> None:
    """--current-replicas is a precondition, with kubectl's message."""
    assert 5 == with_replicas(deployment(replicas=3), 5).spec.replicas
    with pytest.raises(KubectlError) as info:
        with_replicas(deployment(replicas=3), 5, current=2)
    assert "Expected replicas to be 2, was 3" == str(info.value)
    with pytest.raises(ValueError, match="replicas: must be >= 0"):
        with_replicas(deployment(), -1)
    with pytest.raises(KubectlError, match="cannot be scaled"):
        with_replicas(Pod(metadata=ObjectMeta(name="p")), 2)
    assert isinstance(with_replicas(replica_set(1, "a"), 2), ReplicaSet)


def test_pause_and_resume_refuse_no_ops() -> None:
    """Pausing a paused Deployment (or resuming a running one) is kubectl's error."""
    paused = with_paused(deployment(), True)
    assert paused.spec.paused
    with pytest.raises(KubectlError) as info:
        with_paused(paused, True)
    assert 'deployments.apps "web" is already paused' == str(info.value)
    with pytest.raises(KubectlError, match=r'deployments\.apps "web" is not paused'):
        with_paused(deployment(), False)
    assert not with_paused(paused, False).spec.paused


@given(seconds=st.integers(0, 10**8))
def test_restart_changes_only_the_restarted_at_annotation(seconds: int) -> None:
    """Everything but the template's restartedAt annotation is unchanged."""
    d = deployment()
    restarted = with_restart(d, at(seconds))
    notes = dict(restarted.spec.template.metadata.annotations)
    assert {RESTARTED_AT: rfc3339(at(seconds))} == notes
    meta = attrs.evolve(restarted.spec.template.metadata, annotations={})
    template_back = attrs.evolve(restarted.spec.template, metadata=meta)
    assert d == attrs.evolve(restarted, spec=attrs.evolve(d.spec, template=template_back))


def test_restart_time_is_rfc3339_utc() -> None:
    """The annotation reads like kubectl's: seconds precision, Z suffix."""
    assert "2025-01-01T00:01:05Z" == rfc3339(at(65.7))


def test_restart_refuses_paused_deployments_and_other_kinds() -> None:
    """kubectl's messages."""
    with pytest.raises(KubectlError) as info:
        with_restart(deployment(paused=True), at(0))
    expected = 'deployments.apps "web" can\'t restart paused deployment (run rollout resume first)'
    assert expected == str(info.value)
    with pytest.raises(KubectlError, match=r'replicasets\.apps "web-h1" restarting'):
        with_restart(replica_set(1, "a"), at(0))


def test_change_cause_is_an_annotation() -> None:
    """kubernetes.io/change-cause on the object; None leaves it alone."""
    d = deployment()
    assert "why" == with_change_cause(d, "why").metadata.annotations[CHANGE_CAUSE]
    assert d is with_change_cause(d, None)


def test_restart_annotates_a_daemon_set_template() -> None:
    """DaemonSets restart the same way, and have no paused state to refuse."""
    ds = DaemonSet(metadata=ObjectMeta(name="ds"), spec=DaemonSetSpec(template=template()))
    restarted = with_restart(ds, at(1))
    assert "2025-01-01T00:00:01Z" == restarted.spec.template.metadata.annotations[RESTARTED_AT]
