"""
The client seam: what every cluster backend offers.

``Reader`` (``get``, ``list``), ``Writer`` (``create``, ``update``,
``update_status``, ``patch``, ``delete``) and ``Watcher`` (``watch``) compose
into ``Client``. The in-memory cluster implements them today; a Kubernetes
API server, etcd and a durable local store implement the same protocols, so
controllers never know which one they run against.

Semantics follow the Kubernetes API:

* ``resource_version`` is an opaque string. A write that carries one is
  conditional on it (``ConflictError`` when stale); an empty one writes
  unconditionally.
* ``watch(since=rv)`` yields every change committed after ``rv``, in
  order, or raises ``ExpiredError`` (410 Gone) when ``rv`` is older than the
  retained history; the caller then relists. ``since=None`` first yields
  the current state as ``ADDED`` events and then follows changes.
  ``BOOKMARK`` events carry only a newer resource version.
* Errors are the :mod:`reconcile.errors` ``ApiError`` tree.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from typing import Generic, Protocol, TypeVar, runtime_checkable

import attrs

from reconcile.model.fields import FieldSelector
from reconcile.model.frozen import JSON
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ResourceVersion, Uid
from reconcile.model.selectors import LabelSelector

__all__ = [
    "Client",
    "EventType",
    "JsonPatch",
    "MergePatch",
    "ObjectList",
    "Patch",
    "Preconditions",
    "Propagation",
    "Reader",
    "WatchEvent",
    "Watcher",
    "Writer",
]

R = TypeVar("R", bound=Resource)
R_co = TypeVar("R_co", bound=Resource, covariant=True)


class EventType(enum.Enum):
    """The type of a watch event, spelled as on the Kubernetes wire."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"


@attrs.frozen(kw_only=True, slots=True)
class WatchEvent(Generic[R_co]):
    """
    One change to one object.

    For ``ADDED``/``MODIFIED`` the object is the new state; for ``DELETED``
    it is the last state (with the deletion's resource version). For
    ``BOOKMARK`` it is ``None`` and only ``resource_version`` matters.
    """

    type: EventType
    object: R_co | None
    resource_version: ResourceVersion


@attrs.frozen(kw_only=True)
class ObjectList(Generic[R_co]):
    """A consistent snapshot: the items and the resource version it was taken at."""

    items: tuple[R_co, ...]
    resource_version: ResourceVersion

    def __len__(self) -> int:
        return len(self.items)


class Propagation(enum.Enum):
    """What happens to dependents when their owner is deleted."""

    BACKGROUND = "Background"
    FOREGROUND = "Foreground"
    ORPHAN = "Orphan"


@attrs.frozen(kw_only=True)
class Preconditions:
    """Conditions a delete must meet (``ConflictError`` otherwise)."""

    uid: Uid | None = None
    resource_version: ResourceVersion | None = None


@attrs.frozen(kw_only=True)
class MergePatch:
    """An RFC 7386 JSON merge patch (``application/merge-patch+json``)."""

    patch: JSON


@attrs.frozen(kw_only=True)
class JsonPatch:
    """An RFC 6902 JSON patch (``application/json-patch+json``): a list of operations."""

    operations: tuple[JSON, ...]


Patch = MergePatch | JsonPatch

Selector = LabelSelector | str | None
Fields = FieldSelector | str | None


@runtime_checkable
class Reader(Protocol):
    """**Protocol:** read objects of a kind."""

    async def get(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        """The object ``key`` (or ``name`` in ``namespace``); ``NotFoundError`` if absent."""
        ...

    async def list(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> ObjectList[R]:
        """Every matching object, sorted by key, with the snapshot's resource version."""
        ...


@runtime_checkable
class Writer(Protocol):
    """**Protocol:** change objects."""

    async def create(self, obj: R) -> R:
        """Create ``obj``; the server fills uid, resourceVersion, timestamps and generation."""
        ...

    async def update(self, obj: R) -> R:
        """Replace the object (its status is kept when the kind has a status subresource)."""
        ...

    async def update_status(self, obj: R) -> R:
        """Replace only the status (the spec and most metadata are kept)."""
        ...

    async def patch(
        self,
        kind: type[R],
        key: ObjectKey | str,
        patch: Patch,
        *,
        namespace: str = "",
        status: bool = False,
    ) -> R:
        """Apply a merge patch or JSON patch to the object (or its status)."""
        ...

    async def delete(
        self,
        kind: type[R],
        key: ObjectKey | str,
        *,
        namespace: str = "",
        propagation: Propagation | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
    ) -> R | None:
        """
        Request deletion. Returns the object still held by finalizers or by a
        grace period (with ``deletion_timestamp`` set), or ``None`` when it is
        gone. ``grace_period_seconds`` matters only for kinds deleted
        gracefully (see :func:`reconcile.kind`); ``None`` means their default,
        ``0`` deletes at once.
        """
        ...


@runtime_checkable
class Watcher(Protocol):
    """**Protocol:** follow changes to a kind."""

    def watch(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
        since: ResourceVersion | None = None,
        bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent[R]]:
        """Changes after ``since`` (or the current state first when ``None``), in order."""
        ...


@runtime_checkable
class Client(Reader, Writer, Watcher, Protocol):
    """**Protocol:** a whole cluster backend."""


def split_key(key: ObjectKey | str, namespace: str) -> ObjectKey:
    """Normalise the ``key``/``namespace`` arguments of the protocol methods."""
    if isinstance(key, ObjectKey):
        return key
    return ObjectKey(namespace=namespace, name=key)
