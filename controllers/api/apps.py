"""
The ``apps/v1`` kinds: ReplicaSet, Deployment, DaemonSet and ControllerRevision.

Field for field as ``k8s.io/api/apps/v1``, with snake_case attributes that
:func:`reconcile.to_json` writes as Kubernetes' camelCase keys. The Go types
map mechanically (see :mod:`controllers.api.common`): a pointer such as
``spec.replicas``, ``revisionHistoryLimit`` or ``progressDeadlineSeconds`` is
``X | None = None``, so a manifest that leaves it out loads and dumps without
it, and defaulting (later) can tell "unset" from ``0``. Enumerated strings are
enums carrying their JSON value (``DeploymentStrategyType.RECREATE.value ==
"Recreate"``), as :class:`reconcile.ConditionStatus` does.

Conditions get one class per kind, because Kubernetes gives each workload its
own condition shape (a Deployment's has ``lastUpdateTime``); none of them is
the ``metav1.Condition`` that :class:`reconcile.Condition` models.

Fields Go always writes are written here too, so statuses as the Kubernetes
controllers write them round-trip: ``ReplicaSetStatus.replicas``, the four
scheduling counts of ``DaemonSetStatus`` and ``ControllerRevision.revision``
even when ``0``, and conditions' ``metav1.Time`` values as ``null`` when unset.
"""

# The field helpers of ``_fields`` return ``attrs.field`` declarations, not shared
# mutable defaults, which RUF009 cannot tell apart.
# ruff: noqa: RUF009

from __future__ import annotations

import datetime as dt
import enum

import attrs

from controllers.api.common import (
    IntOrString,
    count,
    items,
    nested,
    optional,
    optional_count,
    optional_int_or_string,
    optional_time,
    required,
)
from controllers.api.core import PodTemplateSpec
from reconcile import (
    JSON,
    ConditionStatus,
    FrozenDict,  # noqa: F401  (``JSON`` names it; the converter resolves it here)
    LabelSelector,
    Resource,
    kind,
)

__all__ = [
    "ControllerRevision",
    "DaemonSet",
    "DaemonSetCondition",
    "DaemonSetSpec",
    "DaemonSetStatus",
    "DaemonSetUpdateStrategy",
    "DaemonSetUpdateStrategyType",
    "Deployment",
    "DeploymentCondition",
    "DeploymentSpec",
    "DeploymentStatus",
    "DeploymentStrategy",
    "DeploymentStrategyType",
    "ReplicaSet",
    "ReplicaSetCondition",
    "ReplicaSetSpec",
    "ReplicaSetStatus",
    "RollingUpdateDaemonSet",
    "RollingUpdateDeployment",
]

GROUP = "apps"
VERSION = "v1"


# -- ReplicaSet -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReplicaSetCondition:
    """One ``ReplicaSetCondition`` (``ReplicaFailure`` is the only type Kubernetes sets)."""

    type: str = required(str)
    status: ConditionStatus = required(ConditionStatus)
    last_transition_time: dt.datetime | None = optional_time(always=True)
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class ReplicaSetSpec:
    """
    Desired state of a ReplicaSet.

    Attributes:
        replicas: Desired pod count; ``None`` when unset (defaulted to 1).
        min_ready_seconds: How long a pod must be ready to count as available.
        selector: Which pods the set owns; ``None`` when absent.
        template: The pod to create.
    """

    replicas: int | None = optional_count()
    min_ready_seconds: int = count()
    selector: LabelSelector | None = optional(LabelSelector)
    template: PodTemplateSpec = nested(PodTemplateSpec)


@attrs.frozen(kw_only=True)
class ReplicaSetStatus:
    """Observed state of a ReplicaSet, as the ReplicaSet controller writes it."""

    replicas: int = count(always=True)
    fully_labeled_replicas: int = count()
    ready_replicas: int = count()
    available_replicas: int = count()
    terminating_replicas: int | None = optional_count()
    observed_generation: int = count()
    conditions: tuple[ReplicaSetCondition, ...] = items(ReplicaSetCondition)


