"""
Virtual time: an event loop whose clock jumps ahead whenever it is idle.

A :class:`VirtualClock` owns a simulated time line. It drives a
:class:`VirtualEventLoop`, an ordinary asyncio selector loop with two
changes:

* ``loop.time()`` reads the virtual clock, so ``asyncio.sleep``,
  ``loop.call_later``, ``asyncio.timeout`` and every library timer run in
  simulated time without knowing it;
* when the loop has nothing ready to run, instead of blocking in the
  selector it moves the clock straight to its next timer.

Nothing runs "between" two timers, so a simulated hour of heartbeats
costs only the callbacks themselves. The loop still polls real file
descriptors (without blocking) on every turn, so thread-safe callbacks
keep working; it blocks for real only when no timer is pending at all,
exactly where a real loop would wait forever.

Determinism: asyncio runs ready callbacks in FIFO order and timers in
deadline order, so a program that performs no real I/O and takes its
randomness from a seed replays the same interleaving on every run.

Expected flow::

    clock = VirtualClock()
    clock.run(main(clock=clock))        # or: asyncio.Runner(loop_factory=clock.new_event_loop)

Inside ``main``: ``await clock.advance(30)`` lets 30 simulated seconds pass
for every task; ``await clock.wait_idle()`` returns once nothing is left to
run at the current instant.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import heapq
import itertools
import selectors
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar, TypeVarTuple, final

__all__ = ["DEFAULT_EPOCH", "VirtualClock", "VirtualEventLoop"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DEFAULT_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Where virtual time starts unless told otherwise: a fixed instant, for reproducibility."""


@final
class VirtualClock:
    """
    A simulated clock, advanced only by its :class:`VirtualEventLoop`.

    ``time()`` counts seconds since the clock was made (starting at 0.0);
    ``now()`` is ``start + time()``. Every clock is bound to at most one
    running loop; sleeping on it from any other loop is an error, because
    that loop would wait in real time.
    """

    def __init__(self, *, start: dt.datetime = DEFAULT_EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("start: must be timezone-aware (UTC)")
        self._start = start.astimezone(dt.UTC)
        self._elapsed = 0.0
        self._loop: VirtualEventLoop | None = None

    def time(self) -> float:
        return self._elapsed

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=self._elapsed)

    async def sleep(self, seconds: float) -> None:
        self._require_loop()
        await asyncio.sleep(max(0.0, seconds))

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, running everything that is due meanwhile."""
        if seconds < 0:
            raise ValueError(f"seconds: must be >= 0, got {seconds}")
        self._require_loop()
        await asyncio.sleep(seconds)

    async def wait_idle(self) -> None:
        """Return once no callback is ready at the current virtual instant (time does not move)."""
        await self._require_loop().wait_idle()

    def next_deadline(self) -> float | None:
        """When (in :meth:`time` units) the loop's next timer is due; ``None`` if none is."""
        loop = self._loop
        return None if loop is None or loop.is_closed() else loop._next_deadline()

    def new_event_loop(self) -> VirtualEventLoop:
        """Make a loop driven by this clock (usable as an ``asyncio.Runner`` loop factory)."""
        return VirtualEventLoop(self)

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` to completion on a fresh virtual loop, like ``asyncio.run``."""
        with asyncio.Runner(loop_factory=self.new_event_loop) as runner:
            return runner.run(main)

    def _bind(self, loop: VirtualEventLoop) -> None:
        if self._loop is not None and self._loop is not loop and not self._loop.is_closed():
            raise RuntimeError("VirtualClock is already driving another open event loop")
        self._loop = loop

    def _require_loop(self) -> VirtualEventLoop:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("VirtualClock: no running event loop") from None
        if running is not self._loop:
            raise RuntimeError(
                "VirtualClock used outside its own event loop; run the program with "
                "clock.run(...) or asyncio.Runner(loop_factory=clock.new_event_loop)"
            )
        return self._loop

    def _jump_to(self, when: float) -> None:
        self._elapsed = max(self._elapsed, when)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now().isoformat()})"


@final
class _IdleJumpingSelector(selectors.BaseSelector):
    """Delegates to a real selector, but never blocks while a timer is pending."""

    def __init__(self, real: selectors.BaseSelector, loop: VirtualEventLoop) -> None:
        self._real = real
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._real.select(0)
        if events or timeout == 0:
            return events
        # Nothing is ready at this instant: the loop is idle.
        if self._loop._wake_idle_waiters():
            return []
        when = self._loop._next_deadline()
        if when is None:
            # No timer at all: a real loop would block here too.
            return self._real.select(timeout)
        self._loop.clock._jump_to(when)
        return []


@final
class _FifoTimerHandle(asyncio.TimerHandle):
    """A timer that orders after earlier-scheduled timers with the same deadline."""

    __slots__ = ("_seq",)

    def __init__(
        self,
        when: float,
        callback: Callable[..., object],
        args: Sequence[Any],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context | None,
        *,
        seq: int,
    ) -> None:
        super().__init__(when, callback, args, loop, context)
        self._seq = seq

    def __lt__(self, other: asyncio.TimerHandle) -> bool:
        if isinstance(other, _FifoTimerHandle) and self.when() == other.when():
            return self._seq < other._seq
        return super().__lt__(other)


@final
class VirtualEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose time is a :class:`VirtualClock` and that skips idle waits."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_IdleJumpingSelector(selectors.DefaultSelector(), self))
        # The selector above is constructed before ``self`` is initialised;
        # it only touches the loop from ``select``.
        self.clock = clock
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._timer_seq = itertools.count()
        try:
            clock._bind(self)
        except RuntimeError:
            # Fixed: a loop refused here leaked its selector and self-pipe
            # (``ResourceWarning: unclosed event loop`` when collected).
            self.close()
            raise

    def call_at(
        self,
        when: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        # Fixed: virtual deadlines tie exactly (two tasks asking for the same
        # delay at one instant), and asyncio's timer heap is not stable, so
        # ties fired in arbitrary order. Break ties by scheduling order, as
        # real time would. Otherwise this is ``BaseEventLoop.call_at``.
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()  # type: ignore[attr-defined]
        if self.get_debug():
            self._check_thread()  # type: ignore[attr-defined]
            self._check_callback(callback, "call_at")  # type: ignore[attr-defined]
        timer = _FifoTimerHandle(when, callback, args, self, context, seq=next(self._timer_seq))
        if timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def time(self) -> float:
        return self.clock.time()

    def wait_idle(self) -> asyncio.Future[None]:
        """A future resolved the next time the loop has nothing ready to run."""
        fut: asyncio.Future[None] = self.create_future()
        self._idle_waiters.append(fut)
        return fut

    def _wake_idle_waiters(self) -> bool:
        woke = False
        waiters, self._idle_waiters = self._idle_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
                woke = True
        return woke

    def _next_deadline(self) -> float | None:
        # asyncio's timer heap; ``_run_once`` has already dropped cancelled heads.
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        return scheduled[0].when() if scheduled else None
