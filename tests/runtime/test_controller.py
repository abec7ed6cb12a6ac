"""
Controller: the one outcome → queue table, and the work queue's promises seen end to end.

Every scenario runs a real :class:`Manager` over a :class:`MemoryCluster` in
virtual time, and asserts on the virtual instants at which reconciles
started, so "after exactly 2.5 s" and "at once" are checked, not assumed.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from reconcile.errors import (
    ConflictError,
    NotFoundError,
    RetryAfter,
    TerminalError,
    TooManyRequestsError,
)
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.controller import Controller, Watch
from reconcile.runtime.handlers import enqueue_mapped
from reconcile.runtime.manager import Manager
from reconcile.runtime.reconciler import Request, Result, reconciler
from reconcile.testing import MemoryCluster, run
from tests.kinds import Gadget, Widget, WidgetSpec, WidgetStatus

Outcome = Result | Exception


def _widget(name: str, *, size: int = 1) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"), spec=WidgetSpec(size=size))


async def _touch(cluster: MemoryCluster, name: str) -> None:
    """Change a widget's spec, so its informer reports an update."""
    current = cluster.get_nowait(Widget, name, namespace="default")
    spec = attrs.evolve(current.spec, color=f"{current.spec.color}+")
    await cluster.update(attrs.evolve(current, spec=spec))


@attrs.frozen(kw_only=True)
class Run:
    """What a scripted scenario observed."""

    starts: list[float]
    outcomes: dict[str, int]
    reconciles: int
    retries: int

    @property
    def delays(self) -> list[float]:
        """Virtual seconds between consecutive reconcile starts."""
        return [b - a for a, b in zip(self.starts, self.starts[1:], strict=False)]


def _scripted(script: Sequence[Outcome], *, then_touch_at: float | None = None) -> Run:
    """
    Reconcile one widget whose reconciler returns (or raises) ``script`` in turn, then done.

    With ``then_touch_at``, the widget's spec changes at that virtual instant.
    """
    remaining = list(script)

    async def scenario(clock: VirtualClock) -> Run:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        starts: list[float] = []

        async def sync(_request: Request) -> Result:
            starts.append(clock.time())
            if not remaining:
                return Result.done()
            outcome = remaining.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        controller = manager.add(
            Controller(name="scripted", for_=Widget, reconciler=reconciler(sync))
        )
        await cluster.create(_widget("w"))
        async with manager:
            if then_touch_at is not None:
                await clock.advance(then_touch_at - clock.time())
                await _touch(cluster, "w")
            await clock.advance(60)
            stats = controller.statistics()
        assert stats.queue is not None
        return Run(
            starts=[t - starts[0] for t in starts],
            outcomes=stats.outcomes,
            reconciles=stats.reconciles,
            retries=stats.queue.retries,
        )

    return run(scenario)


# -- the outcome → queue table ---------------------------------------------


def test_does_nothing_more_after_done() -> None:
    """Result.done() forgets the key: no further reconcile until something changes."""
    result = _scripted([Result.done()])

    assert [0.0] == result.starts
    assert {"success": 1} == result.outcomes


def test_requeues_after_the_requested_delay() -> None:
    """Result.after(d) reconciles again after exactly d virtual seconds."""
    result = _scripted([Result.after(7.5), Result.after(2.5)])

    assert [7.5, 2.5] == result.delays
    assert {"requeue_after": 2, "success": 1} == result.outcomes


def test_does_not_retry_a_terminal_error() -> None:
    """TerminalError drops the key: it is neither retried nor rate-limited."""
    result = _scripted([TerminalError("spec.size: cannot be satisfied")])

    assert [0.0] == result.starts
    assert {"terminal_error": 1} == result.outcomes
    assert 0 == result.retries


def test_retries_after_the_delay_of_retry_after() -> None:
    """RetryAfter(d) reconciles again after exactly d seconds, not after the backoff."""
    result = _scripted([RetryAfter(2.5), RetryAfter(0.5)])

    assert [2.5, 0.5] == result.delays
    assert {"retry_after": 2, "success": 1} == result.outcomes
    assert 0 == result.retries


def test_retries_a_conflict_at_once() -> None:
    """ConflictError (a stale read) is retried at the same virtual instant, without backoff."""
    result = _scripted([ConflictError("stale"), ConflictError("stale")])

    assert [0.0, 0.0, 0.0] == result.starts
    assert {"conflict": 2, "success": 1} == result.outcomes
    assert 0 == result.retries


