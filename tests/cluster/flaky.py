"""A wrapper client that injects list and watch failures into a MemoryCluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from reconcile.cluster.client import (
    EventType,
    Fields,
    ObjectList,
    Selector,
    WatchEvent,
)
from reconcile.cluster.memory import MemoryCluster
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ResourceVersion

R = TypeVar("R", bound=Resource)


class FlakyClient:
    """
    Delegates to a MemoryCluster, but fails where a test says so.

    * ``list_failures``: raised, in order, by the next ``list`` calls;
    * ``watch_failures``: raised, in order, when the next watch streams start;
    * ``break_streams(exc)``: the open stream raises ``exc`` instead of
      delivering its next event (the event is lost in transit);
    * ``end_streams_after``: each stream ends cleanly after this many events;
    * ``bookmark``: each stream first yields a BOOKMARK with this version.

    Every call is recorded with the clock time it happened at (rounded to microseconds).
    """

    def __init__(self, cluster: MemoryCluster) -> None:
        self.cluster = cluster
        self.list_failures: list[Exception] = []
        self.watch_failures: list[Exception] = []
        self.end_streams_after: int | None = None
        self.bookmark: ResourceVersion | None = None
        self.lists: list[float] = []
        self.watches: list[tuple[float, ResourceVersion | None]] = []
        self._break: Exception | None = None

    def break_streams(self, exc: Exception) -> None:
        """Make the open stream fail when its next event arrives."""
        self._break = exc

    async def get(self, kind: type[R], key: ObjectKey | str, *, namespace: str = "") -> R:
        return await self.cluster.get(kind, key, namespace=namespace)

    async def list(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
    ) -> ObjectList[R]:
        self.lists.append(round(self.cluster.clock.time(), 6))
        if self.list_failures:
            raise self.list_failures.pop(0)
        return await self.cluster.list(kind, namespace=namespace, labels=labels, fields=fields)

    async def watch(
        self,
        kind: type[R],
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Fields = None,
        since: ResourceVersion | None = None,
        bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent[R]]:
        self.watches.append((round(self.cluster.clock.time(), 6), since))
        if self.watch_failures:
            raise self.watch_failures.pop(0)
        if self.bookmark is not None:
            yield WatchEvent(type=EventType.BOOKMARK, object=None, resource_version=self.bookmark)
        delivered = 0
        stream = self.cluster.watch(
            kind,
            namespace=namespace,
            labels=labels,
            fields=fields,
            since=since,
            bookmarks=bookmarks,
        )
        try:
            async for event in stream:
                if self._break is not None:
                    exc, self._break = self._break, None
                    raise exc
                yield event
                delivered += 1
                if self.end_streams_after is not None and delivered >= self.end_streams_after:
                    return
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
