"""
The perturbed watch stream behind :class:`~reconcile.cluster.faulty.FaultyClient`.

A :class:`Stream` wraps one server watch. A pump task (owned by the stream,
cancelled when it closes) moves server events into a queue; the consumer's
side takes them out and passes each through, in this order:

1. **lag**: while the client is a lagging replica, events newer than its
   snapshot wait in ``held``;
2. **coalesce**: while on, released events wait in ``merging``; when it goes
   off they are merged by :func:`coalesced` into each object's last state;
3. **drop**, **reorder**, **duplicate**, decided per event.

Invariants (each one is what keeps an informer's cache exact once the
faults stop, and each is tested):

* per-object order: a reordered event is swapped only with an event of
  another object, and released as soon as reordering stops;
* the consumer's resource version never passes an event still held: a
  bookmark waits behind an event held for reordering (lag and coalesce hold
  bookmarks with the events), and a swapped pair is handed over back to
  back, in one batch;
* nothing is delivered after a lost event: the rest of its batch is lost
  with the connection, and the stream ends with 410 ``ExpiredError`` at
  once if more events were in the batch, or at its next event otherwise.
  The consumer's resource version therefore still precedes the lost event,
  so any re-watch or relist brings it back.

The client's switches reach open streams through :class:`Switchboard`, the
state the two share, and wake them with :class:`Signal`.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable, Mapping
from random import Random
from typing import TYPE_CHECKING, Any, final

import attrs

from reconcile.cluster.client import EventType, WatchEvent
from reconcile.errors import ApiError, ExpiredError, ServerError
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, Uid
from reconcile.primitives.clock import Clock

if TYPE_CHECKING:
    from reconcile.cluster.faulty import ClientFaults

__all__ = ["Record", "Signal", "Stream", "Switchboard", "coalesced"]

Record = Callable[[Mapping[str, Any]], None]
"""Receives one trace entry (a JSON-ready mapping) per fault decision, write and delivery."""

Event = WatchEvent[Resource]


class Signal(enum.Enum):
    """Out-of-band messages from the client to its open streams."""

    WAKE = "wake"  # the switches changed: release what may now flow
    EXPIRE = "expire"  # end the stream with 410
    DEAD = "dead"  # the component crashed


@final
@attrs.define(eq=False, kw_only=True)
class Switchboard:
    """The state a client's switches set and its streams read."""

    name: str
    clock: Clock
    rng: Random
    record: Record | None
    faults: ClientFaults
    lag_cut: int | None = None
    """The lagging replica's resource version (``None``: not lagging)."""
    lag_kinds: frozenset[str] | None = None
    """The kinds whose watches lag (``None``: every kind, a lagging replica)."""
    dropped: bool = False
    """Some stream lost an event since the last heal."""
    crashed: bool = False
    epoch: int = 0
    """Counts ``expire_watches``: a stream opened in an older epoch starts expired."""
    opened: int = 0
    """Streams opened so far (numbers them in trace entries)."""
    streams: dict[Stream, None] = attrs.field(factory=dict)
    """Open streams, in the order they opened (a set's order would vary between runs)."""

    def cut_for(self, kind: str) -> int | None:
        """The version ``kind``'s watch events are held beyond, if they are."""
        if self.lag_kinds is not None and kind not in self.lag_kinds:
            return None
        return self.lag_cut

    def chance(self, rate: float) -> bool:
        """One random decision (no draw at all when the rate is 0, so traces stay stable)."""
        return rate > 0.0 and self.rng.random() < rate

    def note(self, **entry: Any) -> None:
        if self.record is not None:
            self.record({"t": self.clock.time(), "component": self.name, **entry})

    def signal(self, signal: Signal) -> None:
        for stream in list(self.streams):
            stream.signal(signal)


_Item = Event | Signal | BaseException
_NONE_HELD = float("inf")


