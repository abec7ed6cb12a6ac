"""
A component's own clock: a skewed, steppable and pausable view of another clock.

Each process of a distributed system reads its own machine's clocks. A
:class:`SkewedClock` wraps a base :class:`~reconcile.primitives.clock.Clock`
(usually the one :class:`~reconcile.primitives.virtual.VirtualClock` of a
simulation) so that one component can be given faults the others do not see:

* **Skew** (``offset``): the wall clock (``now()``) runs ``offset`` seconds
  ahead of the base (behind, when negative). The monotonic clock (``time()``)
  is not affected, as on a real host, where a wrong wall clock does not change
  ``CLOCK_MONOTONIC`` timers.
* **Jump** (:meth:`SkewedClock.jump`): an abrupt step of the wall clock, forward
  or backward, as an NTP step does. Again, ``time()`` and sleeps are unaffected.
* **Pause** (:meth:`SkewedClock.freeze` / :meth:`SkewedClock.thaw`): the process
  stops (a long garbage-collection pause, ``SIGSTOP``, a VM being migrated).
  While frozen, ``time()`` and ``now()`` stand still and no ``sleep`` of this
  clock returns. After :meth:`~SkewedClock.thaw` time continues from where it
  stood, so this clock is then behind its base by the total time spent frozen,
  and pending sleeps complete when *this* clock's time reaches their deadline.
  That is how a deposed leader can believe, for a while, that its lease is
  still valid: its renew deadline is measured on a clock that did not move.

Guarantees:

* ``time()`` never goes backwards (also across a thaw);
* ``sleep(d)`` returns no earlier than ``time() + d`` as read when it was called;
* ``now() == base.now() + offset - frozen_total`` (to the microsecond that
  datetimes carry), where ``frozen_total`` is the base time spent frozen;
* never frozen and with ``offset == 0``, it reads exactly as its base does.

Assumption: the base clock's ``now()`` and ``time()`` advance together (true of
``VirtualClock``; near enough for ``SystemClock`` over the spans involved).
Freezing affects only code that waits on this clock: tasks woken by other
means (a watch event, a queue) still run; pausing a whole process also needs its
I/O held back, which is the embedding harness's job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import final

import attrs

from reconcile.primitives.clock import Clock

__all__ = ["SkewedClock", "SkewedClockStatistics"]


@attrs.frozen(kw_only=True)
class SkewedClockStatistics:
    """
    A snapshot of a :class:`SkewedClock`.

    Attributes:
        offset: Seconds the wall clock runs ahead of the base (negative: behind).
        frozen: Whether the clock is frozen now.
        frozen_total: Base seconds spent frozen so far (including the current freeze).
        freezes: Times the clock was frozen.
        jumps: Times the wall clock was stepped with :meth:`SkewedClock.jump`.
        sleepers: Sleeps of this clock not yet returned.
    """

    offset: float
    frozen: bool
    frozen_total: float
    freezes: int
    jumps: int
    sleepers: int


@final
class SkewedClock:
    """
    A :class:`~reconcile.primitives.clock.Clock` over ``base``, shifted and pausable.

    See the module docstring for the contract.

    Args:
        base: The clock this one follows (the simulation's or the host's).
        offset: Initial wall-clock offset in seconds (may be negative).
    """

    def __init__(self, base: Clock, *, offset: float = 0.0) -> None:
        self._base = base
        self._offset = _finite("offset", offset)
        self._lag = 0.0  # base seconds spent frozen in completed freezes
        self._floor = -math.inf  # time() at the last thaw: keeps time() monotonic
        self._frozen_time: float | None = None  # time() while frozen
        self._frozen_base = 0.0  # base.time() when the current freeze began
        self._frozen_wall = dt.datetime.min.replace(tzinfo=dt.UTC)  # now() minus offset
        self._thawed = asyncio.Event()
        self._thawed.set()
        self._freezes = self._jumps = self._sleepers = 0

    @property
    def base(self) -> Clock:
        """The clock this one follows."""
        return self._base

    @property
    def offset(self) -> float:
        """Seconds the wall clock (``now()``) runs ahead of the base's; negative is behind."""
        return self._offset

    @offset.setter
    def offset(self, seconds: float) -> None:
        self._offset = _finite("offset", seconds)

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still now."""
        return self._frozen_time is not None

    @property
    def frozen_total(self) -> float:
        """Base seconds spent frozen so far, including the current freeze."""
        if self._frozen_time is None:
            return self._lag
        return self._lag + (self._base.time() - self._frozen_base)

    # -- Clock -------------------------------------------------------------------------------

    def time(self) -> float:
        """Monotonic seconds: the base's, minus the time spent frozen."""
        if self._frozen_time is not None:
            return self._frozen_time
        if self._lag == 0.0:
            return self._base.time()
        return max(self._floor, self._base.time() - self._lag)

    def now(self) -> dt.datetime:
        """The wall clock: the base's, shifted by ``offset`` and by the time spent frozen."""
        if self._frozen_time is not None:
            return self._frozen_wall + dt.timedelta(seconds=self._offset)
        if self._lag == 0.0 and self._offset == 0.0:
            return self._base.now()
        return self._base.now() + dt.timedelta(seconds=self._offset - self._lag)

    async def sleep(self, seconds: float) -> None:
        """
        Suspend for ``seconds`` of this clock's time.

        Never returns while the clock is frozen; time spent frozen does not count.
        """
        seconds = max(0.0, seconds)
        deadline = self.time() + seconds
        self._sleepers += 1
        try:
            if self._frozen_time is None:
                await self._base.sleep(seconds)
                if self._frozen_time is None and (self._lag == 0.0 or self.time() >= deadline):
                    return  # not paused meanwhile: ``seconds`` of this clock have passed
            while True:
                await self.wait_thawed()
                remaining = deadline - self.time()
                if remaining <= 0.0:
                    await self._base.sleep(0.0)  # yield even when due, as asyncio.sleep(0) does
                else:
                    # Sleep at least two units in the last place of the base, so
                    # rounding in ``base - lag`` can never make this loop spin in place.
                    await self._base.sleep(max(remaining, 2 * math.ulp(self._base.time())))
                if not self.frozen and self.time() >= deadline:
                    return
        finally:
            self._sleepers -= 1

    # -- faults ------------------------------------------------------------------------------

    def jump(self, seconds: float) -> None:
        """Step the wall clock by ``seconds`` (negative: backwards); ``time()`` is unaffected."""
        self._offset += _finite("seconds", seconds)
        self._jumps += 1

    def freeze(self) -> None:
        """
        Stop this clock: ``time()`` and ``now()`` stand still and no sleep returns.

        Raises:
            RuntimeError: The clock is already frozen.
        """
        if self._frozen_time is not None:
            raise RuntimeError("SkewedClock.freeze(): the clock is already frozen")
        stopped_at = self.time()
        self._frozen_wall = self.now() - dt.timedelta(seconds=self._offset)
        self._frozen_base = self._base.time()
        self._frozen_time = stopped_at
        self._thawed.clear()
        self._freezes += 1

    def thaw(self) -> None:
        """
        Let this clock run again from where it stood (behind its base by the frozen time).

        Raises:
            RuntimeError: The clock is not frozen.
        """
        if self._frozen_time is None:
            raise RuntimeError("SkewedClock.thaw(): the clock is not frozen")
        self._lag += self._base.time() - self._frozen_base
        self._floor = self._frozen_time
        self._frozen_time = None
        self._thawed.set()

    async def wait_thawed(self) -> None:
        """Return once the clock is not frozen (at once if it is not)."""
        while self._frozen_time is not None:
            await self._thawed.wait()

    def statistics(self) -> SkewedClockStatistics:
        """A snapshot of the clock's state and counters."""
        return SkewedClockStatistics(
            offset=self._offset,
            frozen=self.frozen,
            frozen_total=self.frozen_total,
            freezes=self._freezes,
            jumps=self._jumps,
            sleepers=self._sleepers,
        )

    def __repr__(self) -> str:
        state = " frozen" if self.frozen else ""
        return f"SkewedClock(offset={self._offset:+g}s, lag={self.frozen_total:g}s{state})"


def _finite(field: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{field}: must be a finite number of seconds, got {value!r}")
    return float(value)
