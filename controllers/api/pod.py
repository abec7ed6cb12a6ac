"""
The ``v1`` ``Pod`` kind, its spec, status and template.

JSON names are Kubernetes' own. Server-side defaults (``restartPolicy:
Always``, ``terminationGracePeriodSeconds: 30``, ``dnsPolicy: ClusterFirst``)
are *not* applied here: an unset field stays unset, so a manifest dumps back
exactly as written. Defaulting is a separate step.

Selectable fields, as the API server offers them: ``spec.nodeName``,
``spec.restartPolicy``, ``spec.schedulerName``, ``spec.serviceAccountName``,
``spec.hostNetwork``, ``status.phase``, ``status.podIP``,
``status.nominatedNodeName`` (plus ``metadata.name``/``metadata.namespace``).
"""

from __future__ import annotations

# ``always`` returns an ``attrs.field`` declaration, not a shared mutable default,
# which RUF009 cannot tell apart.
# ruff: noqa: RUF009
import datetime as dt
from collections.abc import Callable

import attrs

from controllers.api.common import ResourceList, always, renamed
from controllers.api.container import Container, ContainerStatus
from controllers.api.scheduling import Affinity, Toleration, TopologySpreadConstraint
from reconcile import JSON, FrozenDict, ObjectMeta, Resource, kind

__all__ = [
    "DEFAULT_TERMINATION_GRACE_PERIOD",
    "HostIP",
    "Pod",
    "PodCondition",
    "PodIP",
    "PodSpec",
    "PodStatus",
    "PodTemplateSpec",
    "deletion_grace_period",
    "set_pod_condition",
]


@attrs.frozen(kw_only=True)
class PodSpec:
    """What a pod runs and where it may run."""

    volumes: tuple[JSON, ...] = ()
    init_containers: tuple[Container, ...] = ()
    containers: tuple[Container, ...] = ()
    ephemeral_containers: tuple[JSON, ...] = ()
    restart_policy: str = ""
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str = ""
    node_selector: FrozenDict[str, str] = attrs.field(factory=FrozenDict)
    service_account_name: str = ""
    service_account: str = ""
    automount_service_account_token: bool | None = None
    node_name: str = ""
    host_network: bool = False
    host_pid: bool = renamed("hostPID", False)
    host_ipc: bool = renamed("hostIPC", False)
    share_process_namespace: bool | None = None
    security_context: JSON = None
    image_pull_secrets: tuple[JSON, ...] = ()
    hostname: str = ""
    subdomain: str = ""
    affinity: Affinity | None = None
    scheduler_name: str = ""
    tolerations: tuple[Toleration, ...] = ()
    host_aliases: tuple[JSON, ...] = ()
    priority_class_name: str = ""
    priority: int | None = None
    dns_config: JSON = None
    readiness_gates: tuple[JSON, ...] = ()
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    preemption_policy: str | None = None
    overhead: ResourceList = attrs.field(factory=FrozenDict)
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    set_hostname_as_fqdn: bool | None = renamed("setHostnameAsFQDN")
    os: JSON = None
    host_users: bool | None = None
    scheduling_gates: tuple[JSON, ...] = ()
    resource_claims: tuple[JSON, ...] = ()
    resources: JSON = None


@attrs.frozen(kw_only=True)
class PodCondition:
    """``PodScheduled``, ``Initialized``, ``ContainersReady`` or ``Ready``, with its times."""

    type: str = always("")
    status: str = always("")
    observed_generation: int = 0
    last_probe_time: dt.datetime | None = always()
    last_transition_time: dt.datetime | None = always()
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class PodIP:
    """One entry of ``status.podIPs``."""

    ip: str = always("")


@attrs.frozen(kw_only=True)
class HostIP:
    """One entry of ``status.hostIPs``."""

    ip: str = always("")


