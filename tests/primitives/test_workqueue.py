"""WorkQueue scenarios: the client-go contract, delays, rate limiting and shutdown."""

from __future__ import annotations

import asyncio

import pytest

from reconcile.primitives.ratelimit import ItemExponentialRateLimiter
from reconcile.primitives.virtual import VirtualClock
from reconcile.primitives.workqueue import QueueEmpty, ShutDown, WorkQueue, WorkQueueStatistics


def make_queue(clock: VirtualClock, *, base: float = 1.0, cap: float = 60.0) -> WorkQueue[str]:
    return WorkQueue[str](clock=clock, rate_limiter=ItemExponentialRateLimiter(base=base, cap=cap))


def test_get_returns_items_in_fifo_order() -> None:
    """Items come out in the order they were added."""
    queue = make_queue(VirtualClock())
    for item in "abc":
        queue.add(item)
    assert ["a", "b", "c"] == [queue.get_nowait() for _ in range(3)]


def test_add_deduplicates_queued_item() -> None:
    """Adding an item that is already queued keeps one copy in its first place."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert (2, ["a", "b"]) == (len(queue), [queue.get_nowait(), queue.get_nowait()])


def test_add_while_processing_requeues_once_after_done() -> None:
    """Adds during processing coalesce into exactly one re-run, queued at done()."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    item = queue.get_nowait()
    queue.add("a")
    queue.add("a")
    assert 0 == len(queue)
    queue.done(item)
    assert ("a", 0) == (queue.get_nowait(), len(queue))


def test_item_is_never_handed_to_two_consumers() -> None:
    """While an item is processing, re-adding it does not make it available."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    queue.get_nowait()
    queue.add("a")
    with pytest.raises(QueueEmpty):
        queue.get_nowait()


def test_done_without_readd_does_not_requeue() -> None:
    """A processed item that was not re-added leaves the queue for good."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    queue.done(queue.get_nowait())
    assert (
        WorkQueueStatistics(
            depth=0,
            processing=0,
            dirty=0,
            delayed=0,
            adds=1,
            deduplicated=0,
            retries=0,
            shutting_down=False,
        )
        == queue.statistics()
    )


def test_done_for_item_not_processing_raises() -> None:
    """done() without a matching get() is a bug and says so."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    with pytest.raises(ValueError, match="not being processed"):
        queue.done("a")


def test_get_returns_without_suspending_when_item_is_queued() -> None:
    """The fast path of get() completes on its first step, creating no future."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    coro = queue.get()
    with pytest.raises(StopIteration) as stopped:
        coro.send(None)
    assert "a" == stopped.value.value


def test_get_blocks_until_an_item_is_added() -> None:
    """A getter on an empty queue waits, then receives the next added item."""
    clock = VirtualClock()

    async def scenario() -> tuple[str, float]:
        queue = make_queue(clock)
        getter = asyncio.create_task(queue.get())
        await clock.advance(5)
        queue.add("a")
        return await getter, clock.time()

    assert ("a", 5.0) == clock.run(scenario())


def test_multiple_consumers_each_get_distinct_items() -> None:
    """Blocked consumers are served in arrival order, one item each."""
    clock = VirtualClock()

    async def scenario() -> list[str]:
        queue = make_queue(clock)
        getters = [asyncio.create_task(queue.get()) for _ in range(3)]
        await clock.wait_idle()
        for item in "xyz":
            queue.add(item)
        return list(await asyncio.gather(*getters))

    assert ["x", "y", "z"] == clock.run(scenario())


def test_cancelled_getter_passes_its_wakeup_on() -> None:
    """If a woken getter is cancelled before it runs, the next getter gets the item."""
    clock = VirtualClock()

    async def scenario() -> str:
        queue = make_queue(clock)
        first = asyncio.create_task(queue.get())
        second = asyncio.create_task(queue.get())
        await clock.wait_idle()
        queue.add("a")  # wakes `first`
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert "a" == clock.run(scenario())


def test_get_timeout_leaves_no_waiter_behind() -> None:
    """A getter that timed out does not swallow the wake-up meant for a later getter."""
    clock = VirtualClock()

    async def scenario() -> str:
        queue = make_queue(clock)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await queue.get()
        getter = asyncio.create_task(queue.get())
        await clock.wait_idle()
        queue.add("a")
        return await getter

    assert "a" == clock.run(scenario())


