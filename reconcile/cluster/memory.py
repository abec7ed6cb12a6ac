"""
``MemoryCluster``: an in-process API server with Kubernetes' semantics.

It implements :class:`~reconcile.cluster.client.Client` for any declared
kind and keeps, like the real API server backed by etcd:

* one cluster-wide, strictly increasing resource version (opaque to
  clients; decimal here);
* optimistic concurrency: a write carrying a stale resource version raises
  ``ConflictError`` (an empty one writes unconditionally); writes that change
  nothing are not committed (no new resource version, no watch event);
* ``metadata.generation`` that counts spec changes only (every field but
  ``metadata`` and ``status``), and a status subresource: ``update`` never
  changes status, ``update_status`` never changes anything else;
* finalizers: deleting an object that has finalizers only sets
  ``deletionTimestamp`` (and bumps ``generation``); no finalizer may be added
  from then on, and the object disappears when an update empties them. The
  requested propagation is recorded as Kubernetes does, with the ``orphan``
  or ``foregroundDeletion`` finalizer, for a garbage collector to act on;
* a bounded history per kind: ``watch(since=rv)`` replays exactly the events
  committed after ``rv``, or raises ``ExpiredError`` once ``rv`` has been
  compacted away (also when a slow watcher falls behind the trimming);
* admission (:mod:`~reconcile.cluster.admission`) and metadata validation
  (:mod:`~reconcile.cluster._validation`) with field-path errors; a refused
  write changes nothing.

Expected flow of a write: look up the stored object → check preconditions
→ defaulters and mutators → the server's rules (server-owned metadata,
status subresource, generation, finalizers: :mod:`~reconcile.cluster._rules`)
→ validation → no-op check → commit.

Every write is atomic (nothing awaits inside), so watchers observe committed
states only, in commit order. Watchers share each kind's history
(:mod:`~reconcile.cluster._table`), so a write costs the same with one
watcher or a hundred. Randomness (uids, ``generateName`` suffixes) comes
from ``seed`` and time from the injected clock, so a run is reproducible.
The ``DELETED`` event of an object carries its last state, stamped with the
deletion's resource version.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from random import Random
from typing import Any, TypeVar, cast, final

import attrs

from reconcile.cluster import _validation as validation
from reconcile.cluster._replace import replacer
from reconcile.cluster._rules import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    Stamps,
    prepare_create,
    prepare_delete,
    prepare_update,
)
from reconcile.cluster._table import Table, bookmark, matcher
from reconcile.cluster.admission import Admission, Operation
from reconcile.cluster.client import (
    EventType,
    Fields,
    ObjectList,
    Patch,
    Preconditions,
    Propagation,
    Selector,
    WatchEvent,
    split_key,
)
from reconcile.cluster.patching import patch_object
from reconcile.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    NotFoundError,
)
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ObjectMeta, ResourceVersion, Uid
from reconcile.primitives.clock import Clock, SystemClock

__all__ = ["FINALIZER_FOREGROUND", "FINALIZER_ORPHAN", "MemoryCluster", "MemoryClusterStatistics"]

R = TypeVar("R", bound=Resource)

_event: Callable[..., WatchEvent[Resource]] = replacer(WatchEvent)
_EVENT: WatchEvent[Resource] = WatchEvent(
    type=EventType.BOOKMARK, object=None, resource_version=ResourceVersion("")
)
_ADDED, _MODIFIED, _DELETED = EventType.ADDED, EventType.MODIFIED, EventType.DELETED


@attrs.frozen(kw_only=True)
class MemoryClusterStatistics:
    """Counters of a :class:`MemoryCluster`."""

    resource_version: int
    objects: int
    writes: int
    watchers: int
    history: int
    conflicts: int


@final
class MemoryCluster:
    """
    An in-memory cluster backend (see the module docstring for its guarantees).

    Args:
        clock: Source of timestamps (``SystemClock`` by default).
        seed: Seed for uids and generated names.
        history: Events retained per kind for ``watch(since=...)``: at least
            the newest ``history``, at most ``2 * history - 1``.
    """

    def __init__(self, *, clock: Clock | None = None, seed: int = 0, history: int = 10_000) -> None:
        if history < 1:
            raise ValueError(f"history: must be >= 1, got {history}")
        self.clock: Clock = clock or SystemClock()
        self._stamps = Stamps(self.clock)
        self.admission = Admission()
        self._random = Random(seed)
        self._history = history
        self._rv = 0
        self._tables: dict[type[Resource], Table] = {}
        self._writes = 0
        self._conflicts = 0
        self.on_commit: list[Callable[[WatchEvent[Resource]], None]] = []
        """Synchronous observers of every committed event (tracing, hashing, models)."""

    # -- reading ---------------------------------------------------------

    @property
    def resource_version(self) -> ResourceVersion:
        """The newest committed resource version."""
        return ResourceVersion(str(self._rv))

    async def get(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        return self.get_nowait(kind, key, namespace=namespace)

    def get_nowait(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        """Synchronous ``get`` (the memory backend never blocks)."""
        table = self._table(kind)
        return cast("R", self._stored(table, self._key(table, key, namespace)))

    async def list(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> ObjectList[R]:
        return self.list_nowait(kind, namespace=namespace, labels=labels, fields=fields)

    def list_nowait(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> ObjectList[R]:
        """
        Synchronous ``list``.

        Raises:
            InvalidError: for a selector that does not parse or names an unknown field.
        """
        table = self._table(kind)
        items = table.select(matcher(table.kind, namespace, labels, fields))
        return ObjectList(
            items=cast("tuple[R, ...]", items), resource_version=self.resource_version
        )

    # -- writing ---------------------------------------------------------

    async def create(self, obj: R) -> R:
        table = self._table(type(obj))
        kind = table.kind
        obj = self.admission.mutate(obj, None, Operation.CREATE)
        meta = obj.metadata
        namespace = meta.namespace if table.namespaced else ""
        name = meta.name
        if not name and meta.generate_name:
            name = validation.generate_name(
                meta.generate_name, self._random, lambda n: (namespace, n) in table.objects
            )
        if causes := validation.validate_create(meta, name=name, namespaced=table.namespaced):
            raise InvalidError(kind.kind, name, causes)
        new = prepare_create(
            table,
            obj,
            name=name,
            namespace=namespace,
            uid=Uid(str(uuid.UUID(int=self._random.getrandbits(128), version=4))),
            resource_version=ResourceVersion(str(self._rv + 1)),
            stamps=self._stamps,
        )
        self.admission.validate(new, None, Operation.CREATE)
        if (namespace, name) in table.objects:
            raise AlreadyExistsError(f'{kind.resource} "{name}" already exists')
        return self._commit(table, _ADDED, (namespace, name), new, None)

    async def update(self, obj: R) -> R:
        return self._update(obj, False)

    async def update_status(self, obj: R) -> R:
        return self._update(obj, True)

    async def patch(
        self,
        kind: type[R],
        key: ObjectKey | str,
        patch: Patch,
        *,
        namespace: str = "",
        status: bool = False,
    ) -> R:
        """
        Apply ``patch`` to the object's JSON shape and write the result.

        A ``metadata.resourceVersion`` (or ``uid``) in the patched document is
        a precondition, as with ``update``. With ``status=True`` only the
        status of the result is written.

        Raises:
            InvalidError: if the patch cannot be applied (a failed JSON patch
                ``test`` included), yields an invalid object or renames it.
        """
        table = self._table(kind)
        current = self._stored(table, self._key(table, key, namespace))
        return self._update(patch_object(current, patch, kind), status=status)

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
        Request deletion (see :meth:`Writer.delete`).

        ``propagation`` replaces the object's ``orphan``/``foregroundDeletion``
        finalizers (``None`` keeps them): ``ORPHAN`` records ``orphan``,
        ``FOREGROUND`` records ``foregroundDeletion`` and ``BACKGROUND``
        records neither. An object left with finalizers gets its
        ``deletionTimestamp`` and is returned; otherwise it is removed.
        ``grace_period_seconds`` applies to kinds deleted gracefully (see
        :func:`~reconcile.cluster._rules.prepare_delete`).

        Raises:
            NotFoundError: if there is no such object.
            ConflictError: if a precondition does not hold.
        """
        table = self._table(kind)
        k = self._key(table, key, namespace)
        current = cast("R", self._stored(table, k))
        meta = current.metadata
        if preconditions is not None:
            if preconditions.uid is not None and preconditions.uid != meta.uid:
                raise self._uid_conflict(table, k, preconditions.uid, meta.uid)
            rv = preconditions.resource_version
            if rv is not None and rv != meta.resource_version:
                raise self._conflict(table, k)
        self.admission.validate(current, current, Operation.DELETE)
        rv = ResourceVersion(str(self._rv + 1))
        prepared = prepare_delete(
            table,
            current,
            propagation,
            rv,
            stamps=self._stamps,
            grace_period_seconds=grace_period_seconds,
        )
        if prepared is None:
            return current
        type_, new = prepared
        self._commit(table, type_, k, new, current)
        return None if type_ is EventType.DELETED else new

    # -- watching --------------------------------------------------------

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
        """
        Follow changes to ``kind`` (see :meth:`Watcher.watch`).

        Arguments are checked at once, so a bad selector or an expired
        ``since`` raises here rather than on the first iteration. With
        ``since=None`` the current objects are yielded first as ``ADDED``
        (then a ``BOOKMARK`` at the snapshot's version, if ``bookmarks``).
        With ``bookmarks``, a batch of changes that all fail the filters
        yields a ``BOOKMARK`` so the caller's resource version keeps up.

        Raises:
            ExpiredError: if ``since`` is older than the retained history or
                newer than this cluster has reached.
            InvalidError: for an unparsable ``since`` or selector.
        """
        table = self._table(kind)
        match = matcher(table.kind, namespace, labels, fields)
        if since:
            position = table.position_after(table.parse_since(since, newest=self._rv))
            return cast(
                "AsyncIterator[WatchEvent[R]]", table.follow(position, match, bookmarks=bookmarks)
            )
        initial: list[WatchEvent[Resource]] = [
            WatchEvent(
                type=EventType.ADDED, object=obj, resource_version=obj.metadata.resource_version
            )
            for obj in table.select(match)
        ]
        if bookmarks:
            initial.append(bookmark(self.resource_version))
        follow = table.follow(table.end, match, bookmarks=bookmarks, initial=initial)
        return cast("AsyncIterator[WatchEvent[R]]", follow)

    # -- administration --------------------------------------------------

    def compact(self, kind: type[Resource] | None = None) -> None:
        """Drop all retained history (of one kind, or all): older watches get ``ExpiredError``."""
        for table in [self._table(kind)] if kind else list(self._tables.values()):
            table.compact(self._rv)

    def kinds(self) -> tuple[type[Resource], ...]:
        """The kinds this cluster has seen."""
        return tuple(self._tables)

    def statistics(self) -> MemoryClusterStatistics:
        tables = self._tables.values()
        return MemoryClusterStatistics(
            resource_version=self._rv,
            objects=sum(len(t.objects) for t in tables),
            writes=self._writes,
            watchers=sum(t.watchers for t in tables),
            history=sum(len(t.log) for t in tables),
            conflicts=self._conflicts,
        )

    # -- internals -------------------------------------------------------

    def _table(self, kind: type[Resource]) -> Table:
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = Table(kind, history=self._history)
        return table

    @staticmethod
    def _key(table: Table, key: ObjectKey | str, namespace: str) -> tuple[str, str]:
        k = split_key(key, namespace)
        return (k.namespace if table.namespaced else "", k.name)

    def _stored(self, table: Table, key: tuple[str, str]) -> Resource:
        obj = table.objects.get(key)
        if obj is None:
            raise self._not_found(table, key)
        return obj

    @staticmethod
    def _not_found(table: Table, key: tuple[str, str]) -> NotFoundError:
        return NotFoundError(f'{table.kind.resource} "{key[1]}" not found')

    def _update(self, obj: R, status: bool) -> R:
        # The hot path: keep it free of needless calls and allocations.
        cls = type(obj)
        table = self._tables.get(cls) or self._table(cls)
        meta = obj.metadata
        key = (meta.namespace if table.namespaced else "", meta.name)
        current: Any = table.objects.get(key)
        if current is None:
            raise self._not_found(table, key)
        old: ObjectMeta = current.metadata
        if meta.resource_version and meta.resource_version != old.resource_version:
            raise self._conflict(table, key)
        if meta.uid and meta.uid != old.uid:
            raise self._uid_conflict(table, key, meta.uid, old.uid)
        hooks = self.admission.has_hooks(cls)
        if hooks:
            obj = self.admission.mutate(obj, current, Operation.UPDATE)
        rv = ResourceVersion(str(self._rv + 1))
        prepared = prepare_update(
            table, obj, current, rv, status=status, force=hooks, stamps=self._stamps
        )
        if prepared is None:
            return current  # type: ignore[no-any-return]
        changed, new = prepared
        if hooks:
            self.admission.validate(new, current, Operation.UPDATE)
            if not changed:
                return current  # type: ignore[no-any-return]
        new_meta = new.metadata
        if new_meta.deletion_timestamp is not None and not new_meta.finalizers:
            return self._commit(table, _DELETED, key, new, current)
        return self._commit(table, _MODIFIED, key, new, current)

    def _commit(
        self,
        table: Table,
        type_: EventType,
        key: tuple[str, str],
        obj: R,
        previous: Resource | None,
    ) -> R:
        """Store ``obj`` (stamped with the next resource version), replacing ``previous``."""
        self._rv += 1
        self._writes += 1
        if type_ is _DELETED:
            del table.objects[key]
            table.sorted_keys = None
        else:
            if previous is None:
                table.sorted_keys = None
            table.objects[key] = obj
        event = _event(
            _EVENT, type=type_, object=obj, resource_version=obj.metadata.resource_version
        )
        table.append(event, self._rv, previous)
        for observe in self.on_commit:
            observe(event)
        return obj

    def _conflict(self, table: Table, key: tuple[str, str]) -> ConflictError:
        self._conflicts += 1
        return ConflictError(
            f'Operation cannot be fulfilled on {table.kind.resource} "{key[1]}": the object has '
            "been modified; please apply your changes to the latest version and try again"
        )

    def _uid_conflict(
        self, table: Table, key: tuple[str, str], want: str, have: str
    ) -> ConflictError:
        self._conflicts += 1
        return ConflictError(
            f'Operation cannot be fulfilled on {table.kind.resource} "{key[1]}": '
            f"Precondition failed: UID in precondition: {want}, UID in object meta: {have}"
        )