@attrs.frozen(kw_only=True)
class PodStatus:
    """What the scheduler and the kubelet last reported about a pod."""

    observed_generation: int = 0
    phase: str = ""
    conditions: tuple[PodCondition, ...] = ()
    message: str = ""
    reason: str = ""
    nominated_node_name: str = ""
    host_ip: str = renamed("hostIP", "")
    host_ips: tuple[HostIP, ...] = renamed("hostIPs", ())
    pod_ip: str = renamed("podIP", "")
    pod_ips: tuple[PodIP, ...] = renamed("podIPs", ())
    start_time: dt.datetime | None = None
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    qos_class: str = ""
    ephemeral_container_statuses: tuple[ContainerStatus, ...] = ()
    resize: str = ""
    resource_claim_statuses: tuple[JSON, ...] = ()


@attrs.frozen(kw_only=True)
class PodTemplateSpec:
    """The pod a workload (ReplicaSet, Job, DaemonSet...) stamps out."""

    metadata: ObjectMeta = attrs.field(factory=ObjectMeta)
    spec: PodSpec = attrs.field(factory=PodSpec)


_SELECTABLE: dict[str, Callable[[Pod], str]] = {
    "spec.nodeName": lambda p: p.spec.node_name,
    "spec.restartPolicy": lambda p: p.spec.restart_policy,
    "spec.schedulerName": lambda p: p.spec.scheduler_name,
    "spec.serviceAccountName": lambda p: p.spec.service_account_name,
    "spec.hostNetwork": lambda p: str(p.spec.host_network).lower(),
    "status.phase": lambda p: p.status.phase,
    "status.podIP": lambda p: p.status.pod_ip,
    "status.nominatedNodeName": lambda p: p.status.nominated_node_name,
}


DEFAULT_TERMINATION_GRACE_PERIOD = 30
"""Seconds a pod gets to stop when its spec does not say (``terminationGracePeriodSeconds``)."""


def deletion_grace_period(pod: Pod) -> int:
    """
    The grace period a delete without one gives ``pod`` (Kubernetes' pod strategy).

    Pods no kubelet runs (unscheduled) or that have finished are deleted at
    once; others get their ``terminationGracePeriodSeconds``.
    """
    if not pod.spec.node_name or pod.status.phase in ("Succeeded", "Failed"):
        return 0
    grace = pod.spec.termination_grace_period_seconds
    return DEFAULT_TERMINATION_GRACE_PERIOD if grace is None else grace


def set_pod_condition(
    status: PodStatus,
    type_: str,
    value: str,
    *,
    now: dt.datetime,
    reason: str = "",
    message: str = "",
) -> PodStatus | None:
    """
    ``status`` with condition ``type_`` set, or ``None`` when it already says so.

    The transition time is kept while the condition's status holds and set
    to ``now`` when it changes, as Kubernetes does.
    """
    conditions = status.conditions
    old = next((c for c in conditions if c.type == type_), None)
    if old is not None and (old.status, old.reason, old.message) == (value, reason, message):
        return None
    changed = old is None or old.status != value
    new = PodCondition(
        type=type_,
        status=value,
        last_transition_time=now if changed or old is None else old.last_transition_time,
        reason=reason,
        message=message,
    )
    if old is None:
        updated = (*conditions, new)
    else:
        updated = tuple(new if c is old else c for c in conditions)
    return attrs.evolve(status, conditions=updated)


def _status_on_update(new: Pod, current: Pod, now: dt.datetime) -> PodStatus:
    """
    The status an update of a pod stores: the current one, except on binding.

    An update that gives an unbound pod its ``spec.nodeName`` is this API's
    binding: like Kubernetes' ``pods/binding`` subresource, it also sets the
    ``PodScheduled`` condition to ``True``, in the same write.
    """
    if current.spec.node_name or not new.spec.node_name:
        return current.status
    return set_pod_condition(current.status, "PodScheduled", "True", now=now) or current.status


@kind(
    version="v1",
    kind="Pod",
    field_selectors=_SELECTABLE,
    grace_period=deletion_grace_period,
    initial_status=lambda _pod: PodStatus(phase="Pending"),
    status_on_update=_status_on_update,
)
@attrs.frozen(kw_only=True)
class Pod(Resource):
    """A ``v1`` Pod: containers scheduled together onto one node."""

    spec: PodSpec = attrs.field(factory=PodSpec)
    status: PodStatus = attrs.field(factory=PodStatus)