def test_get_nowait_raises_queue_empty_when_nothing_is_queued() -> None:
    """get_nowait() on an empty, running queue raises QueueEmpty."""
    queue = make_queue(VirtualClock())
    with pytest.raises(QueueEmpty):
        queue.get_nowait()


def test_queue_empty_is_an_asyncio_queue_empty() -> None:
    """QueueEmpty can be caught as asyncio.QueueEmpty."""
    assert issubclass(QueueEmpty, asyncio.QueueEmpty)


def test_get_returns_remaining_items_after_shutdown() -> None:
    """Shutdown still hands out queued items, then raises ShutDown."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    queue.shutdown()
    assert "a" == queue.get_nowait()
    with pytest.raises(ShutDown):
        queue.get_nowait()


def test_add_after_shutdown_is_ignored() -> None:
    """Adds of any kind are dropped once the queue is shutting down."""
    queue = make_queue(VirtualClock())
    queue.shutdown()
    queue.add("a")
    queue.add_after("b", 1)
    queue.add_rate_limited("c")
    assert (0, 0, 0) == (len(queue), queue.statistics().delayed, queue.statistics().adds)


def test_shutdown_wakes_blocked_getters_with_shutdown() -> None:
    """Every blocked getter raises ShutDown when the queue shuts down."""
    clock = VirtualClock()

    async def scenario() -> list[bool]:
        queue = make_queue(clock)
        getters = [asyncio.create_task(queue.get()) for _ in range(2)]
        await clock.wait_idle()
        queue.shutdown()
        results = await asyncio.gather(*getters, return_exceptions=True)
        return [isinstance(result, ShutDown) for result in results]

    assert [True, True] == clock.run(scenario())


def test_shutdown_with_drain_waits_for_processing_items() -> None:
    """shutdown_with_drain() returns only once every handed-out item is done."""
    clock = VirtualClock()

    async def scenario() -> float:
        queue = make_queue(clock)
        queue.add("a")
        item = await queue.get()

        async def finish_later() -> None:
            await clock.sleep(3)
            queue.done(item)

        async with asyncio.TaskGroup() as group:
            group.create_task(finish_later())
            await queue.shutdown_with_drain()
        return clock.time()

    assert 3.0 == clock.run(scenario())


def test_shutdown_drops_delayed_items() -> None:
    """Items parked by add_after are discarded at shutdown."""
    clock = VirtualClock()

    async def scenario() -> tuple[int, int]:
        queue = make_queue(clock)
        queue.add_after("a", 1)
        queue.shutdown()
        await clock.advance(2)
        return len(queue), queue.statistics().delayed

    assert (0, 0) == clock.run(scenario())


def test_add_after_delays_item_until_deadline() -> None:
    """An item added with a delay appears exactly when the delay has passed."""
    clock = VirtualClock()

    async def scenario() -> tuple[int, int]:
        queue = make_queue(clock)
        queue.add_after("a", 2.5)
        await clock.advance(2.4)
        before = len(queue)
        await clock.advance(0.1)
        return before, len(queue)

    assert (0, 1) == clock.run(scenario())


def test_add_after_nonpositive_delay_adds_now() -> None:
    """A zero or negative delay is a plain add (no event loop needed)."""
    queue = make_queue(VirtualClock())
    queue.add_after("a", 0)
    queue.add_after("b", -1)
    assert ["a", "b"] == [queue.get_nowait(), queue.get_nowait()]


def test_add_after_earliest_ready_time_wins() -> None:
    """Re-parking an item with a sooner deadline moves it earlier, and only once."""
    clock = VirtualClock()

    async def scenario() -> tuple[int, int]:
        queue = make_queue(clock)
        queue.add_after("a", 5)
        queue.add_after("a", 2)
        await clock.advance(2)
        at_two = len(queue)
        queue.done(queue.get_nowait())
        await clock.advance(10)
        return at_two, len(queue)

    assert (1, 0) == clock.run(scenario())


def test_add_after_later_time_does_not_postpone() -> None:
    """A later deadline for an already parked item is ignored."""
    clock = VirtualClock()

    async def scenario() -> int:
        queue = make_queue(clock)
        queue.add_after("a", 2)
        queue.add_after("a", 5)
        await clock.advance(2)
        return len(queue)

    assert 1 == clock.run(scenario())


def test_add_after_releases_items_in_deadline_order() -> None:
    """Parked items become ready ordered by deadline, whatever order they were parked in."""
    clock = VirtualClock()

    async def scenario() -> list[str]:
        queue = make_queue(clock)
        queue.add_after("c", 3)
        queue.add_after("a", 1)
        queue.add_after("b", 2)
        await clock.advance(3)
        return [queue.get_nowait() for _ in range(3)]

    assert ["a", "b", "c"] == clock.run(scenario())


def test_add_after_creates_no_tasks() -> None:
    """Delays use one loop timer, so no background task exists."""
    clock = VirtualClock()

    async def scenario() -> int:
        queue = make_queue(clock)
        for i in range(10):
            queue.add_after(str(i), i + 1)
        return len(asyncio.all_tasks())

    assert 1 == clock.run(scenario())


def test_add_after_rejects_non_finite_delay() -> None:
    """NaN or infinite delays are errors, not items parked forever."""
    queue = make_queue(VirtualClock())
    with pytest.raises(ValueError, match="finite"):
        queue.add_after("a", float("inf"))


def test_blocked_getter_receives_delayed_item() -> None:
    """A blocked get() wakes when a parked item's deadline passes."""
    clock = VirtualClock()

    async def scenario() -> tuple[str, float]:
        queue = make_queue(clock)
        queue.add_after("a", 7)
        return await queue.get(), clock.time()

    assert ("a", 7.0) == clock.run(scenario())


