"""
The scheduler's I/O half: read the caches, call :func:`~controllers.scheduler.schedule`, apply.

:class:`Scheduler` keeps a :class:`~controllers.scheduler.cache.Cache` up to
date from the pod and node informers' notifications (as kube-scheduler's
event handlers feed its cache), so a cycle does no work per cached pod. For a
pending pod (see :func:`~controllers.scheduler.status.is_pending`), it runs
:func:`~controllers.scheduler.plan.schedule_snapshot` over the cache's
snapshot, carrying the round-robin start index from one cycle to the next,
then:

* a node fits: it *binds* by updating ``spec.nodeName`` with the cached
  resource version (Kubernetes posts to ``pods/binding``; the admission
  here lets an unset ``nodeName`` be set once, and the Pod kind's update
  rule sets ``PodScheduled=True`` in the same write, as the binding
  subresource does). A stale cache gives a ``ConflictError``, which the
  engine retries;
* nothing fits: ``PodScheduled=False``, reason ``Unschedulable`` with the
  decision's message, a ``FailedScheduling`` Warning event (when a recorder
  is given), and a retry after :data:`RETRY_UNSCHEDULABLE` seconds. Node
  changes that can matter requeue such pods earlier (see
  :meth:`Scheduler.unschedulable`).

Condition writes are skipped when the condition already says the same.

Like kube-scheduler's *assumed pods*, bindings this scheduler made are
remembered until the pod cache shows them bound: until then the cache may
still show the pod unbound, and the next pod must count it on its node
(required anti-affinity, resources) and the pod itself must not be
scheduled twice. The cache holds the assumed version of such a pod. The
informer's notification that shows the binding forgets the assumption, so
a binding costs one reconcile.
"""

from __future__ import annotations

import attrs

from controllers.api.core import Node
from controllers.api.pod import Pod
from controllers.scheduler.cache import Cache
from controllers.scheduler.plan import schedule_snapshot
from controllers.scheduler.status import POD_SCHEDULED, UNSCHEDULABLE, is_pending, with_scheduled
from reconcile import (
    Client,
    Clock,
    EventRecorder,
    FunctionHandler,
    Informer,
    ObjectKey,
    Request,
    Resource,
    Result,
    Store,
    Uid,
)

__all__ = ["RETRY_UNSCHEDULABLE", "Scheduler", "pending_keys"]

RETRY_UNSCHEDULABLE = 10.0
"""Seconds before an unschedulable pod is tried again (node events try it sooner)."""


def pending_keys(pods: Store[Pod]) -> list[ObjectKey]:
    """Keys of every cached pod waiting to be scheduled."""
    return [pod.key for pod in pods.list() if is_pending(pod)]


def _is_scheduled(pod: Pod) -> bool:
    return any(c.type == POD_SCHEDULED and c.status == "True" for c in pod.status.conditions)


class Scheduler:
    """
    The :class:`~reconcile.Reconciler` that binds pending pods (see the module docstring).

    It subscribes to the ``pods`` and ``nodes`` informers to keep its cache.
    """

    def __init__(
        self,
        client: Client,
        *,
        pods: Informer[Pod],
        nodes: Informer[Node],
        clock: Clock,
        recorder: EventRecorder | None = None,
        trace: bool = True,
    ) -> None:
        self._client = client
        self._pods: Store[Pod] = pods.store
        self._clock = clock
        self._recorder = recorder
        self._trace = trace
        self._assumed: dict[ObjectKey, tuple[Uid, Pod]] = {}
        self._cache = Cache()
        self._unschedulable: set[ObjectKey] = set()
        self._next_start = 0
        pods.add_handler(
            FunctionHandler(
                on_add=lambda pod: self._refresh(pod.key),
                on_update=lambda _, pod: self._refresh(pod.key),
                on_delete=lambda pod: self._refresh(pod.key),
            )
        )
        nodes.add_handler(
            FunctionHandler(
                on_add=self._cache.set_node,
                on_update=lambda _, node: self._cache.set_node(node),
                on_delete=lambda node: self._cache.remove_node(node.metadata.name),
            )
        )

    def concerns(self, old: Resource | None, new: Resource | None) -> bool:
        """
        Whether a pod event can give :meth:`reconcile` something to do (a predicate).

        Only pending pods, pods with a binding still assumed, and deletions do:
        for any other pod (bound by now, by us or by others) reconcile does
        nothing, so the kubelet's status updates of running pods cost nothing here.
        """
        if not isinstance(new, Pod):
            return True
        return is_pending(new) or new.key in self._assumed

    def unschedulable(self) -> list[ObjectKey]:
        """
        Keys of the pending pods whose last cycle found no node, in key order.

        Like kube-scheduler's unschedulable queue: what node events requeue.
        Pending pods not listed are queued or being scheduled already.
        """
        return sorted(self._unschedulable, key=lambda k: (k.namespace, k.name))

    async def reconcile(self, request: Request) -> Result:
        pod = self._pods.get(request)
        assumed = self._assumed.get(request)
        if assumed is not None and (pod is None or pod.metadata.uid != assumed[0]):
            del self._assumed[request]
            self._refresh(request)
            assumed = None
        if pod is None:
            return Result.done()
        if assumed is not None:
            return await self._confirm(pod, assumed[1])
        if not is_pending(pod):
            return Result.done()
        decision = schedule_snapshot(
            pod, self._cache.snapshot(), trace=self._trace, start=self._next_start
        )
        self._next_start = decision.next_start
        now = self._clock.now()
        if decision.node is None:
            self._unschedulable.add(request)
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
        self._unschedulable.discard(request)
        bound = await self._client.update(
            attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=decision.node))
        )
        self._assume(bound)
        if not _is_scheduled(bound):  # an API server without the binding rule
            await self._mark_scheduled(bound)
        return Result.done()

    async def _confirm(self, cached: Pod, bound: Pod) -> Result:
        """Finish a binding this scheduler made; forget it once the cache shows it all."""
        if _is_scheduled(cached):
            del self._assumed[cached.key]
            self._refresh(cached.key)
        elif cached.spec.node_name and not _is_scheduled(bound):
            await self._mark_scheduled(cached)
        # Otherwise the cache lags behind our writes; their events requeue the pod.
        return Result.done()

    async def _mark_scheduled(self, pod: Pod) -> None:
        scheduled = with_scheduled(pod, status=True, now=self._clock.now())
        if scheduled is not None:
            written = await self._client.update_status(scheduled)
            self._assume(written)

    def _assume(self, pod: Pod) -> None:
        self._assumed[pod.key] = (pod.metadata.uid, pod)
        self._refresh(pod.key)

    def _refresh(self, key: ObjectKey) -> None:
        """Put into the cache the cached pod, or the assumed binding the cache does not show yet."""
        pod = self._pods.get(key)
        if pod is None or not is_pending(pod):
            self._unschedulable.discard(key)
        assumed = self._assumed.get(key)
        if pod is not None and assumed is not None and assumed[0] == pod.metadata.uid:
            if not pod.spec.node_name:
                pod = assumed[1]  # the cache does not show our binding yet
            elif _is_scheduled(pod):
                del self._assumed[key]  # it does: nothing left to assume
        self._cache.set_pod((key.namespace, key.name), pod)
