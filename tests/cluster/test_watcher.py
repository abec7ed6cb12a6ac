"""The list+watch reflector: snapshots, ordered changes, relists and backoff, in virtual time."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable

import attrs
import pytest

from reconcile.cluster.memory import MemoryCluster
from reconcile.cluster.watcher import (
    Applied,
    Backoff,
    Change,
    ListerWatcher,
    ListWatcher,
    Relisted,
    WatcherStatistics,
)
from reconcile.errors import ExpiredError, ServerError
from reconcile.model.meta import ObjectMeta, ResourceVersion
from reconcile.primitives.virtual import VirtualClock
from tests.cluster.flaky import FlakyClient
from tests.kinds import Widget, WidgetSpec

Summary = tuple[float, str, str]


def summarize(clock: VirtualClock, change: Change[Widget]) -> Summary:
    match change:
        case Relisted(objects=objects, resource_version=rv):
            names = ",".join(o.metadata.name for o in objects)
            return (round(clock.time(), 6), f"relisted@{rv}", names)
        case Applied(event=event):
            name = event.object.metadata.name if event.object is not None else ""
            return (round(clock.time(), 6), f"{event.type.value}@{event.resource_version}", name)


def new_widget(name: str) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"))


Scenario = Callable[[MemoryCluster, FlakyClient, ListWatcher[Widget]], Awaitable[None]]


def run_watcher(
    scenario: Scenario,
    *,
    history: int = 10_000,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    prepare: Callable[[FlakyClient], None] | None = None,
    seed: tuple[str, ...] = (),
) -> tuple[list[Summary], WatcherStatistics, FlakyClient]:
    """Run a watcher over a flaky MemoryCluster while `scenario` drives it; return what it saw."""
    clock = VirtualClock()
    cluster = MemoryCluster(clock=clock, history=history)
    client = FlakyClient(cluster)
    if prepare is not None:
        prepare(client)
    watcher: ListWatcher[Widget] = ListWatcher(
        client, Widget, clock=clock, backoff=backoff, rng=rng
    )
    seen: list[Summary] = []

    async def consume() -> None:
        async with contextlib.aclosing(watcher.changes()) as changes:
            async for change in changes:
                seen.append(summarize(clock, change))  # noqa: PERF401 (observed while streaming)

    async def main() -> None:
        for name in seed:
            await cluster.create(new_widget(name))
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(consume())
            await clock.wait_idle()
            await scenario(cluster, client, watcher)
            await clock.wait_idle()
            task.cancel()
        assert 0 == cluster.statistics().watchers

    clock.run(main())
    return seen, watcher.statistics(), client


def test_memory_cluster_is_a_lister_watcher() -> None:
    """Both the MemoryCluster and the test wrapper satisfy the protocol."""
    cluster = MemoryCluster()
    assert (True, True) == (
        isinstance(cluster, ListerWatcher),
        isinstance(FlakyClient(cluster), ListerWatcher),
    )


def test_emits_the_initial_list_then_changes_in_order() -> None:
    """The first change is the snapshot; watch events follow in commit order."""

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: ListWatcher[Widget]) -> None:
        created = await cluster.create(new_widget("b"))
        await cluster.update(attrs.evolve(created, spec=WidgetSpec(size=2)))
        await cluster.delete(Widget, "a", namespace="default")

    seen, stats, client = run_watcher(scenario, seed=("a",))
    assert [
        (0.0, "relisted@1", "a"),
        (0.0, "ADDED@2", "b"),
        (0.0, "MODIFIED@3", "b"),
        (0.0, "DELETED@4", "a"),
    ] == seen
    assert [(0.0, "1")] == client.watches
    assert (1, 1, 0, ResourceVersion("4")) == (
        stats.lists,
        stats.watches,
        stats.restarts,
        stats.resource_version,
    )


def test_relists_after_expired_watch() -> None:
    """A watch that falls behind the retained history relists at once, without backoff."""

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: ListWatcher[Widget]) -> None:
        for name in "abcde":  # no await yields between commits: the watch falls behind
            await cluster.create(new_widget(name))

    seen, stats, client = run_watcher(scenario, history=1)
    assert [(0.0, "relisted@0", ""), (0.0, "relisted@5", "a,b,c,d,e")] == seen
    assert (2, 1, 0) == (stats.lists, stats.expired, stats.errors)
    assert [0.0, 0.0] == client.lists


def test_repeated_expiry_backs_off() -> None:
    """Expiring again right after a relist waits with exponential backoff."""

    async def scenario(_: MemoryCluster, __: FlakyClient, ___: ListWatcher[Widget]) -> None:
        await asyncio.sleep(3)

    def prepare(client: FlakyClient) -> None:
        client.watch_failures = [ExpiredError("gone") for _ in range(4)]

    _, stats, client = run_watcher(scenario, prepare=prepare)
    assert [0.0, 0.0, 0.8, 2.4] == client.lists
    assert 4 == stats.expired


def test_retries_watch_errors_with_backoff() -> None:
    """Failed watches are retried from the last resource version after 0.8 s, 1.6 s, 3.2 s."""

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: ListWatcher[Widget]) -> None:
        await cluster.create(new_widget("a"))
        await asyncio.sleep(10)

    def prepare(client: FlakyClient) -> None:
        client.watch_failures = [OSError("reset"), OSError("reset"), ServerError("boom")]

    seen, stats, client = run_watcher(scenario, prepare=prepare)
    assert [(0.0, "0"), (0.8, "0"), (2.4, "0"), (5.6, "0")] == client.watches
    assert [(0.0, "relisted@0", ""), (5.6, "ADDED@1", "a")] == seen
    assert (1, 3, 3, 4) == (stats.lists, stats.errors, stats.restarts, stats.watches)


def test_broken_stream_resumes_without_losing_events() -> None:
    """An event lost with a broken connection is replayed by the re-watch from the last version."""

    async def scenario(cluster: MemoryCluster, client: FlakyClient, _: ListWatcher[Widget]) -> None:
        await cluster.create(new_widget("a"))
        await asyncio.sleep(1)
        client.break_streams(OSError("connection reset"))
        await cluster.create(new_widget("b"))
        await cluster.create(new_widget("c"))
        await asyncio.sleep(5)

    seen, stats, client = run_watcher(scenario)
    assert [
        (0.0, "relisted@0", ""),
        (0.0, "ADDED@1", "a"),
        (1.8, "ADDED@2", "b"),
        (1.8, "ADDED@3", "c"),
    ] == seen
    assert [(0.0, "0"), (1.8, "1")] == client.watches
    assert 1 == stats.lists


def test_backoff_resets_after_a_healthy_period() -> None:
    """After `reset_after` seconds without failures, the next retry waits the initial delay."""

    async def scenario(cluster: MemoryCluster, client: FlakyClient, _: ListWatcher[Widget]) -> None:
        for name in ("a", "b"):  # two quick failures: 0.8 s, then 1.6 s
            client.break_streams(OSError("reset"))
            await cluster.create(new_widget(name))
            await asyncio.sleep(2)
        await asyncio.sleep(200)
        client.break_streams(OSError("reset"))
        await cluster.create(new_widget("c"))
        await asyncio.sleep(2)

    _, _, client = run_watcher(scenario)
    assert [0.0, 0.8, 3.6, 204.8] == [t for t, _ in client.watches]


def test_list_errors_are_retried_with_backoff() -> None:
    """A failed list is retried (as a list) after the backoff."""

    async def scenario(_: MemoryCluster, __: FlakyClient, ___: ListWatcher[Widget]) -> None:
        await asyncio.sleep(5)

    def prepare(client: FlakyClient) -> None:
        client.list_failures = [ServerError("etcd unavailable"), OSError("refused")]

    seen, stats, client = run_watcher(scenario, prepare=prepare)
    assert [0.0, 0.8, 2.4] == client.lists
    assert [(2.4, "relisted@0", "")] == seen
    assert (1, 2, 0) == (stats.lists, stats.errors, stats.restarts)


def test_stream_end_rewatches_from_the_last_resource_version() -> None:
    """A watch that ends cleanly is re-opened after the last delivered event."""

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: ListWatcher[Widget]) -> None:
        await cluster.create(new_widget("a"))
        await asyncio.sleep(1)
        await cluster.create(new_widget("b"))
        await asyncio.sleep(5)

    def prepare(client: FlakyClient) -> None:
        client.end_streams_after = 1

    seen, stats, client = run_watcher(scenario, prepare=prepare)
    assert [(0.0, "0"), (0.8, "1"), (2.6, "2")] == client.watches
    assert ["a", "b"] == [name for _, kind, name in seen if kind.startswith("ADDED")]
    assert (0, 2) == (stats.errors, stats.restarts)


def test_tracks_bookmark_resource_versions() -> None:
    """BOOKMARKs are passed on and move the resource version used by the next watch."""

    async def scenario(cluster: MemoryCluster, client: FlakyClient, _: ListWatcher[Widget]) -> None:
        await cluster.create(new_widget("a"))
        await cluster.create(new_widget("b"))
        await asyncio.sleep(1)
        client.bookmark = None
        client.break_streams(OSError("reset"))
        await cluster.create(new_widget("c"))
        await asyncio.sleep(5)

    def prepare(client: FlakyClient) -> None:
        client.bookmark = ResourceVersion("1")

    seen, stats, client = run_watcher(scenario, prepare=prepare)
    assert (0.0, "BOOKMARK@1", "") == seen[1]
    assert [(0.0, "0"), (1.8, "2")] == client.watches
    assert ResourceVersion("3") == stats.resource_version


def test_unexpected_exceptions_propagate() -> None:
    """Exceptions outside the ApiError/OSError families are bugs and end the iteration."""
    clock = VirtualClock()
    client = FlakyClient(MemoryCluster(clock=clock))
    client.list_failures = [RuntimeError("bug")]
    watcher: ListWatcher[Widget] = ListWatcher(client, Widget, clock=clock)

    async def main() -> None:
        async for _ in watcher.changes():
            pass

    with pytest.raises(RuntimeError, match="bug"):
        clock.run(main())


def test_changes_cannot_be_iterated_twice_at_once() -> None:
    """One watcher feeds one consumer."""
    clock = VirtualClock()
    watcher: ListWatcher[Widget] = ListWatcher(MemoryCluster(clock=clock), Widget, clock=clock)

    async def main() -> None:
        async with contextlib.aclosing(watcher.changes()) as first:
            await anext(first)
            with pytest.raises(RuntimeError, match="already being iterated"):
                await anext(watcher.changes())

    clock.run(main())


@pytest.mark.parametrize(
    ("attempt", "expected"), [(0, 0.8), (1, 1.6), (2, 3.2), (5, 25.6), (6, 30.0), (10_000, 30.0)]
)
def test_backoff_doubles_up_to_the_cap(attempt: int, expected: float) -> None:
    """Without a random generator, delays are exact: 0.8 s doubling to 30 s."""
    assert expected == pytest.approx(Backoff().delay(attempt))


def test_backoff_jitter_is_bounded_and_reproducible() -> None:
    """Jitter stays within ±jitter and depends only on the seed."""
    backoff = Backoff(jitter=0.5)
    first = [backoff.delay(n, random.Random(7)) for n in range(8)]
    second = [backoff.delay(n, random.Random(7)) for n in range(8)]
    assert first == second
    assert all(
        0.5 * Backoff().delay(n) <= d <= min(1.5 * Backoff().delay(n), 30.0)
        for n, d in enumerate(first)
    )


def test_backoff_rejects_invalid_settings() -> None:
    """Non-positive delays and jitter outside [0, 1] are refused."""
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)
