"""
The work queue between event handlers and reconcile workers.

This is client-go's ``util/workqueue`` (``queue.go``, ``delaying_queue.go``,
``rate_limiting_queue.go``) for asyncio. Its four promises:

* **Fair:** items are handed out in the order they were added (FIFO).
* **Stingy:** an item added many times before it is processed is processed
  once (the *dirty* set). Concurrent adds of an item that is *being*
  processed coalesce into exactly one re-run, queued when ``done`` is called.
* **Multiple producers and consumers:** any number of tasks may ``add`` and
  ``get``; an item is never handed to two consumers at once (the
  *processing* set).
* **Shutdown:** ``shutdown()`` stops accepting adds and wakes blocked
  getters. Items already queued are still handed out; ``get`` raises
  :class:`ShutDown` only once the queue is empty. ``shutdown_with_drain()``
  also waits until no item is being processed.

Every queued item is dirty and not processing; every ``get`` must be paired
with a ``done`` (put it in ``finally``).

On top of that, ``add_after`` parks an item until a deadline (if it is
already parked, the *earliest* deadline wins), and ``add_rate_limited`` is
``add_after(item, rate_limiter.when(item))``; ``forget`` clears the limiter's
memory of the item without dequeuing it.

Design: the queue is a deque plus two sets. ``get`` takes an item without
suspending when one is available; only a getter that must block creates a
future. Parked items live in a min-heap of ``(ready_at, seq, item)`` with a
dict holding each item's live entry (superseded entries are skipped lazily).
A single ``loop.call_later`` timer is armed for the earliest deadline and
re-armed when it fires, so no background task exists and nothing is left
behind when the loop closes. The ``clock`` must advance with the event loop's
time (true of ``SystemClock`` and ``VirtualClock``); deadlines are measured
with ``clock.time()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import time
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar, final

import attrs

from reconcile.primitives.clock import Clock
from reconcile.primitives.ratelimit import RateLimiter, default_rate_limiter

__all__ = ["QueueEmpty", "ShutDown", "WorkQueue", "WorkQueueStatistics"]

T = TypeVar("T", bound=Hashable)

_RESOLUTION = time.get_clock_info("monotonic").resolution
"""asyncio runs timers this early; deadlines within it count as reached."""


class ShutDown(Exception):  # noqa: N818  # the name mirrors client-go's ``shutdown`` flag
    """The queue is shut down and has no items left to hand out."""


class QueueEmpty(asyncio.QueueEmpty):
    """``get_nowait`` found no item ready (and the queue is not shut down)."""


@attrs.frozen(kw_only=True)
class WorkQueueStatistics:
    """
    A snapshot of a :class:`WorkQueue`.

    Attributes:
        depth: Items waiting to be handed out.
        processing: Items handed out and not yet ``done``.
        dirty: Items that need processing (queued, or re-added while processing).
        delayed: Items parked by ``add_after`` until their deadline.
        adds: Accepted ``add`` calls, including parked items becoming ready.
        deduplicated: Accepted adds that coalesced into an already dirty item.
        retries: Calls to ``add_rate_limited``.
        shutting_down: Whether ``shutdown`` has been called.
        next_due: Clock time (``loop.time()``) at which the first parked item
            becomes ready; ``None`` when nothing is parked.
    """

    depth: int
    processing: int
    dirty: int
    delayed: int
    adds: int
    deduplicated: int
    retries: int
    shutting_down: bool
    next_due: float | None = None


@final
@attrs.define(eq=False, kw_only=True)
class WorkQueue(Generic[T]):
    """
    A fair, deduplicating, delaying, rate-limited work queue.

    Expected flow for a worker::

        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await sync(key)
            except Exception:
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    Args:
        clock: Measures ``add_after`` deadlines.
        rate_limiter: Decides ``add_rate_limited`` delays; defaults to
            :func:`~reconcile.primitives.ratelimit.default_rate_limiter`.
    """

    _clock: Clock = attrs.field(alias="clock")
    _rate_limiter: RateLimiter = attrs.field(
        alias="rate_limiter",
        default=attrs.Factory(lambda self: default_rate_limiter(self._clock), takes_self=True),
    )
    _queue: deque[T] = attrs.field(factory=deque, init=False)
    _dirty: set[T] = attrs.field(factory=set, init=False)
    _processing: set[T] = attrs.field(factory=set, init=False)
    _getters: deque[asyncio.Future[None]] = attrs.field(factory=deque, init=False)
    _drainers: list[asyncio.Future[None]] = attrs.field(factory=list, init=False)
    _shutting_down: bool = attrs.field(default=False, init=False)
    # Delaying: heap of (ready_at, seq, item); _waiting maps item -> its live (ready_at, seq).
    _heap: list[tuple[float, int, T]] = attrs.field(factory=list, init=False)
    _waiting: dict[T, tuple[float, int]] = attrs.field(factory=dict, init=False)
    _seq: int = attrs.field(default=0, init=False)
    _timer: asyncio.TimerHandle | None = attrs.field(default=None, init=False)
    _timer_at: float = attrs.field(default=math.inf, init=False)
    _adds: int = attrs.field(default=0, init=False)
    _deduplicated: int = attrs.field(default=0, init=False)
    _retries: int = attrs.field(default=0, init=False)

    def __len__(self) -> int:
        """Return the number of items waiting to be handed out."""
        return len(self._queue)

    def add(self, item: T) -> None:
        """
        Mark ``item`` as needing processing; ignored after shutdown.

        A queued item is not queued twice; an item being processed is queued
        again (once) when its ``done`` is called.

        Args:
            item: The item to process.
        """
        if self._shutting_down:
            return
        self._adds += 1
        if item in self._dirty:
            self._deduplicated += 1
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        if self._getters:
            self._wake_getter()

    def get_nowait(self) -> T:
        """
        Take the next item without waiting; the caller must call ``done`` with it.

        Returns:
            The oldest queued item, now marked as processing.

        Raises:
            QueueEmpty: If no item is queued.
            ShutDown: If no item is queued and the queue is shut down.
        """
        if self._queue:
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            return item
        if self._shutting_down:
            raise ShutDown
        raise QueueEmpty

    async def get(self) -> T:
        """
        Take the next item, waiting for one; the caller must call ``done`` with it.

        Returns at once, without suspending, when an item is queued.

        Returns:
            The oldest queued item, now marked as processing.

        Raises:
            ShutDown: Once the queue is shut down and empty.
        """
        queue = self._queue
        if queue:
            item = queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            return item
        return await self._get_blocking()

    async def _get_blocking(self) -> T:
        loop = asyncio.get_running_loop()
        first = True
        while not self._queue:
            if self._shutting_down:
                raise ShutDown
            fut: asyncio.Future[None] = loop.create_future()
            if first:
                self._getters.append(fut)
            else:  # woken, but another consumer took the item: keep our turn
                self._getters.appendleft(fut)
            first = False
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    if self._queue:
                        self._wake_getter()  # pass on the wake-up we will not use
                else:
                    with contextlib.suppress(ValueError):
                        self._getters.remove(fut)
                raise
        return self.get_nowait()

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            fut = getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def done(self, item: T) -> None:
        """
        Finish processing ``item``; if it was added meanwhile, queue it again.

        Args:
            item: An item returned by ``get`` or ``get_nowait``.

        Raises:
            ValueError: If ``item`` is not being processed.
        """
        try:
            self._processing.remove(item)
        except KeyError:
            raise ValueError(f"done({item!r}): item is not being processed") from None
        if item in self._dirty:
            self._queue.append(item)
            if self._getters:
                self._wake_getter()
        elif self._drainers and not self._processing:
            self._wake_drainers()

    def add_after(self, item: T, delay: float) -> None:
        """
        Add ``item`` once ``delay`` seconds have passed; ignored after shutdown.

        If ``item`` is already parked, the earlier deadline wins.

        Args:
            item: The item to process.
            delay: Seconds to wait; ``<= 0`` adds at once.

        Raises:
            ValueError: If ``delay`` is NaN or infinite.
            RuntimeError: If a positive delay is requested outside a running event loop.
        """
        if self._shutting_down:
            return
        if not math.isfinite(delay):
            raise ValueError(f"delay: must be finite, got {delay!r}")
        if delay <= 0:
            self.add(item)
            return
        ready_at = self._clock.time() + delay
        current = self._waiting.get(item)
        if current is not None and current[0] <= ready_at:
            return
        self._seq += 1
        self._waiting[item] = (ready_at, self._seq)
        heapq.heappush(self._heap, (ready_at, self._seq, item))
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._waiting):
            self._heap = [(at, seq, it) for it, (at, seq) in self._waiting.items()]
            heapq.heapify(self._heap)
        if ready_at < self._timer_at:
            self._arm()

    def add_rate_limited(self, item: T) -> float | None:
        """
        Add ``item`` after the delay its rate limiter decides; ignored after shutdown.

        Args:
            item: The item that failed and should be retried.

        Returns:
            The delay in seconds, or ``None`` when the queue is shutting down.
        """
        if self._shutting_down:
            return None
        self._retries += 1
        delay = self._rate_limiter.when(item)
        self.add_after(item, delay)
        return delay

    def forget(self, item: T) -> None:
        """Clear the rate limiter's history of ``item`` (does not dequeue it)."""
        self._rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """Return how often ``item`` was rate-limited since it was last forgotten."""
        return self._rate_limiter.num_requeues(item)

    def _arm(self) -> None:
        """Point the one timer at the earliest live deadline (or cancel it)."""
        heap, waiting = self._heap, self._waiting
        while heap and waiting.get(heap[0][2], (0.0, 0))[1] != heap[0][1]:
            heapq.heappop(heap)  # superseded entry
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf
        if heap:
            ready_at = heap[0][0]
            loop = asyncio.get_running_loop()
            delay = max(0.0, ready_at - self._clock.time())
            self._timer = loop.call_later(delay, self._on_timer)
            self._timer_at = ready_at

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        heap, waiting = self._heap, self._waiting
        horizon = self._clock.time() + _RESOLUTION
        while heap and heap[0][0] <= horizon:
            _, seq, item = heapq.heappop(heap)
            live = waiting.get(item)
            if live is not None and live[1] == seq:
                del waiting[item]
                self.add(item)
        self._arm()

    def shutdown(self) -> None:
        """
        Stop accepting adds, drop parked items and wake every blocked getter.

        Queued items are still handed out; ``get`` raises :class:`ShutDown`
        once none are left. Calling it again does nothing more.
        """
        self._shutting_down = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf
        self._heap.clear()
        self._waiting.clear()
        getters, self._getters = self._getters, deque()
        for fut in getters:
            if not fut.done():
                fut.set_result(None)

    async def shutdown_with_drain(self) -> None:
        """Shut down, then wait until no item is being processed (as client-go does)."""
        self.shutdown()
        loop = asyncio.get_running_loop()
        while self._processing:
            fut: asyncio.Future[None] = loop.create_future()
            self._drainers.append(fut)
            try:
                await fut
            finally:
                if fut in self._drainers:
                    self._drainers.remove(fut)

    def _wake_drainers(self) -> None:
        drainers, self._drainers = self._drainers, []
        for fut in drainers:
            if not fut.done():
                fut.set_result(None)

    @property
    def shutting_down(self) -> bool:
        """Whether :meth:`shutdown` was called (queued items may still be handed out)."""
        return self._shutting_down

    def statistics(self) -> WorkQueueStatistics:
        """Return a snapshot of the queue."""
        return WorkQueueStatistics(
            depth=len(self._queue),
            processing=len(self._processing),
            dirty=len(self._dirty),
            delayed=len(self._waiting),
            adds=self._adds,
            deduplicated=self._deduplicated,
            retries=self._retries,
            shutting_down=self._shutting_down,
            next_due=min((at for at, _ in self._waiting.values()), default=None),
        )
