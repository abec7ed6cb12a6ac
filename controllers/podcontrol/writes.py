"""
A reconciler's own last status write, kept until the cache catches up with it.

After ``update_status`` the cache still holds the version the write
replaced for a while. While it does, the write is the fresher copy: a sync
on the stale one would conflict for sure, and the write's own watch event
needs no sync. Kubernetes has no direct counterpart (its controllers take
the conflict and requeue); ``EndpointSliceTracker`` is the nearest.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from reconcile import ObjectKey, Resource, ResourceVersion

__all__ = ["StatusWrites"]

R = TypeVar("R", bound=Resource)


@attrs.define(eq=False)
class StatusWrites(Generic[R]):
    """Per key, the last status write and the resource version it replaced."""

    _last: dict[ObjectKey, tuple[ResourceVersion, R]] = attrs.field(factory=dict, init=False)

    def record(self, key: ObjectKey, replaced: ResourceVersion, written: R) -> None:
        """``written`` replaced version ``replaced`` of ``key``."""
        self._last[key] = (replaced, written)

    def fresher(self, key: ObjectKey, cached: R) -> R:
        """The last write while the cache still holds the version it replaced, else ``cached``."""
        last = self._last.get(key)
        if last is not None and last[0] == cached.metadata.resource_version:
            return last[1]
        return cached

    def wrote(self, obj: R) -> bool:
        """Whether ``obj`` (as the cache delivers it) is the last write itself."""
        last = self._last.get(obj.metadata.key)
        return (
            last is not None and last[1].metadata.resource_version == obj.metadata.resource_version
        )

    def forget(self, key: ObjectKey) -> None:
        """Drop the record of ``key`` (its object is gone)."""
        self._last.pop(key, None)