def test_a_conflict_that_keeps_coming_backs_off_instead_of_spinning() -> None:
    """From the fourth conflict in a row a key backs off, so a stale cache cannot spin it."""
    result = _scripted([ConflictError("stale")] * 5)

    assert [0.0, 0.0, 0.0, 0.0, 0.005, 0.015] == result.starts
    assert {"conflict": 5, "success": 1} == result.outcomes
    assert 2 == result.retries


def test_treats_not_found_as_done() -> None:
    """NotFoundError means the object is gone: the key is forgotten, not retried."""
    result = _scripted([NotFoundError("widgets 'w' not found")])

    assert [0.0] == result.starts
    assert {"not_found": 1} == result.outcomes


def test_retries_other_errors_with_exponential_backoff() -> None:
    """Any other exception is retried after 5 ms, 10 ms, 20 ms, 40 ms... of virtual time."""
    result = _scripted([ConnectionError("refused")] * 4)

    assert [0.005, 0.01, 0.02, 0.04] == pytest.approx(result.delays, abs=1e-9)
    assert {"error": 4, "success": 1} == result.outcomes
    assert 4 == result.retries


def test_retries_too_many_requests_after_its_retry_after() -> None:
    """TooManyRequestsError is retried after the server's retry_after, not the backoff."""
    result = _scripted([TooManyRequestsError("throttled", retry_after=3.0)])

    assert [3.0] == result.delays
    assert {"retry_after": 1, "success": 1} == result.outcomes


@pytest.mark.parametrize(
    "forgetting",
    [Result.done(), NotFoundError("gone"), TerminalError("bad spec"), RetryAfter(0.5)],
    ids=["done", "not_found", "terminal", "retry_after"],
)
def test_success_and_final_outcomes_reset_the_backoff(forgetting: Outcome) -> None:
    """After done, not-found, terminal or RetryAfter, the next failure backs off from 5 ms again."""
    boom = ConnectionError("refused")
    requeued = [Result.done()] if isinstance(forgetting, RetryAfter) else []
    result = _scripted([boom, boom, forgetting, *requeued, boom], then_touch_at=10)

    assert 10.0 == pytest.approx(result.starts[-2])  # the spec change
    assert pytest.approx(0.005, abs=1e-9) == result.delays[-1]


def test_counts_reconciles_by_outcome() -> None:
    """statistics() counts every reconcile under the name of its outcome."""
    result = _scripted(
        [
            ConnectionError("refused"),
            ConflictError("stale"),
            RetryAfter(1),
            Result.after(2),
            NotFoundError("gone"),
        ]
    )

    expected = {"error": 1, "conflict": 1, "retry_after": 1, "requeue_after": 1, "not_found": 1}
    assert expected == result.outcomes
    assert 5 == result.reconciles


# -- the work queue's promises, end to end ---------------------------------


def test_never_reconciles_one_key_in_two_workers_at_once() -> None:
    """With workers=4 and a stream of events, no key is ever in two reconciles at once."""

    async def scenario(clock: VirtualClock) -> tuple[int, int, int]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        active: set[Request] = set()
        overlaps = peak = 0

        async def sync(request: Request) -> Result:
            nonlocal overlaps, peak
            overlaps += request in active
            active.add(request)
            peak = max(peak, len(active))
            await clock.sleep(1)
            active.discard(request)
            return Result.done()

        controller = manager.add(
            Controller(name="busy", for_=Widget, reconciler=reconciler(sync), workers=4)
        )
        for name in ("a", "b", "c"):
            await cluster.create(_widget(name))
        async with manager:
            for _ in range(8):
                for name in ("a", "b", "c"):
                    await _touch(cluster, name)
                await clock.advance(0.25)
            await clock.advance(10)
        return overlaps, peak, controller.statistics().reconciles

    overlaps, peak, reconciles = run(scenario)

    assert 0 == overlaps
    assert 3 == peak  # the three keys did run side by side
    assert reconciles < 3 * 9  # 27 events (3 creates + 24 updates) collapsed


