"""
The kubelets' pod worker: runs every pod bound to a simulated node.

One controller serves all nodes (a thousand per-node controllers would cost
a thousand informers); for each pod it acts as the kubelet of the pod's node,
through that node's :class:`~controllers.kubelet.agent.NodeAgent`:

1. a node whose kubelet is stopped or cut off does nothing (its containers
   keep running in the agent; it catches up when it reports again);
2. a pod new to the node is admitted (pod IP, start time, image pulls), or
   rejected when its requests do not fit what the node's active pods leave
   (:func:`~controllers.kubelet.fit.reject`): phase ``Failed`` with reason
   ``OutOfcpu``, ``OutOfmemory``, ``OutOfpods``..., a Warning event, and no
   container started. Only pods bound by their author get there: the
   scheduler binds pods that fit;
3. the runtime is advanced to ``now`` (:func:`~controllers.kubelet.lifecycle.advance`),
   the events it produced are recorded, and the status is written when it
   differs from the cached one;
4. a pod being deleted whose containers have all stopped is deleted for
   good (grace period 0, guarded by its UID), as the kubelet confirms a
   graceful deletion;
5. the pod is requeued for its next container event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

from controllers.api.core import Node, NodeStatus
from controllers.api.pod import Pod, PodStatus
from controllers.kubelet.agent import Fleet, NodeAgent
from controllers.kubelet.fit import Rejection, reject
from controllers.kubelet.lifecycle import admit, advance, next_wake, stopped
from controllers.kubelet.qos import qos_class
from controllers.kubelet.runtime import PodRuntime, seconds
from controllers.kubelet.status import phase, pod_status
from controllers.scheduler.snapshot import allocatable, requests
from reconcile import (
    Client,
    Clock,
    EventRecorder,
    NotFoundError,
    ObjectKey,
    Request,
    Result,
    Store,
    delete_by_uid,
)

__all__ = ["PodWorker"]


class PodWorker:
    """The :class:`~reconcile.Reconciler` of pods for every simulated node (see the module)."""

    def __init__(
        self,
        client: Client,
        *,
        pods: Store[Pod],
        fleet: Fleet,
        clock: Clock,
        events: bool = False,
    ) -> None:
        self._client = client
        self._pods = pods
        self._fleet = fleet
        self._clock = clock
        self._events = events
        self._recorders: dict[str, EventRecorder] = {}
        # Each node's allocatable in request units, computed once per agent configuration.
        self._allocatable: dict[str, tuple[object, Mapping[str, int]]] = {}
        # The node each pod runs or ran on, to forget it once the API no longer
        # has it (a kubelet restarted over a running fleet inherits its pods).
        self._ran_on: dict[ObjectKey, str] = {
            key: agent.name for agent in fleet for key in agent.pods
        }
        # The status each pod should have, as the kubelet last worked it out:
        # an API status that differs is reconciled back (see :meth:`agrees`).
        # With it, the resource version that carries it, when known (a cheap check).
        self._believed: dict[ObjectKey, tuple[PodStatus, str | None]] = {}

    def agrees(self, pod: Pod) -> bool:
        """
        Whether ``pod``'s status is the one the kubelet last worked out for it.

        A status that differs is set right again, as the kubelet's status
        manager does: another writer's (the node lifecycle controller marks the
        pods of an unresponsive node not ready), or the kubelet's own earlier
        write when it has since decided on a cache that lagged behind it.
        """
        believed = self._believed.get(pod.key)
        if believed is None:
            return False
        status, version = believed
        return version == pod.metadata.resource_version or status == pod.status

    async def reconcile(self, request: Request) -> Result:
        pod = self._pods.get(request)
        if pod is None:
            self._believed.pop(request, None)
            node = self._ran_on.pop(request, None)
            agent = self._fleet.get(node) if node is not None else None
            if agent is not None:
                agent.pods.pop(request, None)
            return Result.done()
        agent = self._fleet.get(pod.spec.node_name) if pod.spec.node_name else None
        if agent is None or not agent.reporting:
            return Result.done()
        return await self._sync(agent, pod)

    async def _sync(self, agent: NodeAgent, pod: Pod) -> Result:
        now = seconds(self._clock.now())
        key = pod.key
        rt = agent.pods.get(key)
        if rt is None or rt.uid != pod.metadata.uid:
            if pod.metadata.deletion_timestamp is not None:
                # Nothing of it runs here (the node lost it): nothing to stop.
                await self._confirm_deletion(pod)
                return Result.done()
            if pod.status.phase in _TERMINAL:
                return Result.done()  # it finished (or was rejected) before this kubelet knew it
            rejection = self._admission(agent, pod)
            if rejection is not None:
                await self._reject(agent, pod, rejection)
                return Result.done()
            rt = admit(pod, now=now, pod_ip=agent.allocate_ip(), timings=agent.timings)
        rt, happened = advance(pod, rt, now=now, timings=agent.timings)
        agent.pods[key] = rt
        self._ran_on[key] = agent.name
        if self._events and happened:
            recorder = self._recorder(agent.name)
            for event in happened:
                if event.warning:
                    await recorder.warning(pod, reason=event.reason, message=event.message)
                else:
                    await recorder.normal(pod, reason=event.reason, message=event.message)
        status = pod_status(pod, rt, host_ip=agent.address, now=now)
        if status != pod.status:
            self._believed[key] = (status, None)  # until the write lands
            pod = await self._client.update_status(attrs.evolve(pod, status=status))
        self._believed[key] = (status, pod.metadata.resource_version)
        if stopped(rt):
            await self._confirm_deletion(pod)
            agent.pods.pop(key, None)
            return Result.done()
        wake = next_wake(pod, rt)
        if wake is None:
            return Result.done()
        return Result.after(max(wake - now, 0.0) + _EPSILON)

    def _admission(self, agent: NodeAgent, pod: Pod) -> Rejection | None:
        """Why ``agent``'s node cannot take ``pod`` now, or ``None`` (see the module)."""
        config, amounts = self._allocatable.get(agent.name, (None, {}))
        if config is not agent.config:
            status = NodeStatus(allocatable=agent.config.capacity)
            amounts = allocatable(Node(status=status))
            self._allocatable[agent.name] = (agent.config, amounts)
        # The common case costs no scan: nothing requested, and room for one more pod.
        if len(agent.pods) < amounts.get("pods", 0) and not any(requests(pod).values()):
            return None
        return reject(pod, allocatable=amounts, admitted=self._active(agent, pod))

    def _active(self, agent: NodeAgent, pod: Pod) -> list[Pod]:
        """The pods ``agent`` admitted, other than ``pod``, that still hold resources."""
        active = []
        for key, rt in agent.pods.items():
            other = self._pods.get(key) if key != pod.key else None
            if other is not None and _holds_resources(other, rt):
                active.append(other)
        return active

    async def _reject(self, agent: NodeAgent, pod: Pod, rejection: Rejection) -> None:
        """Fail ``pod`` without running it, as the kubelet's ``rejectPod`` does."""
        stale = agent.pods.get(pod.key)
        if stale is not None and stale.uid != pod.metadata.uid:
            agent.pods.pop(pod.key)  # an earlier pod of that name, gone
        status = attrs.evolve(
            pod.status,
            phase="Failed",
            reason=rejection.reason,
            message=f"Pod was rejected: {rejection.message}",
            qos_class=qos_class(pod.spec),
        )
        try:  # a conflict propagates: the pod is looked at again, at once
            await self._client.update_status(attrs.evolve(pod, status=status))
        except NotFoundError:
            return
        if self._events:
            recorder = self._recorder(agent.name)
            await recorder.warning(pod, reason=rejection.reason, message=rejection.message)

    def _recorder(self, node: str) -> EventRecorder:
        """The node's kubelet recorder: component ``kubelet``, host the node's name."""
        recorder = self._recorders.get(node)
        if recorder is None:
            recorder = EventRecorder(
                self._client, component="kubelet", clock=self._clock, host=node
            )
            self._recorders[node] = recorder
        return recorder

    async def _confirm_deletion(self, pod: Pod) -> None:
        """Finish a graceful deletion: the containers are gone, so is the pod."""
        # Gone already, or a new pod of that name: nothing of ours to delete.
        await delete_by_uid(self._client, Pod, pod.key, pod.metadata.uid, grace_period_seconds=0)


_TERMINAL = ("Succeeded", "Failed")


def _holds_resources(pod: Pod, rt: PodRuntime) -> bool:
    """Whether ``rt`` runs ``pod`` (same UID) and neither says it is terminal."""
    return (
        pod.metadata.uid == rt.uid
        and pod.status.phase not in _TERMINAL
        and phase(rt) not in _TERMINAL
    )


# Float timers may fire a hair before the event they wait for; never wake early.
_EPSILON = math.ulp(1e9) * 4
