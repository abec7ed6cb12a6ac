"""
The informer cache: a read-only :class:`Store` and its single :class:`StoreWriter`.

An informer owns one ``StoreWriter`` and hands out its ``store``; everything
else (reconcilers, event handlers, listers) only reads. Objects are stored
exactly as received: they are immutable values, so no copy is ever made and
every reader shares them.

Indexes
    Each index maps a string value to the keys of the objects that produce
    it. Four are built in:

    ============== ===================================================
    ``namespace``  the object's namespace (``""`` when cluster-scoped)
    ``owner``      the uid of every owner reference
    ``controller`` the uid of the controller owner reference, if any
    ``label``      ``"key=value"`` for each label
    ============== ===================================================

    More are added with :meth:`StoreWriter.add_indexer` (an
    :data:`Indexer` returns the values for one object). Indexes are kept up
    to date incrementally on every write (:mod:`~reconcile.cluster._indexes`),
    so an update touches only the entries that changed and a custom indexer
    is called once per object version.
    "Pods owned by this ReplicaSet" is ``by_index("owner", rs_uid)``: a
    dictionary lookup, never a scan.

Guarantees
    * Lookups by key are O(1); ``by_index`` and ``list`` with a namespace or
      label equality are O(result log result); results come in key order.
    * Writes are synchronous, so a reader in the same event loop never sees
      a half-applied event or relist: :meth:`StoreWriter.replace` computes
      the difference and applies it without yielding.
    * ``synced`` becomes true once (after the first complete list) and stays
      true; :meth:`Store.wait_synced` returns from then on.

Errors
    ``by_index``/``index_keys`` raise ``KeyError`` for an unknown index name;
    registering a name twice raises ``ValueError``.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Generic, TypeVar, final

import attrs

from reconcile.cluster._indexes import (
    EMPTY,
    INDEX_CONTROLLER,
    INDEX_LABEL,
    INDEX_NAMESPACE,
    INDEX_OWNER,
    Indexes,
    Key,
)
from reconcile.cluster.client import EventType, WatchEvent
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ResourceVersion
from reconcile.model.selectors import LabelSelector

__all__ = [
    "INDEX_CONTROLLER",
    "INDEX_LABEL",
    "INDEX_NAMESPACE",
    "INDEX_OWNER",
    "Indexer",
    "Store",
    "StoreDiff",
    "StoreStatistics",
    "StoreWriter",
]

R = TypeVar("R", bound=Resource)

Indexer = Callable[[R], Iterable[str]]
_SORT_CACHE_MIN = 256
_SORT_CACHE_BUCKETS = 64
"""Computes the index values of one object (called once per stored version)."""


@attrs.frozen(kw_only=True)
class StoreStatistics:
    """Counters of a :class:`Store`."""

    objects: int
    indexes: int
    index_values: int
    """Distinct values over all indexes."""
    applied: int
    """Watch events applied (including bookmarks)."""
    replaced: int
    """Relists applied."""
    resource_version: ResourceVersion
    synced: bool


@attrs.frozen(kw_only=True)
class StoreDiff(Generic[R]):
    """What a relist changed: new objects, ``(old, new)`` pairs and removed objects."""

    added: tuple[R, ...] = ()
    updated: tuple[tuple[R, R], ...] = ()
    deleted: tuple[R, ...] = ()

    def __len__(self) -> int:
        return len(self.added) + len(self.updated) + len(self.deleted)


@final
@attrs.define(eq=False)
class Store(Generic[R]):
    """
    A read-only view of an informer's cache (see the module docstring).

    Obtain one from :attr:`StoreWriter.store` or an informer's ``store``;
    never construct or modify it directly.
    """

    _objects: dict[Key, R] = attrs.field(factory=dict, init=False)
    _indexes: Indexes = attrs.field(init=False)
    _sorted: builtins.list[Key] | None = attrs.field(default=None, init=False)
    # Sorted keys of large index buckets, reused while the bucket holds the same keys.
    _sorted_buckets: dict[tuple[str, str], builtins.list[Key]] = attrs.field(
        factory=dict, init=False
    )
    _synced: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _resource_version: ResourceVersion = attrs.field(default=ResourceVersion(""), init=False)
    _applied: int = attrs.field(default=0, init=False)
    _replaced: int = attrs.field(default=0, init=False)

    @_indexes.default
    def _new_indexes(self) -> Indexes:
        return Indexes(self._objects)

    # -- reading ---------------------------------------------------------

    def get(self, key: ObjectKey) -> R | None:
        """The object stored under ``key``, or ``None``."""
        return self._objects.get((key.namespace, key.name))

    def list(
        self, *, namespace: str | None = None, labels: LabelSelector | str | None = None
    ) -> builtins.list[R]:
        """
        Objects in key order, optionally only those in ``namespace`` and matching ``labels``.

        As in the client's ``list``, ``None`` and ``""`` both mean every
        namespace. The label index narrows the candidates to the smallest
        ``match_labels`` bucket before the selector is applied.
        """
        selector = LabelSelector.parse(labels) if isinstance(labels, str) else labels
        if selector is not None and selector.is_empty:
            selector = None
        objects = self._objects
        candidates: builtins.list[AbstractSet[Key]] = []
        if namespace:
            candidates.append(self._indexes.namespace(namespace))
        if selector is not None:
            label_buckets = self._indexes.label_buckets()
            for key, value in selector.match_labels.items():
                candidates.append(label_buckets.get(key + "=" + value, EMPTY))
        if not candidates:
            if selector is None:
                return [objects[k] for k in self._all_keys()]
            keys: Iterable[Key] = self._all_keys()
        elif selector is None or not selector.match_expressions:
            # Every condition is a bucket: their intersection is the answer itself.
            exact = min(candidates, key=len)
            for other in candidates:
                if other is not exact:
                    exact = exact & other
            return [objects[k] for k in sorted(exact)]
        else:
            smallest = min(candidates, key=len)
            keys = sorted(smallest)
        result = []
        for k in keys:
            obj = objects[k]
            if namespace and k[0] != namespace:
                continue
            if selector is not None and not selector.matches(obj.metadata.labels):
                continue
            result.append(obj)
        return result

    def by_index(self, name: str, value: str) -> builtins.list[R]:
        """Objects indexed under ``value`` by index ``name``, in key order."""
        bucket = self._indexes.bucket(name, value)
        if not bucket:
            self._sorted_buckets.pop((name, value), None)
            return []  # the common case of most look-ups (no dependents, say): no sort
        objects = self._objects
        return [objects[k] for k in self._in_order(name, value, bucket)]

    def _in_order(self, name: str, value: str, bucket: AbstractSet[Key]) -> builtins.list[Key]:
        if len(bucket) < _SORT_CACHE_MIN:
            return sorted(bucket)
        # A ReplicaSet's 10,000 pods, say: checking the last order still holds costs
        # a twentieth of sorting again, and pod updates rarely change the bucket.
        known = self._sorted_buckets.get((name, value))
        if known is None or len(known) != len(bucket) or not all(map(bucket.__contains__, known)):
            if len(self._sorted_buckets) >= _SORT_CACHE_BUCKETS:
                self._sorted_buckets.clear()  # buckets that emptied are never asked for again
            known = self._sorted_buckets[(name, value)] = sorted(bucket)
        return known

    def index_keys(self, name: str, value: str) -> builtins.list[ObjectKey]:
        """Keys of the objects indexed under ``value`` by index ``name``, in key order."""
        bucket = self._indexes.bucket(name, value)
        if not bucket:
            self._sorted_buckets.pop((name, value), None)
            return []
        return [ObjectKey(namespace=ns, name=n) for ns, n in self._in_order(name, value, bucket)]

    def index_names(self) -> builtins.list[str]:
        """Names of every index, built-in ones included, sorted."""
        return self._indexes.names()

    def index_values(self, name: str) -> builtins.list[str]:
        """Every value index ``name`` currently holds, sorted."""
        return self._indexes.values(name)

    def keys(self) -> builtins.list[ObjectKey]:
        """Every stored key, in key order."""
        return [ObjectKey(namespace=ns, name=n) for ns, n in self._all_keys()]

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, ObjectKey) and (key.namespace, key.name) in self._objects

    @property
    def synced(self) -> bool:
        """Whether the first complete list has been stored."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        """Return once the first complete list has been stored."""
        await self._synced.wait()

    @property
    def resource_version(self) -> ResourceVersion:
        """The resource version of the last applied event or relist (``""`` before any)."""
        return self._resource_version

    def statistics(self) -> StoreStatistics:
        """Current counters (building the label index if it was not yet built)."""
        self._indexes.label_buckets()
        return StoreStatistics(
            objects=len(self._objects),
            indexes=self._indexes.count(),
            index_values=self._indexes.value_count(),
            applied=self._applied,
            replaced=self._replaced,
            resource_version=self._resource_version,
            synced=self.synced,
        )

    def __repr__(self) -> str:
        return f"<Store objects={len(self._objects)} rv={self._resource_version!r}>"

    # -- internals used by StoreWriter ------------------------------------

    def _all_keys(self) -> builtins.list[Key]:
        keys = self._sorted
        if keys is None:
            keys = self._sorted = sorted(self._objects)
        return keys

    def _put(self, key: Key, obj: R) -> R | None:
        objects = self._objects
        old = objects.get(key)
        objects[key] = obj
        if old is None:
            self._sorted = None
        self._indexes.put(key, obj, old)
        return old

    def _remove(self, key: Key) -> R | None:
        old = self._objects.pop(key, None)
        if old is None:
            return None
        self._sorted = None
        self._indexes.remove(key, old)
        return old


@final
class StoreWriter(Generic[R]):
    """
    The single writer of a :class:`Store`: applies watch events and relists.

    Expected flow: register custom indexers, ``replace`` with the initial
    list, ``mark_synced``, then ``apply`` each watch event; ``replace``
    again after every relist.
    """

    __slots__ = ("_store",)

    def __init__(self) -> None:
        self._store: Store[R] = Store()

    @property
    def store(self) -> Store[R]:
        """The read-only view this writer maintains."""
        return self._store

    def add_indexer(self, name: str, indexer: Indexer[R]) -> None:
        """
        Maintain an index named ``name`` computed by ``indexer``.

        Objects already stored are indexed at once, so registering late is
        correct (if O(objects)); registering before the first list is free.

        Raises:
            ValueError: if an index with this name exists (built-ins included).
        """
        self._store._indexes.add(name, indexer)  # type: ignore[arg-type]

    def apply(self, event: WatchEvent[R]) -> R | None:
        """
        Apply one watch event and return the object it replaced or removed.

        ``ADDED``/``MODIFIED`` store ``event.object`` (an ``ADDED`` for a
        known key is an update; a ``MODIFIED`` for an unknown one an add);
        ``DELETED`` removes its key (``None`` if it was unknown); ``BOOKMARK``
        only records the resource version.
        """
        store = self._store
        store._applied += 1
        store._resource_version = event.resource_version
        kind = event.type
        if kind is EventType.BOOKMARK:
            return None
        obj = event.object
        if obj is None:
            raise ValueError(f"a {kind.value} event must carry an object")
        meta = obj.metadata
        if kind is EventType.DELETED:
            return store._remove((meta.namespace, meta.name))
        return store._put((meta.namespace, meta.name), obj)

    def replace(self, objects: Iterable[R], resource_version: ResourceVersion) -> StoreDiff[R]:
        """
        Make the store hold exactly ``objects`` (a complete list) and return the difference.

        An object counts as updated when its resource version differs from
        the stored one (or, without resource versions, when it is unequal).
        Unchanged objects keep their stored identity. The whole swap happens
        without yielding to the event loop.
        """
        store = self._store
        current = store._objects
        if not current:
            # The first list: everything is new (no diff to compute).
            for obj in objects:
                meta = obj.metadata
                store._put((meta.namespace, meta.name), obj)
            store._resource_version = resource_version
            store._replaced += 1
            return StoreDiff(added=tuple(current.values()), updated=(), deleted=())
        added: list[R] = []
        updated: list[tuple[R, R]] = []
        seen: dict[Key, R] = {}
        for obj in objects:
            meta = obj.metadata
            seen[(meta.namespace, meta.name)] = obj
        for key, obj in seen.items():
            old = current.get(key)
            if old is None:
                added.append(obj)
            elif old is not obj:
                old_rv = old.metadata.resource_version
                if old_rv != obj.metadata.resource_version or (not old_rv and old != obj):
                    updated.append((old, obj))
        deleted = [current[k] for k in store._all_keys() if k not in seen]
        for obj in deleted:
            store._remove((obj.metadata.namespace, obj.metadata.name))
        for obj in added:
            store._put((obj.metadata.namespace, obj.metadata.name), obj)
        for _, obj in updated:
            store._put((obj.metadata.namespace, obj.metadata.name), obj)
        store._resource_version = resource_version
        store._replaced += 1
        return StoreDiff(added=tuple(added), updated=tuple(updated), deleted=tuple(deleted))

    def mark_synced(self) -> None:
        """Record that the first complete list is stored (idempotent)."""
        self._store._synced.set()

    def __repr__(self) -> str:
        return f"<StoreWriter {self._store!r}>"