def test_add_rate_limited_backs_off_exponentially() -> None:
    """Consecutive failures of an item are retried after base * 2**n seconds."""
    clock = VirtualClock()

    async def scenario() -> list[float]:
        queue = make_queue(clock, base=1.0, cap=4.0)
        ready_at = []
        for _ in range(4):
            start = clock.time()
            queue.add_rate_limited("a")
            queue.done(await queue.get())
            ready_at.append(clock.time() - start)
        return ready_at

    assert [1.0, 2.0, 4.0, 4.0] == clock.run(scenario())


def test_forget_resets_backoff_but_keeps_item_queued() -> None:
    """forget() clears the retry count; it does not dequeue the item."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    queue.add_after("a", 0)
    queue.forget("a")
    assert (1, 0) == (len(queue), queue.num_requeues("a"))


def test_num_requeues_counts_rate_limited_adds() -> None:
    """num_requeues() and statistics().retries count add_rate_limited calls."""
    clock = VirtualClock()

    async def scenario() -> tuple[int, int]:
        queue = make_queue(clock)
        for _ in range(3):
            queue.add_rate_limited("a")
        return queue.num_requeues("a"), queue.statistics().retries

    assert (3, 3) == clock.run(scenario())


def test_default_rate_limiter_is_used_when_none_given() -> None:
    """Without a limiter, the first retry of an item waits 5 ms."""
    clock = VirtualClock()

    async def scenario() -> float:
        queue = WorkQueue[str](clock=clock)
        queue.add_rate_limited("a")
        await queue.get()
        return clock.time()

    assert 0.005 == pytest.approx(clock.run(scenario()))


def test_statistics_count_adds_and_deduplications() -> None:
    """statistics() reports depth, processing, dirty and add counters."""
    queue = make_queue(VirtualClock())
    queue.add("a")
    queue.add("a")
    queue.add("b")
    queue.get_nowait()
    queue.add("a")
    assert (
        WorkQueueStatistics(
            depth=1,
            processing=1,
            dirty=2,
            delayed=0,
            adds=4,
            deduplicated=1,
            retries=0,
            shutting_down=False,
        )
        == queue.statistics()
    )


def test_statistics_report_when_the_first_parked_item_is_due() -> None:
    """next_due is the earliest deadline of the parked items, None when none is parked."""
    clock = VirtualClock()

    async def scenario() -> tuple[float | None, float | None, float | None]:
        queue = make_queue(clock)
        empty = queue.statistics().next_due
        start = clock.time()
        queue.add_after("late", 7)
        queue.add_after("early", 3)
        due = queue.statistics().next_due
        await clock.advance(10)
        queue.get_nowait()
        return empty, None if due is None else due - start, queue.statistics().next_due

    assert (None, 3.0, None) == clock.run(scenario())
