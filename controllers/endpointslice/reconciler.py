"""
The EndpointSlice controller's I/O half: read the caches, plan (pure), write.

One reconcile of a Service key (Kubernetes' ``syncService`` in
pkg/controller/endpointslice/endpointslice_controller.go):

1. The Service, the pods its selector matches (the Pod cache's label
   index), this controller's slices of the Service (the slice cache's label
   index on ``kubernetes.io/service-name`` and ``managed-by``) and the
   zones of the pods' nodes come from the caches.
2. :func:`~controllers.endpointslice.plan.plan` says which slices to
   create, update and delete; the writes go out in that order.

A deleted Service needs nothing: the garbage collector deletes its slices
through their owner reference.

Like Kubernetes' ``EndpointSliceTracker``, the reconciler remembers its own
recent writes: until the cache shows a slice it created, or a newer version
than the one it updated or deleted, the write is taken as the truth. So a
burst of pod events never creates a slice twice or resurrects one it
deleted. Any conflict forgets them and retries from a fresh read.

Events on the Service, as Kubernetes records them: Warning
``FailedToUpdateEndpointSlices`` when a write fails for another reason.
"""

from __future__ import annotations

import contextlib

from controllers.api.core import Node, Pod, Service
from controllers.api.discovery import EndpointSlice
from controllers.endpoints import PodMemo, selects
from controllers.endpointslice.desired import ZONE_LABEL, Memo
from controllers.endpointslice.plan import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    plan,
)
from reconcile import (
    AlreadyExistsError,
    ApiError,
    Client,
    ConflictError,
    EventRecorder,
    LabelSelector,
    NotFoundError,
    ObjectKey,
    Preconditions,
    Request,
    ResourceVersion,
    Result,
    Store,
)

__all__ = ["EndpointSliceReconciler"]

_CREATED = ResourceVersion("")


class EndpointSliceReconciler:
    """
    Keeps each selecting Service's EndpointSlices equal to its pods (see the module docstring).

    Args:
        client: Where slices are written.
        services: The Service cache.
        pods: The Pod cache.
        slices: The EndpointSlice cache.
        nodes: The Node cache (for zones).
        max_per_slice: Most endpoints per slice (Kubernetes'
            ``--max-endpoints-per-slice``, 100).
        recorder: Receives the failure events; none are recorded without one.
    """

    def __init__(
        self,
        client: Client,
        *,
        services: Store[Service],
        pods: Store[Pod],
        slices: Store[EndpointSlice],
        nodes: Store[Node],
        max_per_slice: int,
        recorder: EventRecorder | None = None,
    ) -> None:
        self._client = client
        self._services = services
        self._pods = pods
        self._slices = slices
        self._nodes = nodes
        self._max = max_per_slice
        self._recorder = recorder
        # service -> slice name -> (version replaced or _CREATED, slice written or None if deleted)
        self._written: dict[ObjectKey, dict[str, tuple[ResourceVersion, EndpointSlice | None]]] = {}
        self._writes = 0
        self._memos: dict[ObjectKey, Memo] = {}

    @property
    def writes(self) -> int:
        """How many slice writes (create, update, delete) this reconciler issued."""
        return self._writes

    def wrote(self, s: EndpointSlice) -> bool:
        """Whether ``s`` (as the cache delivers it) is this reconciler's own last write."""
        service = s.metadata.labels.get(SERVICE_NAME_LABEL)
        if service is None:
            return False
        mine = self._written.get(ObjectKey(namespace=s.metadata.namespace, name=service), {})
        last = mine.get(s.metadata.name)
        return (
            last is not None
            and last[1] is not None
            and last[1].metadata.resource_version == s.metadata.resource_version
        )

    async def reconcile(self, request: Request) -> Result:
        service = self._services.get(request)
        if service is None:
            self._written.pop(request, None)
            self._memos.pop(request, None)
            return Result.done()  # the garbage collector removes the slices
        slices = self._current(request)
        pods: list[Pod] = []
        if selects(service):
            selector = LabelSelector(match_labels=service.spec.selector)
            pods = self._pods.list(namespace=request.namespace, labels=selector)
        memo = self._memos.get(request)
        if memo is None:
            memo = self._memos[request] = PodMemo()
        change = plan(
            service, slices, pods, zones=self._zones(pods), max_per_slice=self._max, memo=memo
        )
        memo.retain(pods)
        if change.empty:
            return Result.done()
        mine = self._written.setdefault(request, {})
        try:
            for s in change.create:
                self._writes += 1
                created = await self._client.create(s)
                mine[created.metadata.name] = (_CREATED, created)
            for s in change.update:
                self._writes += 1
                updated = await self._client.update(s)
                mine[s.metadata.name] = (s.metadata.resource_version, updated)
            for s in change.delete:
                self._writes += 1
                with contextlib.suppress(NotFoundError):  # already gone: the same outcome
                    await self._client.delete(
                        EndpointSlice,
                        s.metadata.key,
                        preconditions=Preconditions(uid=s.metadata.uid),
                    )
                mine[s.metadata.name] = (s.metadata.resource_version, None)
        except (NotFoundError, ConflictError, AlreadyExistsError) as exc:
            self._written.pop(request, None)
            raise ConflictError(str(exc)) from exc
        except ApiError as exc:
            if self._recorder is not None:
                await self._recorder.warning(
                    service,
                    reason="FailedToUpdateEndpointSlices",
                    message="Error updating Endpoint Slices for Service "
                    f"{request.namespace}/{request.name}: {exc}",
                )
            raise
        return Result.done()

    def _current(self, key: ObjectKey) -> list[EndpointSlice]:
        """This controller's slices of the Service: the cache, corrected by our unseen writes."""
        labels = {SERVICE_NAME_LABEL: key.name, MANAGED_BY_LABEL: CONTROLLER_NAME}
        cached = {
            s.metadata.name: s
            for s in self._slices.list(
                namespace=key.namespace, labels=LabelSelector(match_labels=labels)
            )
        }
        mine = self._written.get(key)
        if mine:
            for name, (replaced, written) in list(mine.items()):
                seen = cached.get(name)
                version = _CREATED if seen is None else seen.metadata.resource_version
                if version != replaced:
                    del mine[name]  # the cache has caught up (or moved on)
                elif written is None:
                    cached.pop(name, None)
                else:
                    cached[name] = written
        return [cached[name] for name in sorted(cached)]

    def _zones(self, pods: list[Pod]) -> dict[str, str]:
        """The zone label of every node the pods run on (nodes without one are left out)."""
        zones: dict[str, str] = {}
        seen: set[str] = set()
        for pod in pods:
            name = pod.spec.node_name
            if not name or name in seen:
                continue
            seen.add(name)
            node = self._nodes.get(ObjectKey(namespace="", name=name))
            if node is not None and ZONE_LABEL in node.metadata.labels:
                zones[name] = node.metadata.labels[ZONE_LABEL]
        return zones
