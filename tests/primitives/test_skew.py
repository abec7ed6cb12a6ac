"""SkewedClock: a component's wall-clock offset, NTP steps and process pauses, in virtual time."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from reconcile.primitives.clock import Clock
from reconcile.primitives.skew import SkewedClock, SkewedClockStatistics
from reconcile.primitives.virtual import DEFAULT_EPOCH, VirtualClock


def _at(seconds: float) -> dt.datetime:
    return DEFAULT_EPOCH + dt.timedelta(seconds=seconds)


def test_is_a_clock() -> None:
    """A SkewedClock is usable wherever a Clock is expected."""
    assert isinstance(SkewedClock(VirtualClock()), Clock)


def test_reads_exactly_like_its_base_without_faults() -> None:
    """Never frozen and with no offset, time() and now() are the base's readings."""
    base = VirtualClock()
    clock = SkewedClock(base)

    async def main() -> list[tuple[float, dt.datetime]]:
        seen = []
        for step in (0.1, 0.2, 7.3):
            await clock.sleep(step)
            seen.append((clock.time(), clock.now()))
            assert (base.time(), base.now()) == seen[-1]
        return seen

    assert [0.1, 0.1 + 0.2, 0.1 + 0.2 + 7.3] == [t for t, _ in base.run(main())]


def test_offset_shifts_now_but_not_time() -> None:
    """A skewed wall clock reads ``offset`` seconds off; monotonic time is unchanged."""
    base = VirtualClock()
    clock = SkewedClock(base, offset=-5)

    async def main() -> tuple[float, dt.datetime]:
        await clock.sleep(10)
        return clock.time(), clock.now()

    assert (10.0, _at(5)) == base.run(main())


def test_jump_steps_the_wall_clock_and_leaves_sleeps_alone() -> None:
    """An NTP step changes now() at once; a sleep in progress still lasts its own duration."""
    base = VirtualClock()
    clock = SkewedClock(base)

    async def main() -> tuple[float, dt.datetime, int]:
        sleeper = asyncio.ensure_future(clock.sleep(10))
        await base.advance(1)
        clock.jump(3600)
        clock.jump(-60)
        await sleeper
        return base.time(), clock.now(), clock.statistics().jumps

    assert (10.0, _at(10 + 3540), 2) == base.run(main())


def test_frozen_clock_stands_still_and_holds_its_sleepers() -> None:
    """While frozen no sleep returns and time does not move; after thaw sleeps finish late."""
    base = VirtualClock()
    clock = SkewedClock(base, offset=2)

    async def main() -> list[object]:
        seen: list[object] = []
        sleeper = asyncio.ensure_future(clock.sleep(5))
        await base.advance(3)
        clock.freeze()
        await base.advance(100)
        seen += [sleeper.done(), clock.time(), clock.now()]
        clock.thaw()
        await sleeper
        seen += [base.time(), clock.time(), clock.now()]
        return seen

    # Frozen at base 3 for 100 s: the remaining 2 s of the sleep end at base 105.
    assert [False, 3.0, _at(5), 105.0, 5.0, _at(7)] == base.run(main())


def test_sleep_started_while_frozen_counts_from_thaw() -> None:
    """A sleep begun during a pause is measured on the stopped clock: it ends d after thaw."""
    base = VirtualClock()
    clock = SkewedClock(base)

    async def main() -> tuple[float, SkewedClockStatistics]:
        clock.freeze()
        sleeper = asyncio.ensure_future(clock.sleep(2))
        await base.advance(30)
        clock.thaw()
        await sleeper
        return base.time(), clock.statistics()

    elapsed, stats = base.run(main())
    assert 32.0 == elapsed
    expected = SkewedClockStatistics(
        offset=0.0, frozen=False, frozen_total=30.0, freezes=1, jumps=0, sleepers=0
    )
    assert expected == stats


def test_wait_thawed_returns_on_thaw() -> None:
    """wait_thawed() blocks while frozen and returns at the thaw."""
    base = VirtualClock()
    clock = SkewedClock(base)

    async def main() -> float:
        clock.freeze()
        waiter = asyncio.ensure_future(clock.wait_thawed())
        await base.advance(4)
        assert not waiter.done()
        clock.thaw()
        await waiter
        return base.time()

    assert 4.0 == base.run(main())


def test_freeze_twice_and_thaw_unfrozen_are_errors() -> None:
    """Misuse of the pause names what is wrong."""
    clock = SkewedClock(VirtualClock())
    with pytest.raises(RuntimeError, match="not frozen"):
        clock.thaw()
    clock.freeze()
    with pytest.raises(RuntimeError, match="already frozen"):
        clock.freeze()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "5", True])
def test_offset_must_be_a_finite_number(bad: object) -> None:
    """A non-finite or non-numeric offset is refused, naming the field."""
    with pytest.raises(ValueError, match="offset: must be a finite number"):
        SkewedClock(VirtualClock(), offset=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds: must be a finite number"):
        SkewedClock(VirtualClock()).jump(bad)  # type: ignore[arg-type]
