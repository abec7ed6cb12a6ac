"""Rate limiters: per-item exponential backoff, a global token bucket, and their max."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.primitives.clock import Clock
from reconcile.primitives.ratelimit import (
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    RateLimiterStatistics,
    TokenBucketRateLimiter,
    default_rate_limiter,
)


class SteppedClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def time(self) -> float:
        return self.elapsed

    def now(self) -> dt.datetime:
        return dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.elapsed)

    async def sleep(self, seconds: float) -> None:
        self.elapsed += max(0.0, seconds)


def test_stepped_clock_is_a_clock() -> None:
    """The test clock satisfies the Clock protocol."""
    assert isinstance(SteppedClock(), Clock)


def test_engines_satisfy_the_protocol() -> None:
    """Every engine is a RateLimiter."""
    clock = SteppedClock()
    limiters = [
        ItemExponentialRateLimiter(),
        TokenBucketRateLimiter(clock=clock),
        default_rate_limiter(clock),
    ]
    assert [True, True, True] == [isinstance(limiter, RateLimiter) for limiter in limiters]


def test_exponential_first_retry_waits_base() -> None:
    """The first retry of an item waits exactly `base` (n starts at 0)."""
    limiter = ItemExponentialRateLimiter(base=0.005, cap=1000.0)
    assert 0.005 == limiter.when("a")


def test_exponential_doubles_per_failure_and_caps() -> None:
    """Each failure doubles the delay until the cap."""
    limiter = ItemExponentialRateLimiter(base=1.0, cap=10.0)
    assert [1.0, 2.0, 4.0, 8.0, 10.0, 10.0] == [limiter.when("a") for _ in range(6)]


def test_exponential_tracks_items_separately() -> None:
    """One item's failures do not lengthen another item's backoff."""
    limiter = ItemExponentialRateLimiter(base=1.0, cap=100.0)
    limiter.when("a")
    limiter.when("a")
    assert (1.0, 2, 1) == (limiter.when("b"), limiter.num_requeues("a"), limiter.num_requeues("b"))


def test_exponential_reaches_default_cap_at_nineteenth_failure() -> None:
    """With 5 ms / 1000 s the 19th consecutive failure is the first one capped."""
    limiter = ItemExponentialRateLimiter()
    delays = [limiter.when("a") for _ in range(19)]
    assert (0.005 * 2**17, 1000.0) == (delays[17], delays[18])


def test_exponential_never_overflows() -> None:
    """Thousands of failures return the cap instead of raising OverflowError."""
    limiter = ItemExponentialRateLimiter(base=0.005, cap=1000.0)
    delays = [limiter.when("a") for _ in range(3000)]
    assert 1000.0 == delays[-1]


def test_forget_resets_backoff() -> None:
    """After forget, the next retry waits `base` and the count is 0."""
    limiter = ItemExponentialRateLimiter(base=1.0, cap=100.0)
    for _ in range(5):
        limiter.when("a")
    limiter.forget("a")
    assert (0, 1.0) == (limiter.num_requeues("a"), limiter.when("a"))


def test_exponential_rejects_negative_base() -> None:
    """A negative base is a configuration error."""
    with pytest.raises(ValueError, match="base"):
        ItemExponentialRateLimiter(base=-1.0)


def test_exponential_statistics_count_requests_and_tracked_items() -> None:
    """statistics() reports calls and remembered items."""
    limiter = ItemExponentialRateLimiter()
    limiter.when("a")
    limiter.when("a")
    limiter.when("b")
    limiter.forget("b")
    assert RateLimiterStatistics(tracked=1, requests=3, throttled=3) == limiter.statistics()


def test_token_bucket_grants_burst_without_delay() -> None:
    """A full bucket grants `burst` reservations at once, then spaces them 1/qps apart."""
    limiter = TokenBucketRateLimiter(qps=10.0, burst=3, clock=SteppedClock())
    delays = [limiter.when(i) for i in range(6)]
    assert [0.0, 0.0, 0.0] == delays[:3]
    assert [0.1, 0.2, 0.3] == pytest.approx(delays[3:])


def test_token_bucket_refills_with_clock_time() -> None:
    """Tokens come back at qps per second of clock time, up to burst."""
    clock = SteppedClock()
    limiter = TokenBucketRateLimiter(qps=2.0, burst=2, clock=clock)
    limiter.when("a")
    limiter.when("b")
    clock.elapsed = 100.0
    delays = [limiter.when(i) for i in range(3)]
    assert [0.0, 0.0, 0.5] == delays


def test_token_bucket_is_global_and_remembers_no_item() -> None:
    """The bucket has no per-item memory: requeues are 0 and forget is a no-op."""
    limiter = TokenBucketRateLimiter(qps=1.0, burst=1, clock=SteppedClock())
    limiter.when("a")
    limiter.forget("a")
    assert (0, 1.0) == (limiter.num_requeues("a"), limiter.when("b"))


def test_token_bucket_statistics_count_throttled_calls() -> None:
    """statistics() counts reservations that had to wait."""
    limiter = TokenBucketRateLimiter(qps=1.0, burst=2, clock=SteppedClock())
    for i in range(5):
        limiter.when(i)
    assert RateLimiterStatistics(tracked=0, requests=5, throttled=3) == limiter.statistics()


def test_token_bucket_rejects_zero_qps() -> None:
    """A bucket that never refills is a configuration error."""
    with pytest.raises(ValueError, match="qps"):
        TokenBucketRateLimiter(qps=0.0, clock=SteppedClock())


def test_token_bucket_with_infinite_qps_never_delays() -> None:
    """qps=inf disables limiting."""
    limiter = TokenBucketRateLimiter(qps=math.inf, burst=1, clock=SteppedClock())
    assert [0.0] * 5 == [limiter.when(i) for i in range(5)]


def test_max_of_returns_slowest_answer_and_asks_everyone() -> None:
    """MaxOf returns the largest delay, and every child counts the call."""
    slow = ItemExponentialRateLimiter(base=1.0, cap=100.0)
    fast = ItemExponentialRateLimiter(base=0.5, cap=100.0)
    limiter = MaxOfRateLimiter(fast, slow)
    limiter.when("a")
    assert (2.0, 2, 2) == (limiter.when("a"), slow.num_requeues("a"), fast.num_requeues("a"))


def test_max_of_num_requeues_is_max_and_forget_reaches_all() -> None:
    """num_requeues is the largest child count; forget clears every child."""
    clock = SteppedClock()
    exponential = ItemExponentialRateLimiter()
    limiter = MaxOfRateLimiter(TokenBucketRateLimiter(clock=clock), exponential)
    limiter.when("a")
    limiter.when("a")
    before = limiter.num_requeues("a")
    limiter.forget("a")
    assert (2, 0, 0) == (before, limiter.num_requeues("a"), exponential.num_requeues("a"))


def test_max_of_requires_a_limiter() -> None:
    """An empty MaxOf is a configuration error."""
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter()


def test_max_of_statistics_take_tracked_from_children() -> None:
    """MaxOf reports its own calls and the largest child `tracked`."""
    limiter = default_rate_limiter(SteppedClock())
    limiter.when("a")
    limiter.when("b")
    assert RateLimiterStatistics(tracked=2, requests=2, throttled=2) == limiter.statistics()


def test_default_limiter_backs_off_per_item() -> None:
    """The default limiter starts at 5 ms per item and doubles."""
    limiter = default_rate_limiter(SteppedClock())
    assert [0.005, 0.01, 0.02] == [limiter.when("a") for _ in range(3)]


def test_default_limiter_bucket_bites_after_burst_of_100() -> None:
    """After 100 rate-limited adds at one instant, the next waits 100 ms."""
    limiter = default_rate_limiter(SteppedClock())
    first = [limiter.when(i) for i in range(100)]
    assert [0.005] * 100 == first
    assert pytest.approx(0.1) == limiter.when(100)


@given(
    base=st.floats(min_value=1e-6, max_value=10.0),
    cap=st.floats(min_value=0.0, max_value=1e4),
    failures=st.integers(min_value=1, max_value=80),
)
def test_exponential_sequence_is_base_times_power_of_two_capped(
    base: float, cap: float, failures: int
) -> None:
    """The n-th delay (from 0) is min(base * 2**n, cap)."""
    limiter = ItemExponentialRateLimiter(base=base, cap=cap)
    expected = [min(base * 2.0**n, cap) for n in range(failures)]
    assert expected == [limiter.when("x") for _ in range(failures)]


@given(
    failures=st.integers(min_value=0, max_value=40),
    again=st.integers(min_value=1, max_value=10),
)
def test_forget_always_restarts_the_sequence(failures: int, again: int) -> None:
    """However many failures came before, forget makes the sequence start over."""
    limiter = ItemExponentialRateLimiter(base=0.25, cap=50.0)
    fresh = ItemExponentialRateLimiter(base=0.25, cap=50.0)
    for _ in range(failures):
        limiter.when("x")
    limiter.forget("x")
    assert [fresh.when("x") for _ in range(again)] == [limiter.when("x") for _ in range(again)]


@given(
    qps=st.floats(min_value=0.1, max_value=1000.0),
    burst=st.integers(min_value=1, max_value=50),
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=5.0), st.integers(0, 60)),
        min_size=1,
        max_size=20,
    ),
)
def test_token_bucket_never_grants_more_than_burst_plus_refill(
    qps: float, burst: int, steps: list[tuple[float, int]]
) -> None:
    """By any instant T, at most burst + qps * (T - t0) reservations are ready."""
    clock = SteppedClock()
    limiter = TokenBucketRateLimiter(qps=qps, burst=burst, clock=clock)
    ready_times: list[float] = []
    first_call: float | None = None
    for advance, calls in steps:
        clock.elapsed += advance
        if calls and first_call is None:
            first_call = clock.elapsed
        ready_times.extend(clock.elapsed + limiter.when(i) for i in range(calls))
    ready_times.sort()
    for granted, ready_at in enumerate(ready_times, start=1):
        assert first_call is not None
        allowance = burst + qps * (ready_at - first_call)
        assert granted <= allowance + 1e-6 * max(1.0, allowance)
