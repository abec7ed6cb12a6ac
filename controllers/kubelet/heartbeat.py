"""
The kubelets' node worker: registration, node status, lease heartbeats, mirror pods.

For each node whose agent reports (see :class:`~controllers.kubelet.agent.NodeAgent`):

* **registration**: the Node object is created from the agent's
  :class:`~controllers.kubelet.agent.NodeConfig` when it does not exist
  (again after a user deleted it, as a real kubelet does);
* **status**: capacity, allocatable, addresses, system info and the
  conditions ``Ready`` (``KubeletReady``) and the three pressure conditions,
  written when they differ from what the API shows, and otherwise every
  :data:`STATUS_REPORT_INTERVAL` seconds to refresh ``lastHeartbeatTime``;
* **heartbeat**: the Lease ``kube-node-lease/<node>`` is created (or read)
  here and handed to the :class:`~controllers.kubelet.lease.LeaseRenewer`,
  which renews it every :data:`RENEW_INTERVAL` seconds (at once when overdue);
* **static pods**: each manifest in the agent's set appears as a *mirror pod*
  ``<name>-<node>`` (annotation ``kubernetes.io/config.mirror``, owned by the
  Node); one whose manifest was removed is deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json

import attrs

from controllers.api import dump
from controllers.api.core import (
    MIRROR_ANNOTATION,
    NODE_LEASE_NAMESPACE,
    DaemonEndpoint,
    Node,
    NodeAddress,
    NodeCondition,
    NodeDaemonEndpoints,
    NodeSpec,
    NodeStatus,
    NodeSystemInfo,
)
from controllers.api.pod import Pod
from controllers.kubelet.agent import Fleet, NodeAgent
from controllers.kubelet.lease import LEASE_DURATION, RENEW_INTERVAL, LeaseRenewer
from reconcile import (
    AlreadyExistsError,
    Client,
    Clock,
    FrozenDict,
    Lease,
    LeaseSpec,
    NotFoundError,
    ObjectKey,
    ObjectMeta,
    Request,
    Result,
    Store,
    owner_reference_to,
)

__all__ = [
    "LEASE_DURATION",
    "MIRROR_ANNOTATION",
    "NODE_LEASE_NAMESPACE",
    "RENEW_INTERVAL",
    "STATUS_REPORT_INTERVAL",
    "Heartbeat",
    "mirror_pod",
    "node_status",
]

STATUS_REPORT_INTERVAL = 300.0
"""Seconds between node status writes when nothing changed (``nodeStatusReportFrequency``)."""

_CONDITIONS = (
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def _registration(agent: NodeAgent) -> Node:
    config = agent.config
    labels = {
        "kubernetes.io/hostname": config.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        **config.labels,
    }
    return Node(
        metadata=ObjectMeta(name=config.name, labels=FrozenDict(labels)),
        spec=NodeSpec(
            pod_cidr=agent.pod_cidr,
            pod_cidrs=(agent.pod_cidr,),
            taints=config.taints,
            unschedulable=config.unschedulable,
        ),
    )


def node_status(agent: NodeAgent, current: NodeStatus, now: dt.datetime) -> NodeStatus:
    """
    The status the agent reports at ``now``, keeping the API's heartbeat times when unchanged.

    A condition's transition time moves only when its status changes; its
    heartbeat time is ``now`` only when something changed, and otherwise the
    caller decides (see :data:`STATUS_REPORT_INTERVAL`).
    """
    old = {c.type: c for c in current.conditions}
    conditions = []
    for type_, status, reason, message in _CONDITIONS:
        previous = old.get(type_)
        same = previous is not None and previous.status == status
        conditions.append(
            NodeCondition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                last_heartbeat_time=previous.last_heartbeat_time if same and previous else now,
                last_transition_time=previous.last_transition_time if same and previous else now,
            )
        )
    capacity = agent.config.capacity
    return attrs.evolve(
        current,
        capacity=capacity,
        allocatable=capacity,
        conditions=tuple(conditions),
        addresses=(
            NodeAddress(type="InternalIP", address=agent.address),
            NodeAddress(type="Hostname", address=agent.name),
        ),
        daemon_endpoints=NodeDaemonEndpoints(kubelet_endpoint=DaemonEndpoint(port=10250)),
        node_info=NodeSystemInfo(
            machine_id=f"sim-{agent.index}",
            system_uuid=f"sim-{agent.index}",
            boot_id=f"sim-{agent.index}",
            kernel_version="6.1.0-sim",
            os_image="reconcile simulated node",
            container_runtime_version="sim://1.0",
            kubelet_version="v1.32.0-sim",
            kube_proxy_version="v1.32.0-sim",
            operating_system="linux",
            architecture="amd64",
        ),
    )


def _refreshed(status: NodeStatus, now: dt.datetime) -> NodeStatus:
    conditions = tuple(attrs.evolve(c, last_heartbeat_time=now) for c in status.conditions)
    return attrs.evolve(status, conditions=conditions)


def _heartbeat_age(status: NodeStatus, now: dt.datetime) -> float:
    beats = [c.last_heartbeat_time for c in status.conditions if c.last_heartbeat_time]
    return (now - max(beats)).total_seconds() if beats else float("inf")


def mirror_pod(manifest: Pod, node: Node) -> Pod:
    """The mirror pod of static pod ``manifest`` on ``node`` (bound to it, owned by it)."""
    text = json.dumps(dump(manifest), sort_keys=True).encode()
    digest = hashlib.sha256(text).hexdigest()[:32]
    meta = manifest.metadata
    annotations = {
        **meta.annotations,
        MIRROR_ANNOTATION: digest,
        "kubernetes.io/config.source": "file",
    }
    return attrs.evolve(
        manifest,
        metadata=ObjectMeta(
            name=f"{meta.name}-{node.metadata.name}",
            namespace=meta.namespace or "default",
            labels=meta.labels,
            annotations=FrozenDict(annotations),
            owner_references=(owner_reference_to(node, controller=True),),
        ),
        spec=attrs.evolve(manifest.spec, node_name=node.metadata.name),
    )


class Heartbeat:
    """The :class:`~reconcile.Reconciler` of Nodes for every simulated node (see the module)."""

    def __init__(
        self,
        client: Client,
        *,
        nodes: Store[Node],
        pods: Store[Pod],
        fleet: Fleet,
        clock: Clock,
        renewer: LeaseRenewer,
    ) -> None:
        self._client = client
        self._renewer = renewer
        self._nodes = nodes
        self._pods = pods
        self._fleet = fleet
        self._clock = clock

    async def reconcile(self, request: Request) -> Result:
        agent = self._fleet.get(request.name)
        if agent is None or not agent.reporting:
            return Result.done()
        now = self._clock.now()
        node = self._nodes.get(request)
        if node is None:
            try:
                node = await self._client.create(_registration(agent))
            except AlreadyExistsError:
                return Result.after(0.1)  # the cache is behind: look again shortly
        due = _heartbeat_age(node.status, now) >= STATUS_REPORT_INTERVAL
        # While the API shows the status this kubelet last wrote or confirmed,
        # there is nothing to compare until the next report is due.
        if due or node.status is not agent.reported:
            status = node_status(agent, node.status, now)
            if due and status == node.status:
                status = _refreshed(status, now)
            if status != node.status:
                node = await self._client.update_status(attrs.evolve(node, status=status))
            agent.reported = node.status
        retry = await self._renew(agent, node, now)
        await self._sync_mirrors(agent, node)
        report_in = STATUS_REPORT_INTERVAL - _heartbeat_age(node.status, now)
        return Result.after(report_in if retry is None else min(retry, report_in))

    async def _renew(self, agent: NodeAgent, node: Node, now: dt.datetime) -> float | None:
        """
        Make sure the node's Lease exists and is in the renewer's hands.

        ``None`` when it is; otherwise the seconds after which to look again
        (someone created the Lease meanwhile).
        """
        if agent.lease is not None and self._renewer.scheduled(agent.name) is not None:
            return None  # the renewer keeps it fresh
        lease = agent.lease
        if lease is None:
            # Like the kubelet's lease controller, read the Lease once and then
            # renew the copy it last wrote: no watch of every node's Lease.
            try:
                lease = await self._client.get(Lease, ObjectKey(NODE_LEASE_NAMESPACE, agent.name))
            except NotFoundError:
                return await self._create_lease(agent, node, now)
            agent.lease = lease
        last = lease.spec.renew_time
        due = 0.0 if last is None else RENEW_INTERVAL - (now - last).total_seconds()
        # Overdue (the kubelet was stopped or cut off): the renewer renews it at once.
        self._renewer.schedule(agent.name, self._clock.time() + max(due, 0.0))
        return None

    async def _create_lease(self, agent: NodeAgent, node: Node, now: dt.datetime) -> float | None:
        spec = LeaseSpec(
            holder_identity=agent.name,
            lease_duration_seconds=LEASE_DURATION,
            renew_time=now,
        )
        meta = ObjectMeta(
            name=agent.name,
            namespace=NODE_LEASE_NAMESPACE,
            owner_references=(owner_reference_to(node),),
        )
        try:
            agent.lease = await self._client.create(Lease(metadata=meta, spec=spec))
        except AlreadyExistsError:
            return 0.1  # created meanwhile: read it at the next look
        self._renewer.schedule(agent.name, self._clock.time() + RENEW_INTERVAL)
        return None

    async def _sync_mirrors(self, agent: NodeAgent, node: Node) -> None:
        """Create missing mirror pods; delete those whose static pod is gone."""
        if not agent.static_pods and not agent.mirrors:
            return  # most nodes: nothing to mirror
        wanted = {m.key: m for m in (mirror_pod(p, node) for p in agent.static_pods.values())}
        for key, pod in wanted.items():
            existing = self._pods.get(key)
            if existing is None and key not in agent.mirrors:
                with contextlib.suppress(AlreadyExistsError):
                    await self._client.create(pod)
                agent.mirrors.add(key)
            elif existing is None:
                agent.mirrors.discard(key)  # deleted: recreated at the next beat
        for key in list(agent.mirrors - wanted.keys()):
            agent.mirrors.discard(key)
            with contextlib.suppress(NotFoundError):
                await self._client.delete(Pod, key)
