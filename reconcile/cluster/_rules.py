"""
The in-memory API server's write rules: from a request to the object it stores.

One concept: what a create, an update or a delete turns the stored object
into, as Kubernetes' registry strategies (``PrepareForCreate``,
``PrepareForUpdate``) and ``deletionFinalizersForGarbageCollection`` do:

* create: the server owns ``uid``, ``resourceVersion``, ``generation``,
  ``creationTimestamp`` and the deletion fields; a status subresource
  starts from the default status;
* update: only labels, annotations, owner references and finalizers are
  taken from the request's metadata; ``generation`` counts spec changes
  (every field but ``metadata`` and ``status``); ``update`` never writes a
  subresource status and ``update_status`` writes nothing else;
* delete: the requested propagation replaces the ``orphan`` /
  ``foregroundDeletion`` finalizers; an object left with finalizers gets
  its ``deletionTimestamp`` (and a new ``generation``) instead of going.

Contract
    Pure functions of their arguments (the clock is read only where a
    timestamp is set); :class:`~reconcile.cluster.memory.MemoryCluster`
    looks the stored object up, checks preconditions, runs admission and
    commits. Timestamps are truncated to seconds, as the API serialises
    them. The result carries the resource version it will be committed at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from reconcile.cluster import _validation as validation
from reconcile.cluster._replace import replacer
from reconcile.cluster._table import Table
from reconcile.cluster.client import EventType, Propagation
from reconcile.errors import InvalidError, NotFoundError
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectMeta, ResourceVersion, Uid
from reconcile.primitives.clock import Clock

__all__ = [
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "Stamps",
    "deletion_finalizers",
    "prepare_create",
    "prepare_delete",
    "prepare_update",
]

R = TypeVar("R", bound=Resource)

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"

_replace_meta: Callable[..., ObjectMeta] = replacer(ObjectMeta)
_with_resource_version: Callable[[ObjectMeta, ResourceVersion], ObjectMeta] = replacer(
    ObjectMeta, only="resource_version"
)


class Stamps:
    """
    ``clock.now()`` truncated to seconds, as Kubernetes stores timestamps.

    Writes within one second share one ``datetime`` instance (they are equal
    and immutable), which saves memory on every object created in a burst.
    Each cluster owns one, so no state is shared between clusters.
    """

    __slots__ = ("_clock", "_last")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last: dt.datetime | None = None

    def now(self) -> dt.datetime:
        now = self._clock.now().replace(microsecond=0)
        if now == self._last:
            return self._last
        self._last = now
        return now


def prepare_create(
    table: Table,
    obj: R,
    *,
    name: str,
    namespace: str,
    uid: Uid,
    resource_version: ResourceVersion,
    stamps: Stamps,
) -> R:
    """``obj`` (already admitted and validated) as it is first stored."""
    new_meta = _replace_meta(
        obj.metadata,
        name=name,
        namespace=namespace,
        uid=uid,
        resource_version=resource_version,
        generation=1,
        creation_timestamp=stamps.now(),
        deletion_timestamp=None,
        deletion_grace_period_seconds=None,
    )
    new: R
    if table.status_subresource:
        new = table.replace(obj, metadata=new_meta, status=table.default_status(obj))
    else:
        new = table.replace(obj, metadata=new_meta)
    return new


def prepare_update(
    table: Table,
    obj: R,
    current: Any,
    resource_version: ResourceVersion,
    *,
    status: bool,
    force: bool,
    stamps: Stamps,
) -> tuple[bool, R] | None:
    """
    What updating ``current`` with ``obj`` stores, and whether anything changed.

    An update of the main resource keeps the stored status, or stores what
    the kind's ``status_on_update`` rule makes of it.

    Returns ``None`` when nothing changed, unless ``force`` (admission hooks
    must still see the result): then ``(False, new)``.

    Raises:
        NotFoundError: for ``status`` when the kind has no status subresource.
        InvalidError: if the metadata change is not allowed.
    """
    # The hot path of every write: keep it free of needless calls and allocations.
    old: ObjectMeta = current.metadata
    new: R
    if status:
        if not table.status_subresource:
            raise NotFoundError(f"{table.kind.resource} has no status subresource")
        value = obj.status  # type: ignore[attr-defined]
        changed = not _same(value, current.status)
        if not (changed or force):
            return None
        new_meta = _with_resource_version(old, resource_version)
        new = table.replace(current, metadata=new_meta, status=value)
        return changed, new
    meta = obj.metadata
    spec_changed = _differ(obj, current, table.spec_fields)
    meta_changed = not (
        _same(meta.labels, old.labels)
        and _same(meta.finalizers, old.finalizers)
        and _same(meta.annotations, old.annotations)
        and _same(meta.owner_references, old.owner_references)
    )
    changed = (
        spec_changed
        or meta_changed
        or (table.status_is_spec and not _same(obj.status, current.status))  # type: ignore[attr-defined]
    )
    if not (changed or force):
        return None
    if meta_changed and (causes := validation.validate_update(meta, old)):
        raise InvalidError(table.kind.kind, old.name, causes)
    new_meta = _replace_meta(
        old,
        labels=meta.labels,
        annotations=meta.annotations,
        owner_references=meta.owner_references,
        finalizers=meta.finalizers,
        generation=old.generation + 1 if spec_changed else old.generation,
        resource_version=resource_version,
    )
    if table.status_subresource:
        rule = table.status_rule
        value = current.status if rule is None else rule(obj, current, stamps.now())
        new = table.replace(obj, metadata=new_meta, status=value)
    else:
        new = table.replace(obj, metadata=new_meta)
    return changed, new


def prepare_delete(
    table: Table,
    current: R,
    propagation: Propagation | None,
    resource_version: ResourceVersion,
    *,
    stamps: Stamps,
    grace_period_seconds: int | None = None,
) -> tuple[EventType, R] | None:
    """
    The event a delete request commits and the object it carries.

    ``DELETED`` with the last state when no finalizer and no grace period is
    left, ``MODIFIED`` with the new finalizers (and, on the first request, the
    deletion timestamp), or ``None`` when a repeated request changes nothing.

    For kinds deleted gracefully (``Kind.grace_period``) a positive grace
    period only marks the object: ``deletionTimestamp`` is now + grace and
    ``deletionGracePeriodSeconds`` the grace. A later request may shorten the
    grace, never lengthen it; grace 0 ends it (Kubernetes' ``BeforeDelete``).
    """
    meta = current.metadata
    finalizers = deletion_finalizers(meta.finalizers, propagation)
    grace = _grace(table, current, grace_period_seconds)
    if grace and meta.deletion_timestamp is None:
        now = stamps.now()
        new_meta = _replace_meta(
            meta,
            finalizers=finalizers,
            deletion_timestamp=now + dt.timedelta(seconds=grace),
            deletion_grace_period_seconds=grace,
            generation=meta.generation + 1,
            resource_version=resource_version,
        )
        return EventType.MODIFIED, table.replace(current, metadata=new_meta)
    if grace and meta.deletion_grace_period_seconds:
        if grace >= meta.deletion_grace_period_seconds:
            grace = meta.deletion_grace_period_seconds  # never lengthened
            if finalizers == meta.finalizers:
                return None
            new_meta = _replace_meta(meta, finalizers=finalizers, resource_version=resource_version)
        else:
            new_meta = _replace_meta(
                meta,
                finalizers=finalizers,
                deletion_timestamp=stamps.now() + dt.timedelta(seconds=grace),
                deletion_grace_period_seconds=grace,
                resource_version=resource_version,
            )
        return EventType.MODIFIED, table.replace(current, metadata=new_meta)
    if not finalizers:
        gone_meta = _replace_meta(meta, finalizers=(), resource_version=resource_version)
        gone: R = table.replace(current, metadata=gone_meta)
        return EventType.DELETED, gone
    if meta.deletion_timestamp is not None:
        if finalizers == meta.finalizers and not meta.deletion_grace_period_seconds:
            return None
        new_meta = _replace_meta(
            meta,
            finalizers=finalizers,
            deletion_grace_period_seconds=0,
            resource_version=resource_version,
        )
    else:
        new_meta = _replace_meta(
            meta,
            finalizers=finalizers,
            deletion_timestamp=stamps.now(),
            deletion_grace_period_seconds=0,
            generation=meta.generation + 1,
            resource_version=resource_version,
        )
    new: R = table.replace(current, metadata=new_meta)
    return EventType.MODIFIED, new


def _grace(table: Table, obj: Any, requested: int | None) -> int:
    """The grace period a delete request gets: 0 unless the kind is deleted gracefully."""
    default = table.kind.grace_period
    if default is None:
        return 0
    if requested is None:
        requested = default(obj)
    return max(requested, 0)


def deletion_finalizers(
    finalizers: tuple[str, ...], propagation: Propagation | None
) -> tuple[str, ...]:
    """Kubernetes' ``deletionFinalizersForGarbageCollection``."""
    if propagation is None:
        return finalizers
    kept = tuple(f for f in finalizers if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND))
    if propagation is Propagation.ORPHAN:
        return (*kept, FINALIZER_ORPHAN)
    if propagation is Propagation.FOREGROUND:
        return (*kept, FINALIZER_FOREGROUND)
    return kept


def _same(a: object, b: object) -> bool:
    # `not a == b` rather than `a != b`: attrs' __ne__ is a second Python call.
    return a is b or a == b


def _differ(new: object, old: object, names: tuple[str, ...]) -> bool:
    for name in names:
        a = getattr(new, name)
        b = getattr(old, name)
        if a is not b and not a == b:  # noqa: SIM201 (attrs __ne__ is a second call)
            return True
    return False
