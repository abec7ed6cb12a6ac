"""
Running cleanup before an object may go away: the finalizer protocol as one call.

:func:`with_finalizer` wraps a reconciler body the way kube-rs' ``finalizer()``
does: the body is split into ``apply`` (the object is alive: converge it) and
``cleanup`` (the object is being deleted: release what it holds), and the
helper owns the bookkeeping of the finalizer name in ``metadata.finalizers``
that makes the API server wait for ``cleanup``.

Expected flow
-------------

1. A new object is reconciled. It lacks the finalizer, so the helper adds it
   (``update`` carrying the object's ``resource_version``) and returns
   ``None`` *without* calling ``apply``; that write triggers the next
   reconcile.
2. The object is reconciled with the finalizer in place: ``apply`` runs and
   its result is returned.
3. Someone deletes the object. The API server only sets
   ``deletion_timestamp`` because our finalizer is present.
4. The object is reconciled while deleting: ``cleanup`` runs; when it
   returns, the finalizer is removed (a JSON patch that first tests that the
   uid and the finalizer at its index are unchanged), and the API server
   deletes the object if no other finalizer holds it. ``cleanup``'s result
   is returned.
5. A deleting object without our finalizer (cleanup already done, or never
   started) is left alone: nothing runs and ``None`` is returned.

Guarantees
----------

* ``apply`` never runs before the finalizer is persisted, so every object
  that ``apply`` touched gets a ``cleanup`` before it disappears.
* ``apply`` never runs on a deleting object, and ``cleanup`` runs only on a
  deleting object that still carries the finalizer.
* The finalizer is removed only after ``cleanup`` returned normally, and only
  from the same object (uid) it was cleaned up for.

Assumptions
-----------

* ``obj`` is as read from the cluster or a store (it carries its
  ``resource_version`` and ``uid``).
* ``cleanup`` is idempotent: if removing the finalizer fails, the next
  reconcile runs it again. ``apply`` is idempotent like any reconciler.
* ``name`` is a qualified name owned by this controller
  (``example.com/cleanup``). Object deletes get stuck while no controller is
  running to clean up: that is the point of a finalizer.

Errors
------

Exceptions from ``apply`` and ``cleanup`` propagate unchanged (and the
finalizer stays). Errors from the client propagate too: a ``ConflictError``
when adding (the object changed since it was read; retried at once) or an
``InvalidError`` when removing (the finalizer list changed meanwhile; retried
with backoff, running ``cleanup`` again). A ``NotFoundError`` when removing
means the object is already gone and is not an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
import structlog

from reconcile.cluster.client import Client, JsonPatch
from reconcile.errors import NotFoundError
from reconcile.model.frozen import freeze
from reconcile.model.kinds import Resource, kind_of
from reconcile.model.ownership import add_finalizer, has_finalizer

__all__ = ["with_finalizer"]

R = TypeVar("R", bound=Resource)
T = TypeVar("T")

_log = structlog.get_logger(__name__)


async def with_finalizer(
    client: Client,
    obj: R,
    name: str,
    *,
    apply: Callable[[R], Awaitable[T]],
    cleanup: Callable[[R], Awaitable[T]],
) -> T | None:
    """
    Reconcile ``obj`` behind the finalizer ``name`` (see the module docstring).

    Args:
        client: Where to write the finalizer.
        obj: The object being reconciled, as last read.
        name: The finalizer this controller owns.
        apply: Converges a live object; its result is returned.
        cleanup: Releases what a deleting object holds; its result is returned.

    Returns:
        What ``apply`` or ``cleanup`` returned, or ``None`` when neither ran
        (the finalizer was just added, or the object is deleting without it).

    Raises:
        ConflictError: Adding the finalizer raced with another write.
        InvalidError: Removing the finalizer raced with another finalizer change.
    """
    if not name:
        raise ValueError("name: a finalizer name is required")
    meta = obj.metadata
    present = has_finalizer(meta, name)
    match (meta.deleting, present):
        case (False, False):
            await client.update(attrs.evolve(obj, metadata=add_finalizer(meta, name)))
            _log.debug("finalizer.added", finalizer=name, kind=kind_of(obj).kind, key=str(obj.key))
            return None
        case (False, True):
            return await apply(obj)
        case (True, True):
            result = await cleanup(obj)
            await _remove(client, obj, name)
            return result
        case _:
            return None


async def _remove(client: Client, obj: Resource, name: str) -> None:
    meta = obj.metadata
    path = f"/metadata/finalizers/{meta.finalizers.index(name)}"
    operations = tuple(
        freeze(op)
        for op in (
            {"op": "test", "path": "/metadata/uid", "value": meta.uid},
            {"op": "test", "path": path, "value": name},
            {"op": "remove", "path": path},
        )
    )
    try:
        await client.patch(type(obj), obj.key, JsonPatch(operations=operations))
    except NotFoundError:
        _log.debug("finalizer.object_gone", finalizer=name, key=str(obj.key))
        return
    _log.debug("finalizer.removed", finalizer=name, kind=kind_of(obj).kind, key=str(obj.key))
