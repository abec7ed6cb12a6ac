"""
The garbage collector's I/O half: read the caches, call :func:`~controllers.gc.plan.plan`, apply.

One :class:`~reconcile.Controller` per watched kind. Every event of any
watched kind enqueues, in each kind's controller, the object's dependents
(the cache's ``owner`` index) and its owners, besides the object itself, so
an owner's deletion wakes its dependents and a dependent's disappearance
wakes the owner that waits for it in the foreground. Each controller
enqueues every object of its kind when it starts, so owners deleted while
the collector was down are noticed: their dependents are checked against
the caches like any others.

Before deciding that an owner is gone, :class:`Collector` asks the API
server (``client.get``): the caches of two kinds are not synchronised with
each other, and a dependent seen before its freshly created owner must not
be collected (Kubernetes' collector verifies absence the same way). When
an owner is gone it also reads the dependent itself again: its cached owner
references may be stale (an Orphan deletion just removed them), and a
released dependent must not be collected for an owner it no longer has.

Applying is idempotent: deletes carry a uid precondition and a ``NotFound``
or uid conflict means the planned-for object is already gone (a conflict
while it is still there is retried); owner
references and finalizers are removed from a fresh read, written with its
resource version (a ``ConflictError`` requeues the key).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

import attrs

import reconcile
from controllers.gc.plan import (
    Delete,
    OwnerState,
    Plan,
    RemoveFinalizer,
    RemoveOwnerReferences,
    owner_key,
    owner_state,
    plan,
)
from controllers.planted import GC_DELETE_WITHOUT_UID_PRECONDITION, GC_TRUSTS_LAGGING_CACHE
from reconcile import (
    INDEX_OWNER,
    Client,
    NotFoundError,
    ObjectKey,
    Resource,
    Store,
    Uid,
    delete_by_uid,
    kind_of,
    planted,
)

__all__ = ["Collector", "StoreGraph", "apply"]

_Overlay = Mapping[tuple[type[Resource], ObjectKey], Resource | None]


@attrs.frozen
class StoreGraph:
    """A :class:`~controllers.gc.plan.Graph` over informer caches, with live reads on top."""

    stores: Mapping[type[Resource], Store[Resource]]
    overlay: _Overlay = attrs.field(factory=dict)
    _by_name: dict[tuple[str, str], type[Resource]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    def kind_for(self, api_version: str, kind: str) -> type[Resource] | None:
        """The graph's kind named by an owner reference's ``apiVersion`` and ``kind``."""
        group = api_version.rpartition("/")[0]
        by_name = self._by_name
        if not by_name:
            for k in self.stores:
                declared = kind_of(k)
                by_name[declared.group, declared.kind] = k
        return by_name.get((group, kind))

    def get(self, kind: type[Resource], key: ObjectKey) -> Resource | None:
        if (kind, key) in self.overlay:
            return self.overlay[kind, key]
        store = self.stores.get(kind)
        return None if store is None else store.get(key)

    def dependents(self, uid: Uid) -> Iterable[Resource]:
        for store in self.stores.values():
            yield from store.by_index(INDEX_OWNER, uid)


async def _fresh(client: Client, kind: type[Resource], key: ObjectKey, uid: Uid) -> Resource | None:
    try:
        obj = await client.get(kind, key)
    except NotFoundError:
        return None
    return obj if obj.metadata.uid == uid else None


async def apply(client: Client, actions: Plan) -> None:
    """Apply ``actions`` in order (see the module docstring for idempotence)."""
    for action in actions.actions:
        match action:
            case Delete(kind=kind, key=key, uid=uid, propagation=propagation):
                # Gone already, or recreated under the same name: not ours to delete.
                if planted(GC_DELETE_WITHOUT_UID_PRECONDITION):
                    with contextlib.suppress(NotFoundError):  # whatever now has that name
                        await client.delete(kind, key, propagation=propagation)
                    continue
                await delete_by_uid(client, kind, key, uid, propagation=propagation)
            case RemoveOwnerReferences(kind=kind, key=key, uid=uid, owners=owners):
                obj = await _fresh(client, kind, key, uid)
                if obj is not None:
                    meta = obj.metadata
                    for owner in sorted(owners):
                        meta = reconcile.remove_owner_reference(meta, owner)
                    if meta is not obj.metadata:
                        await client.update(attrs.evolve(obj, metadata=meta))
            case RemoveFinalizer(kind=kind, key=key, uid=uid, finalizer=finalizer):
                obj = await _fresh(client, kind, key, uid)
                if obj is not None:
                    meta = reconcile.remove_finalizer(obj.metadata, finalizer)
                    if meta is not obj.metadata:
                        await client.update(attrs.evolve(obj, metadata=meta))


@attrs.frozen
class Collector:
    """The :class:`~reconcile.Reconciler` of one kind's garbage collection."""

    client: Client
    kind: type[Resource]
    graph: StoreGraph

    async def reconcile(self, request: reconcile.Request) -> reconcile.Result:
        obj = self.graph.get(self.kind, request)
        if obj is None:
            return reconcile.Result.done()
        overlay = await self._confirm_absent_owners(obj)
        stale_ok = planted(GC_DELETE_WITHOUT_UID_PRECONDITION)  # acts on the cached read
        if any(owner is None for owner in overlay.values()) and not stale_ok:
            # An owner is gone: the cached dependent may be stale too (its owner
            # references removed since, by an Orphan deletion): decide on a live read.
            fresh = await _fresh(self.client, self.kind, request, obj.metadata.uid)
            if fresh is None:
                return reconcile.Result.done()
            if fresh.metadata.owner_references != obj.metadata.owner_references:
                obj, overlay = fresh, await self._confirm_absent_owners(fresh)
        graph = attrs.evolve(self.graph, overlay=overlay)
        await apply(self.client, plan(graph, [obj]))
        return reconcile.Result.done()

    async def _confirm_absent_owners(self, obj: Resource) -> _Overlay:
        """Live reads of the owners the caches do not hold (they may lag behind)."""
        overlay: dict[tuple[type[Resource], ObjectKey], Resource | None] = {}
        if planted(GC_TRUSTS_LAGGING_CACHE):
            return overlay  # the cache's word that an owner is gone is taken as final
        for ref in obj.metadata.owner_references:
            if owner_state(self.graph, obj, ref) is not OwnerState.DANGLING:
                continue
            owner_kind = self.graph.kind_for(ref.api_version, ref.kind)
            key = owner_key(self.graph, obj, ref)
            if owner_kind is None or key is None:
                continue
            try:
                overlay[owner_kind, key] = await self.client.get(owner_kind, key)
            except NotFoundError:
                overlay[owner_kind, key] = None
        return overlay
