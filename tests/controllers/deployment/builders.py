"""Small builders for Deployments and ReplicaSets in Deployment controller tests."""

from __future__ import annotations

import datetime as dt

import attrs

from controllers.api.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    DeploymentStrategy,
    DeploymentStrategyType,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
    RollingUpdateDeployment,
)
from controllers.api.common import IntOrString
from controllers.api.core import Container, PodSpec, PodTemplateSpec
from controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
)
from reconcile import FrozenDict, LabelSelector, ObjectMeta, Uid, owner_reference_to

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The fixed origin of unit tests."""

LABELS = {"app": "web"}


def at(seconds: float) -> dt.datetime:
    """``T0`` plus ``seconds``."""
    return T0 + dt.timedelta(seconds=seconds)


def template(image: str = "nginx:1") -> PodTemplateSpec:
    """A pod template labelled ``app=web`` running ``image``."""
    return PodTemplateSpec(
        metadata=ObjectMeta(labels=LABELS),
        spec=PodSpec(containers=(Container(name="web", image=image),)),
    )


def deployment(
    replicas: int = 4,
    *,
    image: str = "nginx:1",
    surge: IntOrString | None = "25%",
    unavailable: IntOrString | None = "25%",
    recreate: bool = False,
    paused: bool = False,
    history: int | None = 10,
    deadline: int | None = 600,
    generation: int = 1,
    status: DeploymentStatus | None = None,
    name: str = "web",
) -> Deployment:
    """A created Deployment ``web`` selecting ``app=web``."""
    strategy = (
        DeploymentStrategy(type=DeploymentStrategyType.RECREATE)
        if recreate
        else DeploymentStrategy(
            type=DeploymentStrategyType.ROLLING_UPDATE,
            rolling_update=RollingUpdateDeployment(max_surge=surge, max_unavailable=unavailable),
        )
    )
    return Deployment(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            uid=Uid(f"uid-{name}"),
            generation=generation,
            creation_timestamp=T0,
        ),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=LABELS),
            template=template(image),
            strategy=strategy,
            revision_history_limit=history,
            paused=paused,
            progress_deadline_seconds=deadline,
        ),
        status=status or DeploymentStatus(),
    )


def replica_set(
    owner: Deployment,
    *,
    image: str = "nginx:1",
    replicas: int = 0,
    available: int | None = None,
    actual: int | None = None,
    revision: int | None = 1,
    created: float = 0,
    max_replicas: int | None = None,
    desired: int | None = None,
    hash_: str | None = None,
) -> ReplicaSet:
    """
    A ReplicaSet of ``owner`` with ``replicas`` in spec.

    ``actual`` (status.replicas) and ``available`` default to ``replicas``;
    the replicas annotations default to the owner's current sizes.
    """
    hash_ = hash_ or image.replace(":", "").replace(".", "")
    labels = {**LABELS, POD_TEMPLATE_HASH: hash_}
    tpl = template(image)
    tpl = attrs.evolve(tpl, metadata=attrs.evolve(tpl.metadata, labels=labels))
    annotations: dict[str, str] = {}
    if revision is not None:
        annotations[REVISION] = str(revision)
    owner_replicas = owner.spec.replicas or 0
    annotations[DESIRED_REPLICAS] = str(owner_replicas if desired is None else desired)
    if max_replicas is not None:
        annotations[MAX_REPLICAS] = str(max_replicas)
    actual = replicas if actual is None else actual
    name = f"{owner.metadata.name}-{hash_}"
    return ReplicaSet(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            uid=Uid(f"uid-{name}"),
            labels=labels,
            annotations=FrozenDict(annotations),
            owner_references=(owner_reference_to(owner),),
            creation_timestamp=at(created),
            generation=1,
        ),
        spec=ReplicaSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=labels),
            template=tpl,
        ),
        status=ReplicaSetStatus(
            replicas=actual,
            ready_replicas=actual if available is None else available,
            available_replicas=actual if available is None else available,
            observed_generation=1,
        ),
    )
