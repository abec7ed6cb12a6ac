"""Small builders for Deployments and their ReplicaSets in kubectl tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from controllers.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentSpec,
    DeploymentStatus,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
)
from controllers.api.container import Container
from controllers.api.pod import PodSpec, PodTemplateSpec
from controllers.kubectl.annotations import CHANGE_CAUSE, POD_TEMPLATE_HASH, REVISION
from reconcile import ConditionStatus, LabelSelector, ObjectMeta, OwnerReference, Uid

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The virtual clock's default start, the fixed origin of unit tests."""

LABELS = {"app": "web"}
UID = Uid("web-uid")


def at(seconds: float) -> dt.datetime:
    """``T0`` plus ``seconds``."""
    return T0 + dt.timedelta(seconds=seconds)


def template(image: str = "nginx:1.25", *, name: str = "web") -> PodTemplateSpec:
    """A one-container pod template labelled ``app=web``."""
    return PodTemplateSpec(
        metadata=ObjectMeta(labels=LABELS),
        spec=PodSpec(containers=(Container(name=name, image=image),)),
    )


def deployment(
    name: str = "web",
    *,
    replicas: int | None = 3,
    image: str = "nginx:1.25",
    generation: int = 1,
    observed: int = 1,
    updated: int = 3,
    current: int = 3,
    available: int = 3,
    ready: int | None = None,
    progressing: str | None = None,
    revision: int | None = None,
    annotations: Mapping[str, str] | None = None,
    paused: bool = False,
) -> Deployment:
    """A Deployment with the status counts given (complete by default)."""
    notes = dict(annotations or {})
    if revision is not None:
        notes[REVISION] = str(revision)
    conditions: tuple[DeploymentCondition, ...] = ()
    if progressing is not None:
        conditions = (
            DeploymentCondition(
                type="Progressing", status=ConditionStatus.FALSE, reason=progressing
            ),
        )
    return Deployment(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            uid=UID,
            generation=generation,
            creation_timestamp=T0,
            annotations=notes,
        ),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=LABELS),
            template=template(image),
            paused=paused,
        ),
        status=DeploymentStatus(
            observed_generation=observed,
            replicas=current,
            updated_replicas=updated,
            ready_replicas=available if ready is None else ready,
            available_replicas=available,
            conditions=conditions,
        ),
    )


def owner(uid: Uid = UID, *, controller: bool = True) -> OwnerReference:
    """A reference to the ``web`` Deployment."""
    return OwnerReference(
        api_version="apps/v1", kind="Deployment", name="web", uid=uid, controller=controller
    )


def replica_set(
    revision: int | str | None,
    image: str,
    *,
    name: str | None = None,
    cause: str | None = None,
    created: float = 0.0,
    replicas: int = 0,
    owner_uid: Uid = UID,
    annotations: Mapping[str, str] | None = None,
) -> ReplicaSet:
    """A ReplicaSet of the ``web`` Deployment holding ``revision`` with ``image``."""
    hashed = f"h{revision}"
    notes = dict(annotations or {})
    if revision is not None:
        notes[REVISION] = str(revision)
    if cause is not None:
        notes[CHANGE_CAUSE] = cause
    labels = {**LABELS, POD_TEMPLATE_HASH: hashed}
    pod_template = template(image)
    pod_template = attrs.evolve(
        pod_template, metadata=attrs.evolve(pod_template.metadata, labels=labels)
    )
    return ReplicaSet(
        metadata=ObjectMeta(
            name=name or f"web-{hashed}",
            namespace="default",
            uid=Uid(f"rs-{hashed}"),
            creation_timestamp=at(created),
            labels=labels,
            annotations=notes,
            owner_references=(owner(owner_uid),),
        ),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=labels),
            template=pod_template,
        ),
        status=ReplicaSetStatus(replicas=replicas),
    )
