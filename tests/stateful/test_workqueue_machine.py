"""
WorkQueue against a model of client-go's queue, delaying queue and rate limiter.

The model keeps the FIFO list, the dirty and processing sets, each parked
item's ``(ready_at, seq)`` and each item's failure count, in exact virtual
time (every delay is a multiple of 0.25 s, so float arithmetic is exact).
Each rule drives the real queue on a virtual event loop and compares what it
hands out with the model; invariants compare ``statistics()``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reconcile.primitives.ratelimit import ItemExponentialRateLimiter
from reconcile.primitives.virtual import VirtualClock
from reconcile.primitives.workqueue import QueueEmpty, ShutDown, WorkQueue, WorkQueueStatistics

R = TypeVar("R")

BASE = 0.25
CAP = 4.0
ITEMS = st.sampled_from(["a", "b", "c", "d"])
DELAYS = st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0])
STEPS = st.sampled_from([0.25, 0.5, 1.0, 2.0, 5.0])


class WorkQueueMachine(RuleBasedStateMachine):
    """Random producers, consumers, delays, retries and shutdown, checked step by step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.loop = self.clock.new_event_loop()
        self.limiter = ItemExponentialRateLimiter(base=BASE, cap=CAP)
        self.queue = WorkQueue[str](clock=self.clock, rate_limiter=self.limiter)
        # The model.
        self.now = 0.0
        self.fifo: list[str] = []
        self.dirty: set[str] = set()
        self.processing: set[str] = set()
        self.waiting: dict[str, tuple[float, int]] = {}
        self.seq = 0
        self.failures: dict[str, int] = {}
        self.shutting_down = False
        self.adds = 0
        self.deduplicated = 0
        self.retries = 0
        self.added: set[str] = set()
        self.delivered: set[str] = set()

    def teardown(self) -> None:
        self.queue.shutdown()
        self.loop.close()

    # -- helpers -----------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, R]) -> R:
        return self.loop.run_until_complete(coro)

    def call_in_loop(self, fn: Callable[[], R]) -> R:
        async def step() -> R:
            return fn()

        return self.run(step())

    def model_add(self, item: str) -> None:
        if self.shutting_down:
            return
        self.adds += 1
        self.added.add(item)
        if item in self.dirty:
            self.deduplicated += 1
            return
        self.dirty.add(item)
        if item not in self.processing:
            self.fifo.append(item)

    def model_add_after(self, item: str, delay: float) -> None:
        if self.shutting_down:
            return
        if delay <= 0:
            self.model_add(item)
            return
        ready_at = self.now + delay
        current = self.waiting.get(item)
        if current is not None and current[0] <= ready_at:
            return  # the earliest deadline wins
        self.seq += 1
        self.waiting[item] = (ready_at, self.seq)

    def model_advance_to(self, when: float) -> None:
        due = sorted((entry, item) for item, entry in self.waiting.items() if entry[0] <= when)
        for _, item in due:
            del self.waiting[item]
            self.model_add(item)
        self.now = when

    def model_take(self, actual: str) -> None:
        expected = self.fifo.pop(0)
        assert expected == actual
        assert actual not in self.processing  # never handed to two consumers
        self.processing.add(actual)
        self.dirty.discard(actual)
        self.delivered.add(actual)

    def next_delivery_time(self) -> float | None:
        """When a blocked getter on an empty queue would be woken by a parked item."""
        ready = [at for item, (at, _) in self.waiting.items() if item not in self.processing]
        return min(ready, default=None)

    # -- rules -------------------------------------------------------------------

    @rule(item=ITEMS)
    def add(self, item: str) -> None:
        self.queue.add(item)
        self.model_add(item)

    @rule()
    def get_nowait(self) -> None:
        try:
            actual = self.queue.get_nowait()
        except ShutDown:
            assert not self.fifo
            assert self.shutting_down
        except QueueEmpty:
            assert not self.fifo
            assert not self.shutting_down
        else:
            self.model_take(actual)

    @precondition(
        lambda self: bool(self.fifo) or self.shutting_down or self.next_delivery_time() is not None
    )
    @rule()
    def get(self) -> None:
        if not self.fifo and not self.shutting_down:
            wake_at = self.next_delivery_time()
            assert wake_at is not None
            self.model_advance_to(wake_at)
        try:
            actual = self.run(self.queue.get())
        except ShutDown:
            assert not self.fifo
            assert self.shutting_down
        else:
            self.model_take(actual)
        assert self.now == self.clock.time()

    @precondition(lambda self: bool(self.processing))
    @rule(data=st.data())
    def done(self, data: st.DataObject) -> None:
        item = data.draw(st.sampled_from(sorted(self.processing)))
        self.queue.done(item)
        self.processing.remove(item)
        if item in self.dirty:  # added while processing: exactly one re-run
            self.fifo.append(item)
            assert 1 == self.fifo.count(item)

    @rule(item=ITEMS)
    def forget(self, item: str) -> None:
        self.queue.forget(item)
        self.failures.pop(item, None)

    @rule(item=ITEMS, delay=DELAYS)
    def add_after(self, item: str, delay: float) -> None:
        self.call_in_loop(lambda: self.queue.add_after(item, delay))
        self.model_add_after(item, delay)

    @rule(item=ITEMS)
    def add_rate_limited(self, item: str) -> None:
        self.call_in_loop(lambda: self.queue.add_rate_limited(item))
        if self.shutting_down:
            return
        self.retries += 1
        n = self.failures.get(item, 0)
        self.failures[item] = n + 1
        self.model_add_after(item, min(BASE * 2**n, CAP))

    @rule(seconds=STEPS)
    def advance(self, seconds: float) -> None:
        self.run(self.clock.advance(seconds))
        self.model_advance_to(self.now + seconds)

    @rule()
    def shutdown(self) -> None:
        self.queue.shutdown()
        self.shutting_down = True
        self.waiting.clear()

    # -- invariants --------------------------------------------------------------

    @invariant()
    def statistics_match_model(self) -> None:
        expected = WorkQueueStatistics(
            depth=len(self.fifo),
            processing=len(self.processing),
            dirty=len(self.dirty),
            delayed=len(self.waiting),
            adds=self.adds,
            deduplicated=self.deduplicated,
            retries=self.retries,
            shutting_down=self.shutting_down,
            next_due=min((at for at, _ in self.waiting.values()), default=None),
        )
        assert expected == self.queue.statistics()
        assert len(self.fifo) == len(self.queue)

    @invariant()
    def queued_items_are_dirty_unique_and_not_processing(self) -> None:
        assert len(self.fifo) == len(set(self.fifo))
        assert set(self.fifo) <= self.dirty
        assert not set(self.fifo) & self.processing

    @invariant()
    def delivered_were_added(self) -> None:
        assert self.delivered <= self.added

    @invariant()
    def requeue_counts_follow_failures(self) -> None:
        for item in "abcd":
            assert self.failures.get(item, 0) == self.queue.num_requeues(item)

    @invariant()
    def virtual_time_matches_model(self) -> None:
        assert self.now == self.clock.time()


WorkQueueMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWorkQueue = WorkQueueMachine.TestCase