@kind(group=GROUP, version=VERSION, kind="ReplicaSet")
@attrs.frozen(kw_only=True)
class ReplicaSet(Resource):
    """An ``apps/v1`` ReplicaSet: keeps ``spec.replicas`` pods matching its selector."""

    spec: ReplicaSetSpec = nested(ReplicaSetSpec)
    status: ReplicaSetStatus = nested(ReplicaSetStatus)


# -- Deployment -------------------------------------------------------------------------


class DeploymentStrategyType(enum.Enum):
    """How a Deployment replaces old pods, with its JSON value."""

    RECREATE = "Recreate"
    ROLLING_UPDATE = "RollingUpdate"


@attrs.frozen(kw_only=True)
class RollingUpdateDeployment:
    """
    Bounds of a rolling update: each is a pod count (``1``) or a percentage (``"25%"``).

    Attributes:
        max_unavailable: Pods that may be unavailable during the update.
        max_surge: Pods that may exist above the desired count.
    """

    max_unavailable: IntOrString | None = optional_int_or_string()
    max_surge: IntOrString | None = optional_int_or_string()


@attrs.frozen(kw_only=True)
class DeploymentStrategy:
    """``spec.strategy``: its ``type`` and, for rolling updates, the bounds."""

    type: DeploymentStrategyType | None = optional(DeploymentStrategyType)
    rolling_update: RollingUpdateDeployment | None = optional(RollingUpdateDeployment)


@attrs.frozen(kw_only=True)
class DeploymentCondition:
    """
    One ``DeploymentCondition`` (types ``Available``, ``Progressing``, ``ReplicaFailure``).

    ``last_update_time`` moves on every update of the condition, while
    ``last_transition_time`` moves only when ``status`` changes; the progress
    deadline is measured from the former.
    """

    type: str = required(str)
    status: ConditionStatus = required(ConditionStatus)
    last_update_time: dt.datetime | None = optional_time(always=True)
    last_transition_time: dt.datetime | None = optional_time(always=True)
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class DeploymentSpec:
    """
    Desired state of a Deployment.

    Attributes:
        replicas: Desired pod count; ``None`` when unset (defaulted to 1).
        selector: Which pods and ReplicaSets the Deployment owns.
        template: The pod every new ReplicaSet gets.
        strategy: How to replace old pods with new ones.
        min_ready_seconds: How long a pod must be ready to count as available.
        revision_history_limit: Old ReplicaSets to keep; ``None`` when unset (defaulted to 10).
        paused: Whether rollouts are on hold.
        progress_deadline_seconds: When a stalled rollout is reported as failed;
            ``None`` when unset (defaulted to 600).
    """

    replicas: int | None = optional_count()
    selector: LabelSelector | None = optional(LabelSelector)
    template: PodTemplateSpec = nested(PodTemplateSpec)
    strategy: DeploymentStrategy = nested(DeploymentStrategy)
    min_ready_seconds: int = count()
    revision_history_limit: int | None = optional_count()
    paused: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    progress_deadline_seconds: int | None = optional_count()


@attrs.frozen(kw_only=True)
class DeploymentStatus:
    """Observed state of a Deployment, as the Deployment controller writes it."""

    observed_generation: int = count()
    replicas: int = count()
    updated_replicas: int = count()
    ready_replicas: int = count()
    available_replicas: int = count()
    unavailable_replicas: int = count()
    terminating_replicas: int | None = optional_count()
    conditions: tuple[DeploymentCondition, ...] = items(DeploymentCondition)
    collision_count: int | None = optional_count()


@kind(group=GROUP, version=VERSION, kind="Deployment")
@attrs.frozen(kw_only=True)
class Deployment(Resource):
    """An ``apps/v1`` Deployment: declarative rollouts through ReplicaSets."""

    spec: DeploymentSpec = nested(DeploymentSpec)
    status: DeploymentStatus = nested(DeploymentStatus)


