"""
The indexes of an informer's cache, kept up to date incrementally on every write.

One concept: for each index name, which stored keys each index value selects.
:class:`~reconcile.cluster.store.Store` owns one :class:`Indexes` and reports
every write to it; the public side (index names, ``by_index``, the errors) is
documented in :mod:`reconcile.cluster.store`.

Design
    * The built-in indexes (namespace, owner, controller, label) read only
      metadata, so they are maintained inline (no indexer calls) and
      recomputed from the previous object when it is replaced. Since
      ``attrs.evolve`` shares unchanged label maps and owner tuples, an
      update that leaves them alone costs two identity checks.
    * The label index is built on first use: many controllers never ask for
      it, and it is the costliest to maintain (one bucket per label per
      object).
    * Custom indexes remember the values they produced per key, so an update
      touches only the entries that changed and an indexer is called once
      per object version.
    * A bucket is dropped when it empties, so only live values are listed.

Contract
    The owner passes its dictionary of stored objects at construction and
    alone mutates it; it calls :meth:`Indexes.put` right after storing an
    object (with the object it replaced, or ``None``) and
    :meth:`Indexes.remove` right after removing one. Everything is
    synchronous, so a reader never sees half-updated indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import final

import attrs

from reconcile.model.kinds import Resource
from reconcile.model.meta import OwnerReference

__all__ = [
    "EMPTY",
    "INDEX_CONTROLLER",
    "INDEX_LABEL",
    "INDEX_NAMESPACE",
    "INDEX_OWNER",
    "Indexes",
    "Key",
]

INDEX_NAMESPACE = "namespace"
INDEX_OWNER = "owner"
INDEX_CONTROLLER = "controller"
INDEX_LABEL = "label"

Key = tuple[str, str]
"""``(namespace, name)``: hashed and ordered in C, unlike ``ObjectKey``."""

EMPTY: frozenset[Key] = frozenset()


@final
@attrs.define(eq=False)
class _Index:
    """A custom index: its function and its buckets."""

    name: str
    fn: Callable[[Resource], Iterable[str]]
    buckets: dict[str, set[Key]] = attrs.field(factory=dict)


@final
class Indexes:
    """Every index of one store, built-in and custom (see the module docstring)."""

    __slots__ = (
        "_by_name",
        "_controllers",
        "_custom",
        "_custom_values",
        "_labels",
        "_labels_built",
        "_namespaces",
        "_objects",
        "_owners",
    )

    def __init__(self, objects: Mapping[Key, Resource]) -> None:
        self._objects = objects
        self._namespaces: dict[str, set[Key]] = {}
        self._owners: dict[str, set[Key]] = {}
        self._controllers: dict[str, set[Key]] = {}
        self._labels: dict[str, set[Key]] = {}
        self._labels_built = False
        self._custom: list[_Index] = []
        self._custom_values: dict[Key, list[tuple[str, ...]]] = {}
        self._by_name: dict[str, dict[str, set[Key]]] = {
            INDEX_NAMESPACE: self._namespaces,
            INDEX_OWNER: self._owners,
            INDEX_CONTROLLER: self._controllers,
            INDEX_LABEL: self._labels,
        }

    # -- reading ---------------------------------------------------------

    def names(self) -> list[str]:
        """Names of every index, built-in ones included, sorted."""
        return sorted(self._by_name)

    def values(self, name: str) -> list[str]:
        """Every value index ``name`` currently holds, sorted."""
        if name not in self._by_name:
            raise KeyError(f"no index named {name!r}; known: {sorted(self._by_name)}")
        if name == INDEX_LABEL:
            self.label_buckets()
        return sorted(self._by_name[name])

    def bucket(self, name: str, value: str) -> AbstractSet[Key]:
        """The keys index ``name`` holds under ``value`` (not a copy: do not keep it)."""
        if name == INDEX_LABEL:
            self.label_buckets()
        index = self._by_name.get(name)
        if index is None:
            raise KeyError(f"no index named {name!r}; known: {sorted(self._by_name)}")
        return index.get(value, EMPTY)

    def namespace(self, namespace: str) -> AbstractSet[Key]:
        """The keys in ``namespace`` (not a copy: do not keep it)."""
        return self._namespaces.get(namespace, EMPTY)

    def label_buckets(self) -> dict[str, set[Key]]:
        """The label index (``"key=value"`` to keys), built on first use."""
        if not self._labels_built:
            self._labels_built = True
            for key, obj in self._objects.items():
                _add_to(self._labels, key, [k + "=" + v for k, v in obj.metadata.labels.items()])
        return self._labels

    def count(self) -> int:
        """How many indexes there are."""
        return len(self._by_name)

    def value_count(self) -> int:
        """Distinct values over all indexes (the label index counts only once built)."""
        return sum(len(buckets) for buckets in self._by_name.values())

    # -- writing ---------------------------------------------------------

    def add(self, name: str, fn: Callable[[Resource], Iterable[str]]) -> None:
        """Register a custom index and index every stored object with it."""
        if name in self._by_name:
            raise ValueError(f"an index named {name!r} already exists")
        index = _Index(name, fn)
        self._by_name[name] = index.buckets
        self._custom.append(index)
        for key, obj in self._objects.items():
            values = tuple(fn(obj))
            self._custom_values.setdefault(key, []).append(values)
            _add_to(index.buckets, key, values)

    def put(self, key: Key, obj: Resource, old: Resource | None) -> None:
        """Index ``obj``, just stored under ``key`` in place of ``old`` (``None``: new key)."""
        meta = obj.metadata
        if old is None:
            bucket = self._namespaces.get(key[0])
            if bucket is None:
                self._namespaces[key[0]] = {key}
            else:
                bucket.add(key)
            if meta.owner_references:
                owners, controllers = self._owners, self._controllers
                for ref in meta.owner_references:
                    bucket = owners.get(ref.uid)
                    if bucket is None:
                        owners[ref.uid] = {key}
                    else:
                        bucket.add(key)
                    if ref.controller:
                        bucket = controllers.get(ref.uid)
                        if bucket is None:
                            controllers[ref.uid] = {key}
                        else:
                            bucket.add(key)
            if meta.labels and self._labels_built:
                buckets = self._labels
                for k, v in meta.labels.items():
                    bucket = buckets.get(k + "=" + v)
                    if bucket is None:
                        buckets[k + "=" + v] = {key}
                    else:
                        bucket.add(key)
        else:
            was = old.metadata
            refs = meta.owner_references
            if refs is not was.owner_references and refs != was.owner_references:
                self._unindex_owners(key, was.owner_references)
                self._index_owners(key, refs)
            labels = meta.labels
            if self._labels_built and labels is not was.labels and labels != was.labels:
                _remove_from(self._labels, key, [k + "=" + v for k, v in was.labels.items()])
                _add_to(self._labels, key, [k + "=" + v for k, v in labels.items()])
        if self._custom:
            self._put_custom(key, obj, old is None)

    def remove(self, key: Key, old: Resource) -> None:
        """Unindex ``old``, just removed from under ``key``."""
        meta = old.metadata
        _remove_from(self._namespaces, key, (key[0],))
        self._unindex_owners(key, meta.owner_references)
        if self._labels_built:
            _remove_from(self._labels, key, [k + "=" + v for k, v in meta.labels.items()])
        if self._custom:
            for index, values in zip(self._custom, self._custom_values.pop(key), strict=True):
                _remove_from(index.buckets, key, values)

    # -- internals -------------------------------------------------------

    def _put_custom(self, key: Key, obj: Resource, new: bool) -> None:
        values = [tuple(index.fn(obj)) for index in self._custom]
        previous = None if new else self._custom_values.get(key)
        self._custom_values[key] = values
        for i, index in enumerate(self._custom):
            if previous is not None:
                if previous[i] == values[i]:
                    continue
                _remove_from(index.buckets, key, previous[i])
            _add_to(index.buckets, key, values[i])

    def _index_owners(self, key: Key, refs: tuple[OwnerReference, ...]) -> None:
        for ref in refs:
            _add_to(self._owners, key, (ref.uid,))
            if ref.controller:
                _add_to(self._controllers, key, (ref.uid,))

    def _unindex_owners(self, key: Key, refs: tuple[OwnerReference, ...]) -> None:
        for ref in refs:
            _remove_from(self._owners, key, (ref.uid,))
            if ref.controller:
                _remove_from(self._controllers, key, (ref.uid,))


def _add_to(buckets: dict[str, set[Key]], key: Key, values: Iterable[str]) -> None:
    for value in values:
        bucket = buckets.get(value)
        if bucket is None:
            buckets[value] = {key}
        else:
            bucket.add(key)


def _remove_from(buckets: dict[str, set[Key]], key: Key, values: Iterable[str]) -> None:
    for value in values:
        bucket = buckets.get(value)
        if bucket is not None:
            bucket.discard(key)
            if not bucket:
                del buckets[value]
