"""VirtualClock and VirtualEventLoop: simulated time that jumps when idle; SystemClock basics."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import random
import threading
import warnings

import pytest

from reconcile.primitives.clock import Clock, SystemClock
from reconcile.primitives.virtual import DEFAULT_EPOCH, VirtualClock, VirtualEventLoop

# -- starting point -----------------------------------------------------------------------


def test_time_starts_at_zero_and_now_at_default_epoch() -> None:
    """A new clock reads 0.0 seconds and the fixed default epoch."""
    clock = VirtualClock()
    assert 0.0 == clock.time()
    assert DEFAULT_EPOCH == clock.now()
    assert dt.datetime(2025, 1, 1, tzinfo=dt.UTC) == DEFAULT_EPOCH


def test_now_starts_at_given_aware_start_converted_to_utc() -> None:
    """An aware start in any zone becomes the UTC instant ``now()`` starts from."""
    start = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    now = VirtualClock(start=start).now()
    assert dt.datetime(2030, 6, 1, 10, 0, tzinfo=dt.UTC) == now
    assert dt.UTC == now.tzinfo


def test_naive_start_raises() -> None:
    """A naive start is refused, since ``now()`` must be aware UTC."""
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(start=dt.datetime(2025, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_now_follows_virtual_time() -> None:
    """``now()`` is the start plus the virtual seconds elapsed."""
    clock = VirtualClock()

    async def main() -> dt.datetime:
        await asyncio.sleep(90.5)
        return clock.now()

    assert DEFAULT_EPOCH + dt.timedelta(seconds=90.5) == clock.run(main())


def test_clocks_satisfy_the_clock_protocol() -> None:
    """Both clocks are usable wherever a ``Clock`` is expected."""
    assert isinstance(VirtualClock(), Clock)
    assert isinstance(SystemClock(), Clock)


def test_repr_shows_current_instant() -> None:
    """The repr shows the virtual ``now``."""
    assert "VirtualClock(now=2025-01-01T00:00:00+00:00)" == repr(VirtualClock())


# -- asyncio timers run in virtual time ---------------------------------------------------


def test_asyncio_sleep_runs_in_virtual_time() -> None:
    """``asyncio.sleep`` advances the clock by exactly the delay, and ``loop.time`` agrees."""
    clock = VirtualClock()

    async def main() -> tuple[float, float]:
        await asyncio.sleep(42)
        return clock.time(), asyncio.get_running_loop().time()

    assert (42.0, 42.0) == clock.run(main())


def test_call_later_fires_at_its_virtual_deadline() -> None:
    """``loop.call_later`` callbacks run when the clock reaches their deadline."""
    clock = VirtualClock()
    fired: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(2.5, lambda: fired.append(clock.time()))
        loop.call_later(1.0, lambda: fired.append(clock.time()))
        await asyncio.sleep(10)

    clock.run(main())
    assert [1.0, 2.5] == fired


def test_asyncio_timeout_expires_in_virtual_time() -> None:
    """``asyncio.timeout`` cancels a long sleep when its virtual deadline passes."""
    clock = VirtualClock()

    async def main() -> float:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.sleep(3600)
        return clock.time()

    assert 5.0 == clock.run(main())


def test_simulated_hour_of_timers_completes() -> None:
    """Three tasks ticking every second for an hour all finish at virtual 3600 s."""
    clock = VirtualClock()
    ticks: list[int] = [0, 0, 0]

    async def ticker(index: int) -> None:
        for _ in range(3600):
            await asyncio.sleep(1)
            ticks[index] += 1

    async def main() -> float:
        async with asyncio.TaskGroup() as tg:
            for index in range(3):
                tg.create_task(ticker(index))
        return clock.time()

    assert 3600.0 == clock.run(main())
    assert [3600, 3600, 3600] == ticks


def test_clock_sleep_waits_virtual_seconds_and_clamps_negative() -> None:
    """``clock.sleep`` waits its delay in virtual time; a negative delay does not wait."""
    clock = VirtualClock()

    async def main() -> tuple[float, float]:
        await clock.sleep(-5)
        first = clock.time()
        await clock.sleep(7)
        return first, clock.time()

    assert (0.0, 7.0) == clock.run(main())


# -- advance and wait_idle ----------------------------------------------------------------


def test_advance_lets_exactly_the_given_time_pass() -> None:
    """``advance(s)`` returns with exactly ``s`` more seconds on the clock."""
    clock = VirtualClock()

    async def main() -> list[float]:
        readings = []
        for step in (0.0, 0.25, 30.0, 3600.0):
            before = clock.time()
            await clock.advance(step)
            readings.append(clock.time() - before)
        return readings

    assert [0.0, 0.25, 30.0, 3600.0] == clock.run(main())


def test_advance_runs_timers_due_meanwhile_but_not_later_ones() -> None:
    """Timers at or before the end of an advance fire during it; later ones wait."""
    clock = VirtualClock()
    fired: list[str] = []

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        loop.call_later(5, fired.append, "at-5")
        loop.call_later(10, fired.append, "at-10")
        loop.call_later(11, fired.append, "at-11")
        await clock.advance(10)
        seen = list(fired)
        await clock.advance(1)
        return seen

    assert ["at-5", "at-10"] == clock.run(main())
    assert ["at-5", "at-10", "at-11"] == fired


def test_advance_by_negative_seconds_raises() -> None:
    """Time cannot be moved backwards."""
    clock = VirtualClock()

    async def main() -> None:
        with pytest.raises(ValueError, match="must be >= 0"):
            await clock.advance(-1)

    clock.run(main())
    assert 0.0 == clock.time()


def test_wait_idle_runs_ready_work_without_moving_time() -> None:
    """``wait_idle`` returns once a chain of ready callbacks is done, before any timer fires."""
    clock = VirtualClock()
    hops: list[int] = []

    async def chain() -> None:
        for hop in range(50):
            await asyncio.sleep(0)
            hops.append(hop)

    async def main() -> tuple[float, int, bool]:
        timer = asyncio.create_task(asyncio.sleep(10))
        task = asyncio.create_task(chain())
        await clock.wait_idle()
        result = (clock.time(), len(hops), task.done())
        timer.cancel()
        return result

    assert (0.0, 50, True) == clock.run(main())


def test_wait_idle_with_nothing_pending_returns_at_once() -> None:
    """With no timers and no other work, ``wait_idle`` returns and time stays put."""
    clock = VirtualClock()

    async def main() -> float:
        await clock.wait_idle()
        return clock.time()

    assert 0.0 == clock.run(main())


# -- ordering and determinism -------------------------------------------------------------


def test_timers_with_equal_deadlines_fire_in_scheduling_order() -> None:
    """Callbacks scheduled for one virtual instant run first-scheduled, first-run."""
    clock = VirtualClock()
    order: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(1, order.append, -1)
        for index in range(20):
            loop.call_later(5, order.append, index)
        await asyncio.sleep(10)

    clock.run(main())
    assert [-1, *range(20)] == order


def test_tasks_sleeping_equally_long_wake_in_start_order() -> None:
    """Tasks that sleep the same delay from one instant resume in the order they slept."""
    clock = VirtualClock()
    woke: list[int] = []

    async def sleeper(index: int) -> None:
        await asyncio.sleep(3)
        woke.append(index)

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            for index in range(12):
                tg.create_task(sleeper(index))

    clock.run(main())
    assert list(range(12)) == woke


def _random_trace(seed: int) -> list[tuple[float, int, int]]:
    """Run a seeded program of tasks sleeping random delays; return who woke when."""
    clock = VirtualClock()
    rng = random.Random(seed)
    trace: list[tuple[float, int, int]] = []

    async def worker(index: int) -> None:
        for step in range(30):
            await asyncio.sleep(rng.choice([0, 0.5, 1, 1, 2.25]))
            trace.append((clock.time(), index, step))

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            for index in range(6):
                tg.create_task(worker(index))

    clock.run(main())
    return trace


def test_same_seed_gives_identical_trace() -> None:
    """Two runs of one seeded program interleave identically."""
    first = _random_trace(3)
    assert 180 == len(first)
    assert first == _random_trace(3)


def test_different_seeds_give_different_traces() -> None:
    """The trace depends on the seed, so the comparison above is meaningful."""
    assert _random_trace(3) != _random_trace(4)


# -- misuse -------------------------------------------------------------------------------


def test_clock_sleep_from_a_foreign_loop_raises() -> None:
    """Sleeping on a virtual clock inside an ordinary loop fails instead of waiting for real."""
    clock = VirtualClock()
    with pytest.raises(RuntimeError, match="outside its own event loop"):
        asyncio.run(clock.sleep(1))


def test_advance_and_wait_idle_from_a_foreign_loop_raise() -> None:
    """``advance`` and ``wait_idle`` also refuse to run on another loop."""
    clock = VirtualClock()
    clock.run(asyncio.sleep(0))  # bound to a (now closed) virtual loop
    with pytest.raises(RuntimeError, match="outside its own event loop"):
        asyncio.run(clock.advance(1))
    with pytest.raises(RuntimeError, match="outside its own event loop"):
        asyncio.run(clock.wait_idle())


def test_clock_sleep_without_running_loop_raises() -> None:
    """Driving the coroutine by hand, with no loop running, gives a clear error."""
    coro = VirtualClock().sleep(1)
    with pytest.raises(RuntimeError, match="no running event loop"):
        coro.send(None)


def test_one_clock_cannot_drive_two_open_loops() -> None:
    """A second loop on a clock whose first loop is open is refused; after close it is fine."""
    clock = VirtualClock()
    first = clock.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="already driving another open event loop"):
            clock.new_event_loop()
    finally:
        first.close()
    second = clock.new_event_loop()
    assert isinstance(second, VirtualEventLoop)
    second.close()


def test_refused_loop_is_closed_not_leaked() -> None:
    """A loop refused by its clock releases its resources (no unclosed-loop ResourceWarning)."""
    clock = VirtualClock()
    first = clock.new_event_loop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.suppress(RuntimeError):
            clock.new_event_loop()
        gc.collect()
    first.close()
    assert [] == [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


# -- threads ------------------------------------------------------------------------------


def test_thread_safe_callbacks_reach_the_virtual_loop() -> None:
    """``call_soon_threadsafe`` from an executor thread wakes the loop; time does not move."""
    clock = VirtualClock()

    async def main() -> tuple[str, str, float]:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[str] = loop.create_future()

        def in_thread() -> str:
            loop.call_soon_threadsafe(delivered.set_result, threading.current_thread().name)
            return "returned"

        returned = await loop.run_in_executor(None, in_thread)
        thread_name = await delivered
        return returned, thread_name, clock.time()

    returned, thread_name, elapsed = clock.run(main())
    assert "returned" == returned
    assert threading.current_thread().name != thread_name
    assert 0.0 == elapsed


# -- SystemClock --------------------------------------------------------------------------


def test_system_clock_now_is_aware_utc() -> None:
    """``SystemClock.now()`` carries the UTC zone."""
    assert dt.UTC == SystemClock().now().tzinfo


def test_system_clock_time_never_goes_backwards_outside_a_loop() -> None:
    """Successive readings without a loop are non-decreasing."""
    clock = SystemClock()
    readings = [clock.time() for _ in range(1000)]
    assert sorted(readings) == readings


async def test_system_clock_time_is_the_running_loops_time() -> None:
    """Inside a loop, ``time()`` reads the loop's monotonic clock."""
    clock = SystemClock()
    loop = asyncio.get_running_loop()
    before = loop.time()
    reading = clock.time()
    assert before <= reading <= loop.time()