# -- DaemonSet --------------------------------------------------------------------------


class DaemonSetUpdateStrategyType(enum.Enum):
    """How a DaemonSet replaces old pods, with its JSON value."""

    ON_DELETE = "OnDelete"
    ROLLING_UPDATE = "RollingUpdate"


@attrs.frozen(kw_only=True)
class RollingUpdateDaemonSet:
    """Bounds of a DaemonSet rolling update, as counts of nodes or percentages."""

    max_unavailable: IntOrString | None = optional_int_or_string()
    max_surge: IntOrString | None = optional_int_or_string()


@attrs.frozen(kw_only=True)
class DaemonSetUpdateStrategy:
    """``spec.updateStrategy``: its ``type`` and, for rolling updates, the bounds."""

    type: DaemonSetUpdateStrategyType | None = optional(DaemonSetUpdateStrategyType)
    rolling_update: RollingUpdateDaemonSet | None = optional(RollingUpdateDaemonSet)


@attrs.frozen(kw_only=True)
class DaemonSetCondition:
    """One ``DaemonSetCondition``."""

    type: str = required(str)
    status: ConditionStatus = required(ConditionStatus)
    last_transition_time: dt.datetime | None = optional_time(always=True)
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class DaemonSetSpec:
    """
    Desired state of a DaemonSet.

    Attributes:
        selector: Which pods the DaemonSet owns.
        template: The pod to run on every eligible node.
        update_strategy: How to replace old pods when the template changes.
        min_ready_seconds: How long a pod must be ready to count as available.
        revision_history_limit: Old ControllerRevisions to keep; ``None`` when
            unset (defaulted to 10).
    """

    selector: LabelSelector | None = optional(LabelSelector)
    template: PodTemplateSpec = nested(PodTemplateSpec)
    update_strategy: DaemonSetUpdateStrategy = nested(DaemonSetUpdateStrategy)
    min_ready_seconds: int = count()
    revision_history_limit: int | None = optional_count()


@attrs.frozen(kw_only=True)
class DaemonSetStatus:
    """
    Observed state of a DaemonSet, counted in nodes.

    Attributes:
        current_number_scheduled: Nodes running at least one daemon pod that should.
        number_misscheduled: Nodes running a daemon pod that should not.
        desired_number_scheduled: Nodes that should run the daemon pod.
        number_ready: Nodes whose daemon pod is ready.
        observed_generation: The generation this status describes.
        updated_number_scheduled: Nodes running the updated daemon pod.
        number_available: Nodes whose daemon pod is available.
        number_unavailable: Nodes that should run an available pod and do not.
        collision_count: Bumped to make a new ControllerRevision name on a hash collision.
        conditions: The latest observations.
    """

    current_number_scheduled: int = count(always=True)
    number_misscheduled: int = count(always=True)
    desired_number_scheduled: int = count(always=True)
    number_ready: int = count(always=True)
    observed_generation: int = count()
    updated_number_scheduled: int = count()
    number_available: int = count()
    number_unavailable: int = count()
    collision_count: int | None = optional_count()
    conditions: tuple[DaemonSetCondition, ...] = items(DaemonSetCondition)


@kind(group=GROUP, version=VERSION, kind="DaemonSet")
@attrs.frozen(kw_only=True)
class DaemonSet(Resource):
    """An ``apps/v1`` DaemonSet: one pod on every eligible node."""

    spec: DaemonSetSpec = nested(DaemonSetSpec)
    status: DaemonSetStatus = nested(DaemonSetStatus)


# -- ControllerRevision -----------------------------------------------------------------


@kind(group=GROUP, version=VERSION, kind="ControllerRevision")
@attrs.frozen(kw_only=True)
class ControllerRevision(Resource):
    """
    An immutable snapshot of a controller's state (a DaemonSet's template, say).

    Attributes:
        data: The snapshot, as frozen JSON (``FrozenDict``/tuples).
        revision: Its revision number, counting up from 1.
    """

    data: JSON = None
    revision: int = count(always=True)
