"""
The object edits behind kubectl's workload verbs, as pure functions.

Each takes an object as read from the API and returns the object to write
(equal to the input when there is nothing to change), or raises
:class:`~controllers.kubectl.errors.KubectlError` with kubectl's message
when kubectl would refuse. :mod:`controllers.kubectl.operations` runs them
in a read-edit-write loop.

Kinds with a pod template are the ones ``kubectl set image`` knows here:
Pod (its own spec), Deployment, ReplicaSet, DaemonSet, Job and CronJob (its
job template's pod template). Whether the API server accepts the change
(a Job's template is immutable) is the server's business.

Differences from kubectl: :func:`with_images` refuses the whole edit when
a container is unknown, where kubectl reports the error and still writes
the containers it found; and ``restartedAt`` is written in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar, cast

import attrs

from controllers.api.apps import DaemonSet, Deployment, ReplicaSet
from controllers.api.batch import CronJob, Job
from controllers.api.container import Container
from controllers.api.core import Pod
from controllers.api.pod import PodSpec, PodTemplateSpec
from controllers.kubectl.annotations import CHANGE_CAUSE, RESTARTED_AT
from controllers.kubectl.errors import KubectlError
from reconcile import FrozenDict, Resource, kind_of

__all__ = [
    "pod_spec_of",
    "rfc3339",
    "with_change_cause",
    "with_images",
    "with_paused",
    "with_replicas",
    "with_restart",
]

W = TypeVar("W", bound=Resource)

WILDCARD = "*"


def _named(obj: Resource) -> str:
    """How kubectl names an object in errors: ``deployments.apps "web"``."""
    return f'{kind_of(type(obj)).resource} "{obj.metadata.name}"'


def pod_spec_of(obj: Resource) -> PodSpec:
    """
    The pod spec ``obj`` runs or stamps out.

    Raises:
        KubectlError: ``obj``'s kind has no pod template.
    """
    match obj:
        case Pod():
            return obj.spec
        case Deployment() | ReplicaSet() | DaemonSet() | Job():
            return obj.spec.template.spec
        case CronJob():
            return obj.spec.job_template.spec.template.spec
    raise KubectlError(f"{_named(obj)} has no pod template")


def _with_template(obj: W, edit: PodTemplateSpec) -> W:
    new: Resource = obj
    match new:
        case Deployment() | ReplicaSet() | DaemonSet() | Job():
            new = _with_spec(new, attrs.evolve(new.spec, template=edit))
        case CronJob():
            job = attrs.evolve(new.spec.job_template.spec, template=edit)
            job_template = attrs.evolve(new.spec.job_template, spec=job)
            new = attrs.evolve(new, spec=attrs.evolve(new.spec, job_template=job_template))
        case _:
            raise KubectlError(f"{_named(obj)} has no pod template")
    return cast("W", new)


def _with_spec(obj: Resource, spec: object) -> Resource:
    # Every kind with a pod template has a ``spec``; Resource itself does not declare one.
    changes: dict[str, Any] = {"spec": spec}
    return attrs.evolve(obj, **changes)


def _template_of(obj: Resource) -> PodTemplateSpec:
    match obj:
        case Deployment() | ReplicaSet() | DaemonSet() | Job():
            return obj.spec.template
        case CronJob():
            return obj.spec.job_template.spec.template
    raise KubectlError(f"{_named(obj)} has no pod template")


def _with_pod_spec(obj: W, spec: PodSpec) -> W:
    if isinstance(obj, Pod):
        return cast("W", attrs.evolve(obj, spec=spec))
    return _with_template(obj, attrs.evolve(_template_of(obj), spec=spec))


def with_images(obj: W, images: Mapping[str, str]) -> W:
    """
    ``obj`` with container images replaced, like ``kubectl set image``.

    Args:
        obj: A Pod or a kind with a pod template.
        images: Image by container name; init containers count. The name
            ``*`` (alone) sets every container's image.

    Raises:
        KubectlError: ``images`` is empty, mixes ``*`` with names, or names
            a container ``obj`` does not have (``unable to find container
            named "x"``); ``obj`` has no pod template.
    """
    if not images:
        raise KubectlError("at least one image update is required")
    if WILDCARD in images and len(images) > 1:
        raise KubectlError(
            "all containers are already specified by *, "
            "but saw more than one container_name=container_image pairs"
        )
    spec = pod_spec_of(obj)
    names = {c.name for c in (*spec.init_containers, *spec.containers)}
    for name in images:
        if name != WILDCARD and name not in names:
            raise KubectlError(f'unable to find container named "{name}"')

    def update(containers: tuple[Container, ...]) -> tuple[Container, ...]:
        wildcard = images.get(WILDCARD)
        return tuple(
            attrs.evolve(c, image=wildcard if wildcard is not None else images[c.name])
            if wildcard is not None or c.name in images
            else c
            for c in containers
        )

    edited = attrs.evolve(
        spec, init_containers=update(spec.init_containers), containers=update(spec.containers)
    )
    return obj if edited == spec else _with_pod_spec(obj, edited)


def with_replicas(obj: W, replicas: int, *, current: int | None = None) -> W:
    """
    ``obj`` with ``spec.replicas`` set, like ``kubectl scale``.

    Args:
        obj: A Deployment or a ReplicaSet.
        replicas: The new count (``>= 0``).
        current: ``--current-replicas``: refuse unless this is the count now.

    Raises:
        ValueError: ``replicas`` is negative.
        KubectlError: ``obj`` cannot be scaled, or ``current`` does not match
            (``Expected replicas to be 3, was 2``).
    """
    if replicas < 0:
        raise ValueError(f"replicas: must be >= 0, got {replicas}")
    if not isinstance(obj, Deployment | ReplicaSet):
        raise KubectlError(f"{_named(obj)} cannot be scaled: it has no scale subresource")
    now = obj.spec.replicas
    if current is not None and now != current:
        raise KubectlError(f"Expected replicas to be {current}, was {now}")
    if now == replicas:
        return obj
    return cast("W", _with_spec(obj, attrs.evolve(obj.spec, replicas=replicas)))


def with_paused(deployment: Deployment, paused: bool) -> Deployment:
    """
    ``deployment`` paused (``rollout pause``) or resumed (``rollout resume``).

    Raises:
        KubectlError: it is ``already paused`` or ``not paused``.
    """
    if deployment.spec.paused == paused:
        state = "is already paused" if paused else "is not paused"
        raise KubectlError(f"{_named(deployment)} {state}")
    return attrs.evolve(deployment, spec=attrs.evolve(deployment.spec, paused=paused))


def rfc3339(now: dt.datetime) -> str:
    """``now`` as RFC 3339 at second precision in UTC (``2026-01-02T03:04:05Z``)."""
    if now.tzinfo is None:
        raise ValueError("now: must be an aware datetime")
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_restart(obj: W, now: dt.datetime) -> W:
    """
    ``obj`` with its pod template annotated ``kubectl.kubernetes.io/restartedAt: now``.

    The template changes, so the controller replaces every pod
    (``rollout restart``); nothing else changes.

    Raises:
        KubectlError: ``obj`` is not a Deployment or DaemonSet, or is a paused Deployment.
    """
    if not isinstance(obj, Deployment | DaemonSet):
        raise KubectlError(f"{_named(obj)} restarting is not supported")
    if isinstance(obj, Deployment) and obj.spec.paused:
        raise KubectlError(
            f"{_named(obj)} can't restart paused deployment (run rollout resume first)"
        )
    template = obj.spec.template
    annotations = FrozenDict[str, str](
        {**template.metadata.annotations, RESTARTED_AT: rfc3339(now)}
    )
    meta = attrs.evolve(template.metadata, annotations=annotations)
    return _with_template(obj, attrs.evolve(template, metadata=meta))


def with_change_cause(obj: W, cause: str | None) -> W:
    """``obj`` annotated ``kubernetes.io/change-cause: cause`` (unchanged when ``None``)."""
    if cause is None:
        return obj
    annotations = FrozenDict[str, str]({**obj.metadata.annotations, CHANGE_CAUSE: cause})
    return obj.with_meta(annotations=annotations)
