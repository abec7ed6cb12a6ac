"""
Recording ``v1`` Events about objects, the way ``kubectl describe`` shows them.

:class:`EventRecorder` is the counterpart of client-go's ``tools/record``
recorder, reduced to what a controller needs:

* ``await recorder.normal(obj, reason="ScalingReplicaSet", message=...)``
  (or ``warning``/``event``) writes an :class:`~reconcile.model.event.Event`
  in ``obj``'s namespace (``default`` for cluster-scoped objects), named
  ``<obj name>.<hex nanoseconds>`` as upstream names them.
* Identical events (same involved object, type, reason and message) are
  aggregated: the existing Event's ``count`` goes up by one and its
  ``lastTimestamp`` moves to now, instead of a new object being written. A
  small LRU cache remembers the last Event written for each such tuple. On a
  ``ConflictError`` the Event is re-read and incremented once more; if it was
  deleted meanwhile (``NotFoundError``) a new one is created.
* Recording never raises into the caller: events are diagnostics, and a
  failed event must not fail a reconcile. Failures are counted and logged as
  ``event.record_failed``. Cancellation still propagates.

Upstream's spam filter and "similar events" correlator are not reproduced.
"""

from __future__ import annotations

import collections
import datetime as dt
from typing import Literal, final

import attrs
import structlog

from reconcile.cluster.client import Client
from reconcile.errors import AlreadyExistsError, ConflictError, NotFoundError
from reconcile.model.event import EVENT_NORMAL, EVENT_WARNING, Event, EventSource, ObjectReference
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.meta import ObjectMeta
from reconcile.primitives.clock import Clock

__all__ = ["EventRecorder", "EventRecorderStatistics"]

_log = structlog.get_logger(__name__)

_MAX_NAME = 253
_SUFFIX_LEN = 17  # "." + up to 16 hex digits of nanoseconds

_CacheKey = tuple[str, str, str, str, str, str, str, str]


@attrs.frozen(kw_only=True)
class EventRecorderStatistics:
    """
    Counters of an :class:`EventRecorder`.

    Attributes:
        created: Event objects created.
        aggregated: Repeats recorded by incrementing an existing Event.
        failed: Events that could not be recorded.
        cached: Entries in the aggregation cache.
    """

    created: int
    aggregated: int
    failed: int
    cached: int


@final
class EventRecorder:
    """
    Writes (and aggregates) Events on behalf of one component.

    Args:
        client: Where Events are written.
        component: The reporting controller (``source.component``,
            ``reportingComponent``).
        clock: Source of timestamps and name suffixes.
        host: The reporting instance (``source.host``, ``reportingInstance``).
        cache_size: How many distinct events are remembered for aggregation.
    """

    def __init__(
        self,
        client: Client,
        *,
        component: str,
        clock: Clock,
        host: str = "",
        cache_size: int = 4096,
    ) -> None:
        if not component:
            raise ValueError("component: must not be empty")
        if cache_size < 1:
            raise ValueError(f"cache_size: must be >= 1, got {cache_size}")
        self._client = client
        self._component = component
        self._clock = clock
        self._host = host
        self._cache_size = cache_size
        self._cache: collections.OrderedDict[_CacheKey, Event] = collections.OrderedDict()
        self._last_nanos = 0
        self._created = 0
        self._aggregated = 0
        self._failed = 0

    async def normal(self, obj: Resource, *, reason: str, message: str) -> None:
        """Record a ``Normal`` event about ``obj``."""
        await self.event(obj, type=EVENT_NORMAL, reason=reason, message=message)

    async def warning(self, obj: Resource, *, reason: str, message: str) -> None:
        """Record a ``Warning`` event about ``obj``."""
        await self.event(obj, type=EVENT_WARNING, reason=reason, message=message)

    async def event(
        self,
        obj: Resource,
        *,
        type: Literal["Normal", "Warning"] = "Normal",
        reason: str,
        message: str,
    ) -> None:
        """
        Record an event about ``obj``; never raises (see the module docstring).

        Args:
            obj: The involved object (a declared kind, as read from the cluster).
            type: ``"Normal"`` or ``"Warning"``.
            reason: Short ``UpperCamelCase`` cause, e.g. ``FailedCreate``.
            message: Human-readable description.
        """
        try:
            await self._record(obj, type, reason, message)
        except Exception as exc:  # events are best-effort diagnostics
            self._failed += 1
            _log.warning(
                "event.record_failed",
                component=self._component,
                object=str(obj.key),
                type=type,
                reason=reason,
                error=repr(exc),
            )

    def statistics(self) -> EventRecorderStatistics:
        """A snapshot of the counters."""
        return EventRecorderStatistics(
            created=self._created,
            aggregated=self._aggregated,
            failed=self._failed,
            cached=len(self._cache),
        )

    async def _record(self, obj: Resource, type_: str, reason: str, message: str) -> None:
        if type_ not in (EVENT_NORMAL, EVENT_WARNING):
            raise ValueError(f"type: must be {EVENT_NORMAL!r} or {EVENT_WARNING!r}, got {type_!r}")
        if not reason:
            raise ValueError("reason: must not be empty")
        now = self._clock.now()
        ref = _reference(obj)
        key: _CacheKey = (
            ref.api_version, ref.kind, ref.namespace, ref.name, ref.uid, type_, reason, message,
        )  # fmt: skip
        cached = self._cache.get(key)
        bumped = None if cached is None else await self._increment(cached, now)
        stored = bumped or await self._create(ref, type_, reason, message, now)
        self._cache[key] = stored
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        _log.debug(
            "event.recorded",
            object=str(obj.key),
            type=type_,
            reason=reason,
            name=stored.metadata.name,
            count=stored.count,
        )

    async def _increment(self, cached: Event, now: dt.datetime) -> Event | None:
        """Bump an existing Event; ``None`` when it no longer exists."""
        try:
            stored = await self._client.update(_bumped(cached, now))
        except NotFoundError:
            return None
        except ConflictError:
            try:
                current = await self._client.get(Event, cached.key)
            except NotFoundError:
                return None
            stored = await self._client.update(_bumped(current, now))
        self._aggregated += 1
        return stored

    async def _create(
        self, ref: ObjectReference, type_: str, reason: str, message: str, now: dt.datetime
    ) -> Event:
        base = (ref.name or ref.kind.lower())[: _MAX_NAME - _SUFFIX_LEN]
        for _attempt in range(3):
            event = Event(
                metadata=ObjectMeta(name=f"{base}.{self._next_nanos(now):x}",
                                    namespace=ref.namespace or "default"),
                involved_object=ref,
                reason=reason,
                message=message,
                source=EventSource(component=self._component, host=self._host),
                first_timestamp=now,
                last_timestamp=now,
                count=1,
                type=type_,
                reporting_component=self._component,
                reporting_instance=self._host,
            )  # fmt: skip
            try:
                created = await self._client.create(event)
            except AlreadyExistsError:
                continue  # another recorder used this instant's name: take the next one
            self._created += 1
            return created
        raise AlreadyExistsError(f"no free event name for {base!r}")

    def _next_nanos(self, now: dt.datetime) -> int:
        delta = now - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        nanos = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
        self._last_nanos = max(nanos, self._last_nanos + 1)
        return self._last_nanos


def _bumped(event: Event, now: dt.datetime) -> Event:
    return attrs.evolve(event, count=event.count + 1, last_timestamp=now)


def _reference(obj: Resource) -> ObjectReference:
    kind = kind_of(obj)
    meta = obj.metadata
    return ObjectReference(
        kind=kind.kind,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        api_version=kind.api_version,
        resource_version=meta.resource_version,
    )