@final
class Stream:
    """
    One perturbed watch stream (see the module docstring).

    Args:
        board: The client's switches.
        kind: The kind's name, for trace entries.
        inner: The server's stream.
        initial: Events delivered before the server's (a lagging replica's snapshot).
    """

    def __init__(
        self,
        board: Switchboard,
        kind: str,
        inner: AsyncIterator[Event],
        initial: list[Event],
    ) -> None:
        self._board = board
        self._kind = kind
        self._inner = inner
        self._epoch = board.epoch
        board.opened += 1
        self._number = board.opened
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        for event in initial:
            self._queue.put_nowait(event)
        self._held: list[Event] = []  # newer than a lagging replica
        self._held_min = _NONE_HELD  # the oldest held version: a long lag costs O(1) per event
        self._merging: list[Event] = []  # waiting to be coalesced
        self._swapped: Event | None = None  # waiting to be reordered
        self._bookmark: Event | None = None  # waiting behind the swapped event
        self._broken = False  # an event was lost: end at the next one

    def signal(self, signal: Signal) -> None:
        self._queue.put_nowait(signal)

    @property
    def holding(self) -> int:
        """Events held back (lagging, coalescing or waiting for a swap)."""
        return len(self._held) + len(self._merging) + (self._swapped is not None)

    async def events(self) -> AsyncIterator[Event]:
        """The perturbed events; closing the iterator cancels the pump."""
        board = self._board
        board.streams[self] = None
        pump = asyncio.get_running_loop().create_task(self._pump())
        try:
            # Switches flipped between watch() and the first read still apply.
            if board.crashed:
                raise ServerError(f"{board.name} has crashed")
            if board.epoch != self._epoch:
                raise ExpiredError("watch expired (injected): too old resource version")
            while True:
                item = await self._queue.get()
                if isinstance(item, BaseException):
                    raise item
                if item is Signal.EXPIRE:
                    raise ExpiredError("watch expired (injected): too old resource version")
                if item is Signal.DEAD:
                    raise ServerError(f"{board.name} has crashed")
                if isinstance(item, WatchEvent):
                    if self._broken:
                        raise ExpiredError("watch expired after a lost event (injected)")
                    self._arrive(item)
                out, lost_more = self._release()
                for event in out:
                    yield event
                if lost_more:
                    raise ExpiredError("watch expired after a lost event (injected)")
        finally:
            board.streams.pop(self, None)
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    async def _pump(self) -> None:
        try:
            async for event in self._inner:
                self._queue.put_nowait(event)
        except (ApiError, OSError) as exc:
            self._queue.put_nowait(exc)
        finally:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()

    def _arrive(self, event: Event) -> None:
        cut = self._board.cut_for(self._kind)
        if cut is not None and _rv(event) > cut:
            self._note("lagged", event)
        self._held.append(event)
        self._held_min = min(self._held_min, _rv(event))

    def _release(self) -> tuple[list[Event], bool]:
        """
        What may be delivered now, perturbed by the current switches.

        Returns the events and whether an event was lost with more behind it
        (the stream must then end at once).
        """
        board, faults = self._board, self._board.faults
        cut = board.cut_for(self._kind)
        if cut is not None and self._held_min > cut:
            ready = []
        elif cut is not None:
            ready = [e for e in self._held if _rv(e) <= cut]
            self._held = [e for e in self._held if _rv(e) > cut]
            self._held_min = min((_rv(e) for e in self._held), default=_NONE_HELD)
        else:
            ready, self._held, self._held_min = self._held, [], _NONE_HELD
        if faults.coalesce:
            self._merging.extend(ready)
            return [], False
        if self._merging:
            merged, self._merging = [*self._merging, *ready], []
            ready = coalesced(merged, on_merged=lambda e: self._note("coalesced", e))
        out: list[Event] = []
        for index, event in enumerate(ready):
            if event.object is None:
                self._pass_bookmark(event, out)
                continue
            if board.chance(faults.drop_rate):
                # A watch loses events only with its connection: what follows
                # in the batch is lost too, and the consumer must relist.
                board.dropped = self._broken = True
                self._note("dropped", event)
                return out, index + 1 < len(ready)
            if self._swapped is None and board.chance(faults.reorder_rate):
                self._swapped = event
                self._note("held_for_reorder", event)
                continue
            if self._swapped is not None:
                held, self._swapped = self._swapped, None
                for each in [held, event] if _key(held) == _key(event) else [event, held]:
                    self._emit(each, out)
                self._flush_bookmark(out)
                continue
            self._emit(event, out)
            if board.chance(faults.duplicate_rate):
                self._note("duplicated", event)
                self._emit(event, out)
        if self._swapped is not None and not faults.reorder_rate:
            self._emit(self._swapped, out)
            self._swapped = None
            self._flush_bookmark(out)
        return out, False

    def _pass_bookmark(self, bookmark: Event, out: list[Event]) -> None:
        if self._swapped is None:
            self._emit(bookmark, out)
        else:
            self._bookmark = bookmark  # behind the held event (a newer one replaces it)
            self._note("bookmark_held", bookmark)

    def _flush_bookmark(self, out: list[Event]) -> None:
        if self._bookmark is not None:
            self._emit(self._bookmark, out)
            self._bookmark = None

    def _emit(self, event: Event, out: list[Event]) -> None:
        out.append(event)
        self._note("delivered", event)

    def _note(self, what: str, event: Event) -> None:
        if self._board.record is None:
            return
        key = str(event.object.metadata.key) if event.object is not None else ""
        self._board.note(
            watch=what, stream=self._number, kind=self._kind, type=event.type.value,
            key=key, rv=str(event.resource_version),
        )  # fmt: skip


