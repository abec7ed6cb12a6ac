"""
One kind's storage in the in-memory API server: objects, history and watchers.

Design (why a write costs the same with one watcher or a hundred):

* the history is one list of committed :class:`WatchEvent` per kind, shared
  by every watcher; a watcher holds only an absolute position in it;
* ``base`` is the absolute position of ``log[0]``; when the log reaches
  twice the retention it drops its oldest half in one slice, so trimming is
  amortised O(1) per write, and a watcher whose position falls below
  ``base`` has missed events and gets ``ExpiredError``;
* a watcher with nothing to read parks on its own future; a commit wakes the
  parked ones (usually none, so the common case is one emptiness test), and
  a woken watcher then reads everything committed since, in one batch.

Each watcher owns its future, so cancelling one watcher never disturbs
another (awaiting a shared future would cancel it for everybody).
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import attrs

from reconcile.cluster._replace import replacer
from reconcile.cluster.client import EventType, Fields, Selector, WatchEvent
from reconcile.errors import ExpiredError, FieldError, InvalidError
from reconcile.model.fields import FieldSelector
from reconcile.model.kinds import Kind, Resource, kind_of, spec_fields
from reconcile.model.meta import ResourceVersion
from reconcile.model.selectors import LabelSelector

__all__ = ["Match", "Table", "bookmark", "matcher"]

Match = Callable[[Resource], bool]


class Table:
    """Objects and bounded history of one kind (all attributes are the server's to use)."""

    __slots__ = (
        "base",
        "cls",
        "compacted",
        "has_status",
        "history",
        "kind",
        "log",
        "namespaced",
        "objects",
        "previous",
        "replace",
        "rvs",
        "sorted_keys",
        "spec_fields",
        "status_is_spec",
        "status_rule",
        "status_subresource",
        "waiters",
        "watchers",
    )

    def __init__(self, cls: type[Resource], *, history: int) -> None:
        self.cls = cls
        self.kind: Kind = kind_of(cls)
        self.namespaced = self.kind.namespaced
        self.has_status = "status" in attrs.fields_dict(cls)
        self.status_subresource = self.kind.status_subresource and self.has_status
        self.status_is_spec = self.has_status and not self.status_subresource
        """A ``status`` field that ``update`` writes (it still never bumps ``generation``)."""
        self.status_rule = self.kind.status_on_update if self.status_subresource else None
        self.spec_fields = spec_fields(cls)
        self.replace: Callable[..., Any] = replacer(cls)
        self.history = history
        self.objects: dict[tuple[str, str], Resource] = {}
        self.log: list[WatchEvent[Resource]] = []
        self.rvs: list[int] = []  # rvs[i] is int(log[i].resource_version)
        self.previous: list[Resource | None] = []  # the state log[i] replaced
        self.sorted_keys: list[tuple[str, str]] | None = None  # reset by creates and deletes
        self.base = 0
        self.compacted = 0  # history with resource versions <= compacted may be gone
        self.waiters: list[asyncio.Future[None]] = []
        self.watchers = 0

    def append(self, event: WatchEvent[Resource], rv: int, previous: Resource | None) -> None:
        """
        Record a committed event, trim the history and wake parked watchers.

        ``previous`` is the object's state before the event: a filtered watch
        needs it to tell "changed and still matches" from "stopped matching".
        """
        log = self.log
        log.append(event)
        self.rvs.append(rv)
        self.previous.append(previous)
        if len(log) >= 2 * self.history:
            drop = len(log) - self.history
            self.compacted = self.rvs[drop - 1]
            del log[:drop]
            del self.rvs[:drop]
            del self.previous[:drop]
            self.base += drop
        if self.waiters:
            waiters, self.waiters = self.waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def compact(self, rv: int) -> None:
        """Drop all retained history; ``rv`` is the newest resource version of the cluster."""
        self.base += len(self.log)
        self.log.clear()
        self.rvs.clear()
        self.previous.clear()
        self.compacted = rv

    def default_status(self, obj: Resource | None = None) -> Any:
        """What ``create`` stores as the ``status`` of ``obj`` under a status subresource."""
        if obj is not None and self.kind.initial_status is not None:
            return self.kind.initial_status(obj)
        default = attrs.fields_dict(self.cls)["status"].default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            return default.factory()  # type: ignore[union-attr]
        return default

    def parse_since(self, since: str, *, newest: int) -> int:
        """
        A ``since`` resource version as an integer.

        Raises:
            InvalidError: if it is not a resource version at all.
            ExpiredError: if it is newer than ``newest`` (the cluster has not reached it).
        """
        try:
            rv = int(since)
        except ValueError:
            rv = -1
        if rv < 0:
            cause = FieldError(
                field="resourceVersion", value=since, detail="not a resource version"
            )
            raise InvalidError(self.kind.kind, "", [cause])
        if rv > newest:
            raise ExpiredError(f"too large resource version: {rv}, current: {newest}")
        return rv

    def position_after(self, rv: int) -> int:
        """
        The absolute log position of the first event newer than ``rv``.

        Raises:
            ExpiredError: if events newer than ``rv`` have been compacted away.
        """
        if rv < self.compacted:
            raise ExpiredError(f"too old resource version: {rv} ({self.compacted})")
        return self.base + bisect.bisect_right(self.rvs, rv)

    @property
    def end(self) -> int:
        """The absolute position after the newest event."""
        return self.base + len(self.log)

    def select(self, match: Match | None) -> tuple[Resource, ...]:
        """Matching objects in key order."""
        keys = self.sorted_keys
        if keys is None:
            keys = self.sorted_keys = sorted(self.objects)
        objects = self.objects
        if match is None:
            return tuple([objects[k] for k in keys])
        return tuple([obj for k in keys if match(obj := objects[k])])

    async def follow(
        self,
        position: int,
        match: Match | None,
        *,
        bookmarks: bool,
        initial: Sequence[WatchEvent[Resource]] = (),
    ) -> AsyncIterator[WatchEvent[Resource]]:
        """
        ``initial``, then every event from ``position`` on that ``match`` accepts, forever.

        With ``bookmarks``, a batch whose last event was filtered out is
        followed by a ``BOOKMARK`` carrying that event's resource version.

        Raises:
            ExpiredError: once the events at ``position`` have been trimmed.
        """
        self.watchers += 1
        try:
            for event in initial:
                yield event
            while True:
                base = self.base
                if position < base:
                    raise ExpiredError("too old resource version: the watch fell behind history")
                log = self.log
                end = base + len(log)
                if position == end:
                    waiter = asyncio.get_running_loop().create_future()
                    self.waiters.append(waiter)
                    try:
                        await waiter
                    finally:
                        waiter.cancel()  # no-op once resolved
                    continue
                start = position - base
                batch = log[start:]
                position = end
                if match is None:
                    for event in batch:
                        yield event
                    continue
                sent = False
                for event, previous in zip(batch, self.previous[start:], strict=True):
                    out = _filtered(event, previous, match)
                    sent = out is not None
                    if out is not None:
                        yield out
                if bookmarks and not sent:
                    yield bookmark(batch[-1].resource_version)
        finally:
            self.watchers -= 1


def _filtered(
    event: WatchEvent[Resource], previous: Resource | None, match: Match
) -> WatchEvent[Resource] | None:
    """
    What a filtered watch sees of ``event``, as the Kubernetes API server shows it.

    An update that makes an object start matching arrives as ``ADDED``; one
    that makes it stop matching arrives as ``DELETED`` of the state that
    matched (at the update's resource version), so a cache filtered by the
    same selector drops it.
    """
    obj = event.object
    assert obj is not None
    now = match(obj)
    if event.type is not EventType.MODIFIED or previous is None:
        return event if now else None
    before = match(previous)
    if now and before:
        return event
    if now:
        return WatchEvent(type=EventType.ADDED, object=obj, resource_version=event.resource_version)
    if before:
        gone = attrs.evolve(
            previous,
            metadata=attrs.evolve(previous.metadata, resource_version=event.resource_version),
        )
        return WatchEvent(
            type=EventType.DELETED, object=gone, resource_version=event.resource_version
        )
    return None


def bookmark(rv: ResourceVersion) -> WatchEvent[Any]:
    """A ``BOOKMARK`` event at ``rv``."""
    return WatchEvent(type=EventType.BOOKMARK, object=None, resource_version=rv)


def matcher(kind: Kind, namespace: str | None, labels: Selector, fields: Fields) -> Match | None:
    """The filter for a list or watch (``None`` when it lets everything through)."""
    try:
        label_selector = LabelSelector.parse(labels) if isinstance(labels, str) else labels
    except ValueError as exc:
        raise InvalidError(
            kind.kind, "", [FieldError(field="labelSelector", value=labels, detail=str(exc))]
        ) from exc
    try:
        field_selector = FieldSelector.parse(fields) if isinstance(fields, str) else fields
    except ValueError as exc:
        raise InvalidError(
            kind.kind, "", [FieldError(field="fieldSelector", value=fields, detail=str(exc))]
        ) from exc
    if label_selector is not None and label_selector.is_empty:
        label_selector = None
    if field_selector is not None:
        known = kind.selectable_fields
        unknown = sorted({r.field for r in field_selector.requirements} - known)
        if unknown:
            raise InvalidError(
                kind.kind,
                "",
                [
                    FieldError(
                        field="fieldSelector",
                        type="Not found",
                        value=name,
                        detail=f'"{name}" is not a known field selector for {kind.kind}: only '
                        f"{', '.join(sorted(known))}",
                    )
                    for name in unknown
                ],
            )
        if not field_selector.requirements:
            field_selector = None
    ns = namespace if (namespace and kind.namespaced) else None
    if ns is None and label_selector is None and field_selector is None:
        return None

    def match(obj: Resource) -> bool:
        meta = obj.metadata
        if ns is not None and meta.namespace != ns:
            return False
        if label_selector is not None and not label_selector.matches(meta.labels):
            return False
        return field_selector is None or field_selector.matches(kind.fields_of(obj))

    return match
