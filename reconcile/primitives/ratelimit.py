"""
Rate limiters: how long an item should wait before it is retried.

A :class:`RateLimiter` answers one question, ``when(item)``: *how many seconds
from now* may this item be processed again? The work queue's
``add_rate_limited`` feeds the answer to ``add_after``; a worker calls
``forget`` once the item succeeds, which clears its history (it does **not**
dequeue anything).

The three engines are client-go's ``default_rate_limiters.go``:

* :class:`ItemExponentialRateLimiter` backs off per item:
  ``min(base * 2**n, cap)`` where ``n`` is the number of earlier ``when``
  calls for that item (so the first retry waits ``base``). Huge ``n`` never
  overflows; it returns ``cap``.
* :class:`TokenBucketRateLimiter` is one bucket shared by all items: each
  ``when`` reserves a token and returns how long until that token exists.
  The bucket starts full (``burst`` tokens) and refills continuously at
  ``qps`` tokens per second of the injected clock. Reservations may drive
  the balance negative, which is how later callers learn to wait longer.
* :class:`MaxOfRateLimiter` asks every child and returns the largest delay.

:func:`default_rate_limiter` composes them like client-go's
``DefaultControllerRateLimiter``: per item 5 ms, 10 ms, 20 ms, ... up to
1000 s, and overall no more than 10 retries per second after a burst of 100.

Guarantees: ``when`` never returns a negative or non-finite number (given a
finite ``cap``), and is sync because it never blocks. The limiters hold no
locks; like the rest of the library they are used from one event loop.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Protocol, final, runtime_checkable

import attrs

from reconcile.primitives.clock import Clock

__all__ = [
    "ItemExponentialRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "RateLimiterStatistics",
    "TokenBucketRateLimiter",
    "default_rate_limiter",
]


@runtime_checkable
class RateLimiter(Protocol):
    """
    **Protocol:** decides how long an item waits before its next attempt.

    Guarantees: ``when`` returns a finite delay in seconds, ``>= 0``;
    ``forget`` and ``num_requeues`` never raise for unknown items.
    """

    def when(self, item: Hashable) -> float:
        """Record an attempt for ``item`` and return the seconds it must wait."""
        ...

    def forget(self, item: Hashable) -> None:
        """Clear everything remembered about ``item`` (it succeeded)."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many times ``item`` has been rate-limited since it was last forgotten."""
        ...


@attrs.frozen(kw_only=True)
class RateLimiterStatistics:
    """
    A snapshot of a rate limiter.

    Attributes:
        tracked: Items with a remembered failure count (0 for a token bucket).
        requests: Calls to ``when`` so far.
        throttled: Calls to ``when`` that returned a positive delay.
    """

    tracked: int = attrs.field(validator=attrs.validators.ge(0))
    requests: int = attrs.field(validator=attrs.validators.ge(0))
    throttled: int = attrs.field(validator=attrs.validators.ge(0))


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{attribute.name}: must be >= 0, got {value!r}")


@final
@attrs.define(eq=False, kw_only=True)
class ItemExponentialRateLimiter:
    """
    Per-item exponential backoff: ``min(base * 2**n, cap)``, ``n`` counting from 0.

    Args:
        base: Delay of the first retry, in seconds.
        cap: Largest delay ever returned, in seconds.

    Raises:
        ValueError: If ``base`` or ``cap`` is negative or NaN.
    """

    base: float = attrs.field(default=0.005, validator=_non_negative)
    cap: float = attrs.field(default=1000.0, validator=_non_negative)
    _failures: dict[Hashable, int] = attrs.field(factory=dict, init=False)
    _requests: int = attrs.field(default=0, init=False)
    _throttled: int = attrs.field(default=0, init=False)

    def when(self, item: Hashable) -> float:
        """
        Count a failure of ``item`` and return its backoff.

        Args:
            item: The item being retried.

        Returns:
            ``min(base * 2**n, cap)`` where ``n`` is the item's earlier failure count.
        """
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        self._requests += 1
        try:
            delay = min(math.ldexp(self.base, n), self.cap)
        except OverflowError:
            delay = self.cap
        if delay > 0:
            self._throttled += 1
        return delay

    def forget(self, item: Hashable) -> None:
        """Reset ``item``'s failure count, so its next retry waits ``base`` again."""
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        """Return ``item``'s failure count since it was last forgotten."""
        return self._failures.get(item, 0)

    def statistics(self) -> RateLimiterStatistics:
        """Return a snapshot of this limiter."""
        return RateLimiterStatistics(
            tracked=len(self._failures), requests=self._requests, throttled=self._throttled
        )


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:  # also rejects NaN
        raise ValueError(f"{attribute.name}: must be > 0, got {value!r}")