def _rv(event: Event) -> int:
    return int(event.resource_version or 0)


def _key(event: Event) -> ObjectKey | None:
    return event.object.metadata.key if event.object is not None else None


def coalesced(
    events: list[Event], *, on_merged: Callable[[Event], None] | None = None
) -> list[Event]:
    """
    Merge a batch of events into the last state of each object, in order of last change.

    Kubernetes' counterpart is a watcher that fell behind and caught up
    through a relist diff: only final states are observed.

    Guarantees:
        * every object's final state in the batch is delivered, except that
          of an object the consumer did not have before the batch (its first
          event is ``ADDED``) and that ends deleted: it disappears entirely;
        * an object the consumer did not have arrives as ``ADDED``, one it
          had as ``MODIFIED`` (or ``DELETED`` if it ends deleted), also when
          a filtered watch saw it leave and rejoin within the batch;
        * resource versions increase along the result; a bookmark survives
          only as the batch's last resource version, if newer than the rest.

    Args:
        events: The batch, in commit order.
        on_merged: Told of every event that does not appear in the result.
    """
    first: dict[tuple[ObjectKey, Uid], EventType] = {}
    last: dict[tuple[ObjectKey, Uid], Event] = {}
    bookmark: Event | None = None
    for event in events:
        if event.object is None:
            if bookmark is not None and on_merged is not None:
                on_merged(bookmark)
            bookmark = event
            continue
        ident = (event.object.metadata.key, event.object.metadata.uid)
        first.setdefault(ident, event.type)
        before = last.pop(ident, None)  # re-inserted last: order of last change
        if before is not None and on_merged is not None:
            on_merged(before)
        last[ident] = event
    out: list[Event] = []
    for seen, event in last.items():
        had = first[seen] is not EventType.ADDED
        if event.type is EventType.DELETED:
            if had:
                out.append(event)
            elif on_merged is not None:
                on_merged(event)
            continue
        wanted = EventType.MODIFIED if had else EventType.ADDED
        out.append(event if event.type is wanted else attrs.evolve(event, type=wanted))
    if bookmark is not None:
        if not out or _rv(bookmark) > _rv(out[-1]):
            out.append(bookmark)
        elif on_merged is not None:
            on_merged(bookmark)
    return out
