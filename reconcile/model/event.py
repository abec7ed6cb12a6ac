"""
The core ``v1`` ``Event`` kind: a record of something that happened to an object.

Events are written by :class:`reconcile.runtime.events.EventRecorder` and read
by humans (``kubectl describe``). Fields and JSON names follow Kubernetes'
``core/v1`` ``Event`` exactly (``involvedObject``, ``firstTimestamp``,
``reportingComponent``, ...). Repeats of the same event are not new objects:
the writer increments ``count`` and moves ``last_timestamp`` (the legacy
``tools/record`` aggregation), so a ``series`` is declared for fidelity but the
recorder leaves it unset.

An ``Event`` has no spec/status split and no status subresource; it is only
ever created, updated whole, or deleted. The same fields as upstream are
selectable (``involvedObject.name=web``, ``reason``, ``type``, ``source``,
``reportingComponent``), so ``kubectl describe``-style look-ups are one list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

import attrs
from attrs import validators as v

from reconcile.model.kinds import Resource, kind
from reconcile.model.meta import ResourceVersion, Uid

__all__ = [
    "EVENT_NORMAL",
    "EVENT_WARNING",
    "Event",
    "EventSeries",
    "EventSource",
    "ObjectReference",
]

EVENT_NORMAL: Final = "Normal"
"""Type of events that record ordinary progress."""

EVENT_WARNING: Final = "Warning"
"""Type of events that record something a human may need to look at."""

_str = v.instance_of(str)
_optional_time = v.optional(v.instance_of(dt.datetime))


@attrs.frozen(kw_only=True)
class ObjectReference:
    """
    A pointer to any object, as Kubernetes' ``core/v1`` ``ObjectReference``.

    ``field_path`` names a part of the object (``spec.containers{web}``);
    ``resource_version`` is the version the reference was taken at.
    """

    kind: str = attrs.field(default="", validator=_str)
    namespace: str = attrs.field(default="", validator=_str)
    name: str = attrs.field(default="", validator=_str)
    uid: Uid = attrs.field(default=Uid(""))
    api_version: str = attrs.field(default="", validator=_str)
    resource_version: ResourceVersion = attrs.field(default=ResourceVersion(""))
    field_path: str = attrs.field(default="", validator=_str)


@attrs.frozen(kw_only=True)
class EventSource:
    """Who reported an event: a component (``replicaset-controller``) on a host."""

    component: str = attrs.field(default="", validator=_str)
    host: str = attrs.field(default="", validator=_str)


@attrs.frozen(kw_only=True)
class EventSeries:
    """A series of repeated occurrences (``events.k8s.io`` style aggregation)."""

    count: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    last_observed_time: dt.datetime | None = attrs.field(default=None, validator=_optional_time)


_SELECTABLE: dict[str, Callable[[Event], str]] = {
    "involvedObject.kind": lambda e: e.involved_object.kind,
    "involvedObject.namespace": lambda e: e.involved_object.namespace,
    "involvedObject.name": lambda e: e.involved_object.name,
    "involvedObject.uid": lambda e: e.involved_object.uid,
    "involvedObject.apiVersion": lambda e: e.involved_object.api_version,
    "involvedObject.resourceVersion": lambda e: e.involved_object.resource_version,
    "involvedObject.fieldPath": lambda e: e.involved_object.field_path,
    "reason": lambda e: e.reason,
    "reportingComponent": lambda e: e.reporting_component,
    "source": lambda e: e.source.component,
    "type": lambda e: e.type,
}


@kind(version="v1", kind="Event", field_selectors=_SELECTABLE)
@attrs.frozen(kw_only=True)
class Event(Resource):
    """
    A ``v1`` Event.

    Attributes:
        involved_object: The object this event is about.
        reason: A short ``UpperCamelCase`` machine-readable cause (``ScalingReplicaSet``).
        message: A human-readable description.
        source: The legacy reporter (component and host).
        first_timestamp: When the event was first recorded.
        last_timestamp: When the most recent occurrence was recorded.
        count: How many times it has occurred.
        type: ``"Normal"`` or ``"Warning"``.
        event_time: When it first occurred, in microseconds (newer API; optional).
        series: Data about a series of occurrences (newer API; optional).
        action: What was done or failed (``Scaling``), if known.
        related: A secondary object, if any.
        reporting_component: The controller that emitted it.
        reporting_instance: The instance (host, pod) of that controller.
    """

    involved_object: ObjectReference = attrs.field(
        factory=ObjectReference, validator=v.instance_of(ObjectReference)
    )
    reason: str = attrs.field(default="", validator=_str)
    message: str = attrs.field(default="", validator=_str)
    source: EventSource = attrs.field(factory=EventSource, validator=v.instance_of(EventSource))
    first_timestamp: dt.datetime | None = attrs.field(default=None, validator=_optional_time)
    last_timestamp: dt.datetime | None = attrs.field(default=None, validator=_optional_time)
    count: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    type: str = attrs.field(default="", validator=_str)
    event_time: dt.datetime | None = attrs.field(default=None, validator=_optional_time)
    series: EventSeries | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(EventSeries))
    )
    action: str = attrs.field(default="", validator=_str)
    related: ObjectReference | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(ObjectReference))
    )
    reporting_component: str = attrs.field(default="", validator=_str)
    reporting_instance: str = attrs.field(default="", validator=_str)
