"""
The Endpoints controller's I/O half: read the caches, plan (pure), write at most once.

One reconcile of a Service key (Kubernetes' ``syncService``):

1. The Service, its Endpoints and the pods its selector matches come from
   the caches (the pods through the label index of the Pod cache).
2. :func:`~controllers.endpoints.plan.plan` says whether to create, update
   or delete the Endpoints; nothing is written when it is unchanged.
3. The write goes out with the cached resource version, so a concurrent
   change is a ``ConflictError`` and the engine retries with a fresh cache.

The last write is remembered with the resource version it replaced: while
the cache still shows that version (or, after a create or delete, has not
seen it yet), the remembered object is the truth. A burst of pod events
therefore never re-creates an Endpoints the cache has not caught up with.

Events on the Service, as Kubernetes records them: Warning
``FailedToCreateEndpoint`` / ``FailedToUpdateEndpoint``.
"""

from __future__ import annotations

from controllers.api.core import Endpoints, Pod, Service
from controllers.endpoints.memo import PodMemo
from controllers.endpoints.plan import Memo, plan, selects
from controllers.endpoints.trigger import TriggerTimes
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

__all__ = ["EndpointsReconciler"]


class EndpointsReconciler:
    """
    Keeps each selecting Service's Endpoints equal to its pods (see the module docstring).

    Args:
        client: Where Endpoints are written.
        services: The Service cache.
        pods: The Pod cache.
        endpoints: The Endpoints cache.
        recorder: Receives the failure events; none are recorded without one.
    """

    def __init__(
        self,
        client: Client,
        *,
        services: Store[Service],
        pods: Store[Pod],
        endpoints: Store[Endpoints],
        recorder: EventRecorder | None = None,
    ) -> None:
        self._client = client
        self._services = services
        self._pods = pods
        self._endpoints = endpoints
        self._recorder = recorder
        # key -> (version replaced, object written or None after a delete);
        # version "" for a create.
        self._written: dict[ObjectKey, tuple[ResourceVersion, Endpoints | None]] = {}
        self._writes = 0
        self._memos: dict[ObjectKey, Memo] = {}
        self._triggers = TriggerTimes()

    @property
    def writes(self) -> int:
        """How many Endpoints writes (create, update, delete) this reconciler issued."""
        return self._writes

    def wrote(self, endpoints: Endpoints) -> bool:
        """Whether ``endpoints`` (as the cache delivers it) is this reconciler's own last write."""
        last = self._written.get(endpoints.metadata.key)
        return (
            last is not None
            and last[1] is not None
            and last[1].metadata.resource_version == endpoints.metadata.resource_version
        )

    async def reconcile(self, request: Request) -> Result:
        service = self._services.get(request)
        existing = self._current(request)
        pods: list[Pod] = []
        memo = self._memos.get(request)
        if memo is None:
            memo = self._memos[request] = PodMemo()
        if service is not None and selects(service):
            selector = LabelSelector(match_labels=service.spec.selector)
            pods = self._pods.list(namespace=request.namespace, labels=selector)
        else:
            self._memos.pop(request, None)
        trigger = None if service is None else self._triggers.compute(service, pods)
        if service is None:
            self._triggers.forget(request)
        change = plan(service, existing, pods, memo=memo, trigger_time=trigger)
        memo.retain(pods)
        if change.empty:
            return Result.done()
        self._writes += 1
        try:
            if change.create is not None:
                written = await self._client.create(change.create)
                self._written[request] = (ResourceVersion(""), written)
            elif change.update is not None:
                replaced = change.update.metadata.resource_version
                written = await self._client.update(change.update)
                self._written[request] = (replaced, written)
            elif change.delete is not None:
                gone = change.delete.metadata
                await self._client.delete(
                    Endpoints, request, preconditions=Preconditions(uid=gone.uid)
                )
                self._written[request] = (gone.resource_version, None)
        except (NotFoundError, ConflictError, AlreadyExistsError) as exc:
            # The cache was behind: forget what we wrote and retry on a fresh read.
            self._written.pop(request, None)
            if change.delete is not None and isinstance(exc, NotFoundError):
                return Result.done()  # already gone
            raise ConflictError(str(exc)) from exc
        except ApiError as exc:
            await self._failed(service, change.create is not None, exc)
            raise
        return Result.done()

    def _current(self, key: ObjectKey) -> Endpoints | None:
        """The cached Endpoints, or our own last write while the cache has not seen it."""
        cached = self._endpoints.get(key)
        last = self._written.get(key)
        if last is None:
            return cached
        replaced, written = last
        cached_version = ResourceVersion("") if cached is None else cached.metadata.resource_version
        if cached_version == replaced:
            return written
        del self._written[key]  # the cache has caught up (or moved on)
        return cached

    async def _failed(self, service: Service | None, creating: bool, exc: ApiError) -> None:
        if self._recorder is None or service is None:
            return
        if creating:
            reason, verb = "FailedToCreateEndpoint", "create"
        else:
            reason, verb = "FailedToUpdateEndpoint", "update"
        await self._recorder.warning(
            service,
            reason=reason,
            message=f"Failed to {verb} endpoint {service.metadata.namespace}/"
            f"{service.metadata.name}: {exc}",
        )