def test_reconciles_once_more_after_events_during_a_reconcile() -> None:
    """Events that arrive while a key is reconciling cause exactly one more reconcile, after it."""

    async def scenario(clock: VirtualClock) -> list[float]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        starts: list[float] = []

        async def slow(_request: Request) -> Result:
            starts.append(clock.time())
            await clock.sleep(5)
            return Result.done()

        manager.add(Controller(name="slow", for_=Widget, reconciler=reconciler(slow), workers=4))
        await cluster.create(_widget("w"))
        async with manager:
            begin = clock.time()
            for _ in range(3):
                await clock.advance(1)
                await _touch(cluster, "w")
            await clock.advance(30)
        return [t - begin for t in starts]

    assert [0.0, 5.0] == run(scenario)


def test_collapses_many_events_for_a_queued_key_into_one_reconcile() -> None:
    """Many events for a key that is waiting in the queue lead to a single reconcile."""

    async def scenario(clock: VirtualClock) -> list[tuple[str, float]]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        starts: list[tuple[str, float]] = []

        async def slow(request: Request) -> Result:
            starts.append((request.name, clock.time()))
            await clock.sleep(5)
            return Result.done()

        manager.add(Controller(name="one-worker", for_=Widget, reconciler=reconciler(slow)))
        await cluster.create(_widget("a"))
        async with manager:
            begin = clock.time()
            await clock.advance(1)  # "a" is reconciling; the only worker is busy
            await cluster.create(_widget("b"))
            for _ in range(5):
                await _touch(cluster, "b")
                await clock.advance(0.5)
            await clock.advance(30)
        return [(name, t - begin) for name, t in starts]

    assert [("a", 0.0), ("b", 5.0)] == run(scenario)


def test_conflicts_from_a_stale_cache_do_not_starve_the_informer() -> None:
    """A reconciler retrying a conflict at once still lets the cache catch up, then succeeds."""

    async def scenario(clock: VirtualClock) -> tuple[int, dict[str, int], WidgetStatus]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        cache = manager.store(Widget)
        attempts = 0

        async def sync(request: Request) -> Result:
            nonlocal attempts
            attempts += 1
            if attempts > 100:
                raise TerminalError("starved: the cache never caught up")
            current = cache.get(request)
            assert current is not None
            wanted = WidgetStatus(ready=current.spec.size, observed_generation=1)
            if current.status == wanted:
                return Result.done()
            if attempts == 1:  # someone else writes between our cache read and our write
                meta = attrs.evolve(current.metadata, labels={"touched": "yes"})
                await cluster.update(attrs.evolve(current, metadata=meta))
            # Never suspends in MemoryCluster; stale until the informer delivers the write.
            await cluster.update_status(attrs.evolve(current, status=wanted))
            return Result.done()

        controller = manager.add(
            Controller(name="status", for_=Widget, reconciler=reconciler(sync))
        )
        await cluster.create(_widget("w", size=3))
        async with manager:
            await clock.advance(1)
        status = cluster.get_nowait(Widget, "w", namespace="default").status
        return attempts, controller.statistics().outcomes, status

    attempts, outcomes, status = run(scenario)

    assert WidgetStatus(ready=3, observed_generation=1) == status
    assert "terminal_error" not in outcomes  # the guard against starvation never fired
    assert outcomes["conflict"] >= 1  # the scenario did retry a stale write
    assert attempts == outcomes["conflict"] + outcomes["success"]


def test_start_reconciles_keys_mapped_from_objects_already_cached() -> None:
    """
    A watched object cached before the controller runs still enqueues what it
    maps to, even a key whose primary object is gone (as a pod of a deleted Job).
    """

    async def scenario(clock: VirtualClock) -> list[str]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        seen: list[str] = []

        async def sync(request: Request) -> Result:
            seen.append(request.name)
            return Result.done()

        def owner_of(obj: Resource) -> list[ObjectKey]:
            return [ObjectKey(namespace="default", name=f"owner-of-{obj.metadata.name}")]

        manager.add(
            Controller(
                name="mapped",
                for_=Widget,
                reconciler=reconciler(sync),
                watches=[Watch(kind=Gadget, mapper=enqueue_mapped(owner_of))],
            )
        )
        await cluster.create(_widget("w"))
        await cluster.create(Gadget(metadata=ObjectMeta(name="g", namespace="default")))
        async with manager:
            await clock.advance(1)
        return seen

    assert ["owner-of-g", "w"] == sorted(run(scenario))
