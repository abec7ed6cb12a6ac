"""
Deleting exactly the object a controller planned for, by uid.

A controller decides to delete an object from a cached copy; by the time it
asks, the name may belong to a new object, or the old one may be gone.
:func:`delete_by_uid` sends the delete with a uid precondition and reads a
409 Conflict carefully: if an object of that uid still holds the name (the
409 had another cause: a racing write, an overloaded server), the delete did
not happen and the caller must retry, so the conflict propagates; only when
the name is free or held by another object is the planned deletion moot.
Kubernetes' controllers retry every failed delete but ``NotFound`` the same way.
"""

from __future__ import annotations

from reconcile.cluster.client import Client, Preconditions, Propagation
from reconcile.errors import ConflictError, NotFoundError
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, Uid

__all__ = ["delete_by_uid"]


async def delete_by_uid(
    client: Client,
    kind: type[Resource],
    key: ObjectKey | str,
    uid: Uid,
    *,
    propagation: Propagation | None = None,
    grace_period_seconds: int | None = None,
) -> bool:
    """
    Delete the object of ``kind`` named ``key`` if it still has ``uid``.

    Returns ``True`` when the delete was accepted (the object is gone or
    marked for deletion) and ``False`` when no object of that uid exists.

    Raises:
        ConflictError: refused while the object of that uid is still there.
        ApiError: any other failure of the delete or of the re-read.
    """
    try:
        await client.delete(
            kind,
            key,
            propagation=propagation,
            preconditions=Preconditions(uid=uid),
            grace_period_seconds=grace_period_seconds,
        )
    except NotFoundError:
        return False
    except ConflictError:
        try:
            current = await client.get(kind, key)
        except NotFoundError:
            return False
        if current.metadata.uid != uid:
            return False
        raise
    return True
