"""
The scheduler's I/O half: read the caches, call :func:`~controllers.scheduler.schedule`, apply.

For a pending pod (see :func:`~controllers.scheduler.status.is_pending`),
:class:`Scheduler` runs :func:`~controllers.scheduler.schedule` over the
cached nodes and the cached pods grouped by ``spec.nodeName``, then:

* a node fits: it *binds* by updating ``spec.nodeName`` with the cached
  resource version (Kubernetes posts to ``pods/binding``; the admission
  here lets an unset ``nodeName`` be set once). A stale cache gives a
  ``ConflictError``, which the engine retries. Then ``PodScheduled=True``
  is written through ``update_status``;
* nothing fits: ``PodScheduled=False``, reason ``Unschedulable`` with the
  decision's message, a ``FailedScheduling`` Warning event (when a recorder
  is given), and a retry after :data:`RETRY_UNSCHEDULABLE` seconds. Node
  events requeue every pending pod earlier.

Condition writes are skipped when the condition already says the same.

Like kube-scheduler's *assumed pods*, bindings this scheduler made are
remembered until the pod cache shows them with ``PodScheduled=True``: until
then the cache may still show the pod unbound, and the next pod must count
it on its node (required anti-affinity, resources) and the pod itself must
not be scheduled twice.
"""

from __future__ import annotations

from collections import defaultdict

import attrs

from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.scheduler.plan import schedule
from controllers.scheduler.status import POD_SCHEDULED, UNSCHEDULABLE, is_pending, with_scheduled
from reconcile import Client, Clock, EventRecorder, ObjectKey, Request, Result, Store, Uid

__all__ = ["RETRY_UNSCHEDULABLE", "Scheduler", "pending_keys"]

RETRY_UNSCHEDULABLE = 10.0
"""Seconds before an unschedulable pod is tried again (node events try it sooner)."""


def pending_keys(pods: Store[Pod]) -> list[ObjectKey]:
    """Keys of every cached pod waiting to be scheduled."""
    return [pod.key for pod in pods.list() if is_pending(pod)]


def _is_scheduled(pod: Pod) -> bool:
    return any(c.type == POD_SCHEDULED and c.status == "True" for c in pod.status.conditions)


class Scheduler:
    """The :class:`~reconcile.Reconciler` that binds pending pods (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        *,
        pods: Store[Pod],
        nodes: Store[Node],
        clock: Clock,
        recorder: EventRecorder | None = None,
        trace: bool = True,
    ) -> None:
        self._client = client
        self._pods = pods
        self._nodes = nodes
        self._clock = clock
        self._recorder = recorder
        self._trace = trace
        self._assumed: dict[ObjectKey, tuple[Uid, Pod]] = {}

    async def reconcile(self, request: Request) -> Result:
        pod = self._pods.get(request)
        assumed = self._assumed.get(request)
        if assumed is not None and (pod is None or pod.metadata.uid != assumed[0]):
            del self._assumed[request]
            assumed = None
        if pod is None:
            return Result.done()
        if assumed is not None:
            return await self._confirm(pod, assumed[1])
        if not is_pending(pod):
            return Result.done()
        decision = schedule(pod, self._nodes.list(), self._pods_by_node(), trace=self._trace)
        now = self._clock.now()
        if decision.node is None:
            failed = with_scheduled(
                pod, status=False, reason=UNSCHEDULABLE, message=decision.message, now=now
            )
            if failed is not None:
                await self._client.update_status(failed)
            if self._recorder is not None:
                await self._recorder.warning(
                    pod, reason="FailedScheduling", message=decision.message
                )
            return Result.after(RETRY_UNSCHEDULABLE)
        bound = await self._client.update(
            attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=decision.node))
        )
        self._assumed[request] = (bound.metadata.uid, bound)
        await self._mark_scheduled(bound)
        return Result.done()

    async def _confirm(self, cached: Pod, bound: Pod) -> Result:
        """Finish a binding this scheduler made; forget it once the cache shows it all."""
        if _is_scheduled(cached):
            del self._assumed[cached.key]
        elif cached.spec.node_name and not _is_scheduled(bound):
            await self._mark_scheduled(cached)
        # Otherwise the cache lags behind our writes; their events requeue the pod.
        return Result.done()

    async def _mark_scheduled(self, pod: Pod) -> None:
        scheduled = with_scheduled(pod, status=True, now=self._clock.now())
        if scheduled is not None:
            written = await self._client.update_status(scheduled)
            self._assumed[pod.key] = (written.metadata.uid, written)

    def _pods_by_node(self) -> dict[str, list[Pod]]:
        """Cached pods by node name, with the assumed bindings the cache may not show yet."""
        by_node: defaultdict[str, list[Pod]] = defaultdict(list)
        for cached in self._pods.list():
            assumed = self._assumed.get(cached.key)
            pod = cached
            if (
                assumed is not None
                and assumed[0] == cached.metadata.uid
                and not cached.spec.node_name
            ):
                pod = assumed[1]
            if pod.spec.node_name:
                by_node[pod.spec.node_name].append(pod)
        return dict(by_node)
