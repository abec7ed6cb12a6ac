"""
Read your own writes through a cache that may lag behind them.

A controller that writes an object and syncs again before its informer has
delivered that write reads the version its write replaced: it plans on a
state that no longer exists (a Deployment controller counting a ReplicaSet
at its old size, and surging past its bound). :class:`OwnWrites` remembers
each object as the controller's last write left it, with the versions that
write replaced; :meth:`OwnWrites.fresher` returns the written copy while
the cache still holds one of those versions, and forgets it as soon as the
cache holds anything else (the write itself, or a later one by anyone).

Resource versions are compared for equality only, so they stay opaque.
"""

from __future__ import annotations

from typing import Generic, TypeVar, final

from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ResourceVersion, Uid

__all__ = ["OwnWrites"]

R = TypeVar("R", bound=Resource)


@final
class OwnWrites(Generic[R]):
    """The objects of one kind as this controller's own writes left them (see the module)."""

    def __init__(self, *, limit: int = 4096) -> None:
        """
        Remember at most ``limit`` objects: an object deleted by someone else is
        never read again, so the oldest entries are let go (a cache catches up
        within moments; an entry that old protects nothing).
        """
        if limit < 1:
            raise ValueError(f"limit: must be >= 1, got {limit}")
        self._limit = limit
        # key -> (uid, the versions our writes replaced since the cache caught up, last written)
        self._written: dict[ObjectKey, tuple[Uid, frozenset[ResourceVersion], R]] = {}

    def __len__(self) -> int:
        return len(self._written)

    def record(self, before: R, after: R) -> None:
        """
        Our write of ``before`` (the version we read) succeeded and returned ``after``.

        Writes in a row before the cache catches up accumulate: the cache may
        show any version they replaced, or one of the earlier writes.
        """
        key = after.metadata.key
        found = self._written.get(key)
        replaced: frozenset[ResourceVersion] = frozenset({before.metadata.resource_version})
        if found is not None and found[0] == after.metadata.uid:
            # The cache may still show any of them, or our earlier write itself.
            replaced |= found[1] | {found[2].metadata.resource_version}
        self._written.pop(key, None)  # re-inserted last: the oldest entry goes first
        self._written[key] = (after.metadata.uid, replaced, after)
        if len(self._written) > self._limit:
            del self._written[next(iter(self._written))]

    def fresher(self, cached: R) -> R:
        """``cached``, or our later write of it while the cache holds a version that replaced."""
        key = cached.metadata.key
        found = self._written.get(key)
        if found is None:
            return cached
        uid, replaced, written = found
        if uid == cached.metadata.uid and cached.metadata.resource_version in replaced:
            return written
        del self._written[key]  # the cache caught up (or someone wrote since): trust it
        return cached

    def forget(self, key: ObjectKey) -> None:
        """Drop what is remembered of ``key`` (the object is gone)."""
        self._written.pop(key, None)