@final
@attrs.define(eq=False, kw_only=True)
class TokenBucketRateLimiter:
    """
    One token bucket shared by every item (client-go ``BucketRateLimiter``).

    Expected flow: each ``when`` takes one token. While tokens remain the
    delay is 0; afterwards the balance goes negative and the delay is the time
    the refill needs to pay the debt back, so calls are spaced ``1/qps`` apart.
    Over any span of ``t`` seconds at most ``burst + qps * t`` reservations
    become ready.

    Args:
        qps: Refill rate in tokens per second (``math.inf`` disables limiting).
        burst: Bucket size; also the initial number of tokens.
        clock: The clock whose ``time()`` measures the refill.

    Raises:
        ValueError: If ``qps`` is not positive or ``burst`` is below 1.
    """

    qps: float = attrs.field(default=10.0, validator=_positive)
    burst: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    _clock: Clock = attrs.field(alias="clock")
    _tokens: float = attrs.field(default=0.0, init=False)
    _last: float | None = attrs.field(default=None, init=False)
    _requests: int = attrs.field(default=0, init=False)
    _throttled: int = attrs.field(default=0, init=False)

    def when(self, item: Hashable) -> float:
        """
        Reserve a token and return how long until it is available.

        Args:
            item: Ignored; the bucket is global.

        Returns:
            Seconds until the reserved token exists (0 while the bucket has tokens).
        """
        now = self._clock.time()
        last = self._last
        if last is None:
            tokens = float(self.burst)
        else:
            tokens = self._tokens
            elapsed = now - last
            if elapsed > 0:
                tokens = min(float(self.burst), tokens + elapsed * self.qps)
        if last is None or now > last:
            self._last = now
        tokens -= 1.0
        self._tokens = tokens
        self._requests += 1
        if tokens >= 0:
            return 0.0
        self._throttled += 1
        return -tokens / self.qps

    def forget(self, item: Hashable) -> None:
        """Do nothing: a token bucket remembers no items."""

    def num_requeues(self, item: Hashable) -> int:
        """Return 0: a token bucket remembers no items."""
        return 0

    def statistics(self) -> RateLimiterStatistics:
        """Return a snapshot of this limiter."""
        return RateLimiterStatistics(tracked=0, requests=self._requests, throttled=self._throttled)


@final
@attrs.define(eq=False, init=False)
class MaxOfRateLimiter:
    """
    Combine limiters: the slowest answer wins.

    ``when`` calls every child (so each keeps counting) and returns the
    largest delay; ``num_requeues`` is the largest child count; ``forget``
    reaches every child.

    Args:
        *limiters: The limiters to combine; at least one.

    Raises:
        ValueError: If no limiter is given.
    """

    limiters: tuple[RateLimiter, ...]
    _requests: int
    _throttled: int

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("limiters: need at least one rate limiter")
        self.__attrs_init__(limiters, 0, 0)

    def when(self, item: Hashable) -> float:
        """
        Ask every limiter about ``item`` and return the longest delay.

        Args:
            item: The item being retried.

        Returns:
            The maximum of the children's delays.
        """
        delay = max([limiter.when(item) for limiter in self.limiters])
        self._requests += 1
        if delay > 0:
            self._throttled += 1
        return delay

    def forget(self, item: Hashable) -> None:
        """Make every limiter forget ``item``."""
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        """Return the largest requeue count any limiter holds for ``item``."""
        return max(limiter.num_requeues(item) for limiter in self.limiters)

    def statistics(self) -> RateLimiterStatistics:
        """Return a snapshot; ``tracked`` is the largest of the children's that report it."""
        tracked = 0
        for limiter in self.limiters:
            stats = getattr(limiter, "statistics", None)
            if callable(stats):
                snapshot = stats()
                if isinstance(snapshot, RateLimiterStatistics):
                    tracked = max(tracked, snapshot.tracked)
        return RateLimiterStatistics(
            tracked=tracked, requests=self._requests, throttled=self._throttled
        )


def default_rate_limiter(clock: Clock) -> MaxOfRateLimiter:
    """
    Build client-go's default controller rate limiter.

    Args:
        clock: The clock for the token bucket.

    Returns:
        ``MaxOf(ItemExponential(5 ms, 1000 s), TokenBucket(10 qps, burst 100))``.
    """
    return MaxOfRateLimiter(
        ItemExponentialRateLimiter(base=0.005, cap=1000.0),
        TokenBucketRateLimiter(qps=10.0, burst=100, clock=clock),
    )
