"""
SkewedClock as a stateful primitive: random schedules of skews, steps, pauses and sleeps.

The machine drives one SkewedClock over a VirtualClock. After every step:

* ``time()`` has never gone backwards;
* every finished sleep returned no earlier than its start plus its duration,
  in the skewed clock's time, and never while frozen;
* every sleep whose deadline has passed on a running clock has returned;
* ``now() == base.now() + offset - frozen_total`` (up to microsecond rounding);
* with no pause ever taken and no offset, the clock reads exactly as its base.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reconcile.primitives.skew import SkewedClock
from reconcile.primitives.virtual import VirtualClock

SECONDS = st.sampled_from([0.0, 0.001, 0.1, 0.3, 1.0, 2.5, 7.0, 15.0, 31.7])
OFFSETS = st.floats(min_value=-3600, max_value=3600, allow_nan=False)
# Each datetime term rounds to the microsecond on its own.
ROUNDING = dt.timedelta(microseconds=3)


class SkewedClockMachine(RuleBasedStateMachine):
    """One skewed clock, its sleepers, and the faults applied between steps."""

    def __init__(self) -> None:
        super().__init__()
        self.base = VirtualClock()
        self.loop = self.base.new_event_loop()
        self.clock = SkewedClock(self.base)
        self.last_time = self.clock.time()
        self.sleeps: list[tuple[float, float, asyncio.Task[float]]] = []
        self.ever_frozen = False

    def teardown(self) -> None:
        for *_, task in self.sleeps:
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    async def _sleep(self, seconds: float) -> float:
        await self.clock.sleep(seconds)
        assert not self.clock.frozen, "a sleep returned while the clock was frozen"
        return self.clock.time()

    @rule(seconds=SECONDS)
    def sleep(self, seconds: float) -> None:
        started = self.clock.time()
        task = self.loop.create_task(self._sleep(seconds))
        self.sleeps.append((started, seconds, task))

    @rule(seconds=SECONDS)
    def advance(self, seconds: float) -> None:
        self.loop.run_until_complete(self.base.advance(seconds))

    @rule(offset=OFFSETS)
    def skew(self, offset: float) -> None:
        self.clock.offset = offset

    @rule(seconds=OFFSETS)
    def jump(self, seconds: float) -> None:
        self.clock.jump(seconds)

    @precondition(lambda self: not self.clock.frozen)
    @rule()
    def freeze(self) -> None:
        self.clock.freeze()
        self.ever_frozen = True

    @precondition(lambda self: self.clock.frozen)
    @rule()
    def thaw(self) -> None:
        self.clock.thaw()
        self.loop.run_until_complete(self.base.wait_idle())

    @invariant()
    def time_never_goes_backwards(self) -> None:
        now = self.clock.time()
        assert now >= self.last_time
        self.last_time = now

    @invariant()
    def sleeps_return_no_earlier_than_their_deadline(self) -> None:
        for started, seconds, task in self.sleeps:
            if task.done():
                assert task.result() >= started + seconds

    @invariant()
    def overdue_sleeps_on_a_running_clock_have_returned(self) -> None:
        if self.clock.frozen:
            return
        self.loop.run_until_complete(self.base.wait_idle())
        for started, seconds, task in self.sleeps:
            if self.clock.time() > started + seconds:
                assert task.done(), (started, seconds, self.clock.time())

    @invariant()
    def wall_clock_is_base_plus_offset_minus_frozen_time(self) -> None:
        expected = self.base.now() + dt.timedelta(
            seconds=self.clock.offset - self.clock.frozen_total
        )
        assert abs(expected - self.clock.now()) <= ROUNDING

    @invariant()
    def without_faults_it_is_the_base(self) -> None:
        if not self.ever_frozen and self.clock.offset == 0:
            assert (self.base.time(), self.base.now()) == (self.clock.time(), self.clock.now())


SkewedClockMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestSkewedClock = SkewedClockMachine.TestCase
