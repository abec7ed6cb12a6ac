"""FaultyClient: each fault behaves as its Kubernetes counterpart, and nothing more."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import attrs
import pytest

from reconcile import ClientFaults, FaultyClient, Informer, VirtualClock, event_handler
from reconcile.cluster.client import MergePatch, Preconditions, WatchEvent
from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import (
    ConflictError,
    ExpiredError,
    NotFoundError,
    ServerError,
    TooManyRequestsError,
)
from reconcile.model.frozen import freeze
from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectMeta
from tests.kinds import Gizmo, Widget, WidgetSpec

T = TypeVar("T")


def run(body: Callable[[VirtualClock, MemoryCluster], Awaitable[T]]) -> T:
    """Run ``body(clock, server)`` on a fresh virtual loop."""
    clock = VirtualClock()

    async def main() -> T:
        return await body(clock, MemoryCluster(clock=clock, seed=1))

    return clock.run(main())


def new_widget(name: str, *, size: int = 1, labels: dict[str, str] | None = None) -> Widget:
    return Widget(
        metadata=ObjectMeta(name=name, namespace="x", labels=labels or {}),
        spec=WidgetSpec(size=size),
    )


async def resize(server: MemoryCluster, name: str, size: int, **labels: str) -> Widget:
    current = server.get_nowait(Widget, name, namespace="x")
    meta = attrs.evolve(current.metadata, labels=labels) if labels else current.metadata
    return await server.update(attrs.evolve(current, metadata=meta, spec=WidgetSpec(size=size)))


class Reader:
    """Reads a raw watch stream into ``events`` in the background."""

    def __init__(self, stream: AsyncIterator[WatchEvent[Any]]) -> None:
        self.stream = stream
        self.events: list[WatchEvent[Any]] = []
        self.error: BaseException | None = None
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for event in self.stream:
                self.events.append(event)
        except Exception as exc:
            self.error = exc

    def seen(self) -> list[tuple[str, str, int]]:
        return [
            (e.type.value, e.object.metadata.name if e.object else "", int(e.resource_version))
            for e in self.events
        ]

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.stream.aclose()  # type: ignore[attr-defined]


def seed_where(*draws: bool, rate: float = 0.5) -> int:
    """A seed whose first random decisions at ``rate`` come out as ``draws``."""
    for seed in range(10_000):
        rng = random.Random(seed)
        if all((rng.random() < rate) == d for d in draws):
            return seed
    raise AssertionError("no such seed")


def store_state(informer: Informer[Widget]) -> list[tuple[str, str]]:
    return sorted((w.metadata.name, w.metadata.resource_version) for w in informer.store.list())


def server_state(server: MemoryCluster) -> list[tuple[str, str]]:
    items = server.list_nowait(Widget).items
    return sorted((w.metadata.name, w.metadata.resource_version) for w in items)


async def with_informer(
    client: FaultyClient,
    clock: VirtualClock,
    body: Callable[[Informer[Widget]], Awaitable[None]],
) -> None:
    informer = Informer(client, Widget, clock=clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(informer.run())
        await informer.wait_synced()
        try:
            await body(informer)
        finally:
            task.cancel()


# -- arguments ---------------------------------------------------------------------


def test_rates_outside_zero_to_one_are_refused_naming_the_field() -> None:
    """A rate outside [0, 1] is a ValueError that names the rate."""
    with pytest.raises(ValueError, match="drop_rate"):
        ClientFaults(drop_rate=1.5)


def test_set_faults_refuses_an_unknown_fault_naming_it() -> None:
    """An unknown fault name is a clear error, not a silent no-op."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock)
        with pytest.raises(TypeError, match="drop_ratio"):
            client.set_faults(drop_ratio=0.5)

    run(body)


# -- write faults and crashes --------------------------------------------------------


def test_injected_conflicts_and_throttles_change_nothing_on_the_server() -> None:
    """A write failed with an injected 409 or 429 never reaches the server."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        created = await server.create(new_widget("a"))
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(conflict_rate=1))
        with pytest.raises(ConflictError):
            await client.update(attrs.evolve(created, spec=WidgetSpec(size=5)))
        with pytest.raises(ConflictError):
            await client.delete(
                Widget, "a", namespace="x", preconditions=Preconditions(resource_version=None)
            )
        client.set_faults(conflict_rate=0.0, throttle_rate=1.0)
        with pytest.raises(TooManyRequestsError):
            await client.create(new_widget("b"))
        with pytest.raises(TooManyRequestsError):
            await client.patch(
                Widget, "a", MergePatch(patch=freeze({"spec": {"size": 9}})), namespace="x"
            )
        assert (1, 0) == (server.statistics().writes, client.writes)
        assert [created] == list(server.list_nowait(Widget).items)

    run(body)


def test_crash_takes_effect_right_after_the_kth_successful_write() -> None:
    """crash_after(2): two writes land, the third and every read or watch fail, on_crash once."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        crashes: list[FaultyClient] = []
        client = FaultyClient(server, name="c", clock=clock, on_crash=crashes.append)
        client.crash_after(2)
        states = []
        for name in ("a", "b"):
            await client.create(new_widget(name))
            states.append(client.crashed)
        assert [False, True] == states
        with pytest.raises(ServerError):
            await client.create(new_widget("c"))
        with pytest.raises(ServerError):
            await client.get(Widget, "a", namespace="x")
        with pytest.raises(ServerError):
            await client.list(Widget)
        with pytest.raises(ServerError):
            client.watch(Widget)
        assert (["a", "b"], 2) == (
            [w.metadata.name for w in server.list_nowait(Widget).items],
            client.writes,
        )
        assert [client] == crashes

    run(body)


def test_crash_after_zero_refuses_the_very_next_write() -> None:
    """crash_after(0): the next write is the crash; it never reaches the server."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        crashes: list[FaultyClient] = []
        client = FaultyClient(server, name="c", clock=clock, on_crash=crashes.append)
        client.crash_after(0)
        await client.list(Widget)  # reads do not trigger it
        with pytest.raises(ServerError):
            await client.create(new_widget("a"))
        with pytest.raises(ServerError):
            await client.create(new_widget("b"))
        assert ([], 0, [client]) == (list(server.list_nowait(Widget).items), client.writes, crashes)

    run(body)


def test_crash_ends_open_streams_and_streams_not_yet_read() -> None:
    """Open watches end with ServerError; one opened before the crash but read after fails too."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock)
        reader = Reader(client.watch(Widget))
        unread = client.watch(Widget)
        await clock.wait_idle()
        client.crash_after(1)
        await client.create(new_widget("a"))
        await clock.wait_idle()
        assert isinstance(reader.error, ServerError)
        with pytest.raises(ServerError):
            await anext(unread)
        await reader.close()

    run(body)


# -- watch perturbation --------------------------------------------------------------


def test_reorder_swaps_only_events_of_different_objects() -> None:
    """With every event a reorder candidate, one object's events still arrive in commit order."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(reorder_rate=1))
        reader = Reader(client.watch(Widget, since=server.resource_version))
        await server.create(new_widget("a"))
        await clock.wait_idle()
        await server.create(new_widget("b"))
        await clock.wait_idle()
        await resize(server, "a", 2)
        await clock.wait_idle()
        await resize(server, "a", 3)
        await clock.wait_idle()
        client.set_faults(reorder_rate=0.0)
        await clock.wait_idle()
        rvs: dict[str, list[int]] = {}
        for _, name, rv in reader.seen():
            rvs.setdefault(name, []).append(rv)
        assert {"a": [1, 3, 4], "b": [2]} == rvs
        assert [2, 1] == [rv for _, _, rv in reader.seen()][:2]  # a real swap happened
        await reader.close()

    run(body)


def test_bookmark_never_passes_an_event_held_for_reorder() -> None:
    """A bookmark never overtakes an event held back, or a re-watch would skip that event."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(reorder_rate=1))
        stream = client.watch(Widget, labels="app=a", since=server.resource_version, bookmarks=True)
        reader = Reader(stream)
        await server.create(new_widget("a", labels={"app": "a"}))  # held for reorder
        await clock.wait_idle()
        await server.create(new_widget("other"))  # filtered out: a bookmark at rv 2
        await clock.wait_idle()
        delivered = [rv for _, _, rv in reader.seen()]
        assert all(rv < 1 for rv in delivered), delivered
        client.set_faults(reorder_rate=0.0)
        await clock.wait_idle()
        assert [("ADDED", "a", 1), ("BOOKMARK", "", 2)] == reader.seen()
        await reader.close()

    run(body)


def test_nothing_is_delivered_after_a_dropped_event() -> None:
    """A lost event loses the rest of its connection: the stream ends with 410 at once."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        seed = seed_where(True, False)  # drop the first event, not the second
        client = FaultyClient(server, name="c", clock=clock, seed=seed)
        reader = Reader(client.watch(Widget, since=server.resource_version))
        client.lag()
        await server.create(new_widget("a"))
        await server.create(new_widget("b"))
        await clock.wait_idle()
        client.set_faults(drop_rate=0.5)
        client.catch_up()  # both events released in one batch
        await clock.wait_idle()
        assert [] == reader.seen()
        assert isinstance(reader.error, ExpiredError)
        await reader.close()

    run(body)


def test_dropped_event_ends_the_stream_with_410_at_the_next_event() -> None:
    """A dropped last event leaves the stream quiet until the next event, which ends it with 410."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(drop_rate=1))
        reader = Reader(client.watch(Widget, since=server.resource_version))
        await server.create(new_widget("a"))
        await clock.wait_idle()
        assert (None, []) == (reader.error, reader.seen())
        client.set_faults(drop_rate=0.0)
        await server.create(new_widget("b"))
        await clock.wait_idle()
        assert ([], ExpiredError) == (reader.seen(), type(reader.error))
        await reader.close()

    run(body)


def test_duplicate_repeats_an_event_right_after_itself() -> None:
    """A duplicated event is delivered twice in a row, and nothing else changes."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(duplicate_rate=1))
        reader = Reader(client.watch(Widget, since=server.resource_version))
        await server.create(new_widget("a"))
        await resize(server, "a", 2)
        await clock.wait_idle()
        expected = [("ADDED", "a", 1), ("ADDED", "a", 1), ("MODIFIED", "a", 2)]
        assert [*expected, ("MODIFIED", "a", 2)] == reader.seen()
        await reader.close()

    run(body)


def test_coalesce_delivers_only_the_last_state_of_each_object() -> None:
    """Held changes merge into each object's last state; one created and deleted vanishes."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("old"))
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(coalesce=True))
        reader = Reader(client.watch(Widget, since=server.resource_version))
        await server.create(new_widget("a"))  # 2
        await resize(server, "a", 2)  # 3
        await server.create(new_widget("gone"))  # 4
        await resize(server, "old", 7)  # 5
        await server.delete(Widget, "gone", namespace="x")  # 6
        await server.delete(Widget, "old", namespace="x")  # 7
        await clock.wait_idle()
        assert [] == reader.seen()
        client.set_faults(coalesce=False)
        await clock.wait_idle()
        assert [("ADDED", "a", 3), ("DELETED", "old", 7)] == reader.seen()
        await reader.close()

    run(body)


def test_coalesce_keeps_the_final_state_of_an_object_that_left_and_rejoined_a_filtered_watch() -> (
    None
):
    """An object seen before the batch that ends outside the selector is delivered as DELETED."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("a", labels={"app": "a"}))
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(coalesce=True))
        reader = Reader(client.watch(Widget, labels="app=a", since=server.resource_version))
        await resize(server, "a", 2, app="b")  # leaves: DELETED
        await resize(server, "a", 3, app="a")  # rejoins: ADDED
        await resize(server, "a", 4, app="b")  # leaves again: DELETED
        await clock.wait_idle()
        client.set_faults(coalesce=False)
        await clock.wait_idle()
        assert [("DELETED", "a", 4)] == reader.seen()
        await reader.close()

    run(body)


def test_closing_a_stream_cancels_its_pump_task() -> None:
    """No task outlives a closed stream."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(coalesce=True))
        before = asyncio.all_tasks()
        stream = client.watch(Widget)
        reader = Reader(stream)
        await server.create(new_widget("a"))
        await clock.wait_idle()
        assert len(asyncio.all_tasks()) > len(before)
        await reader.close()
        await clock.wait_idle()
        assert before == asyncio.all_tasks()
        assert 0 == server.statistics().watchers

    run(body)


# -- stale reads ---------------------------------------------------------------------


def test_lagging_replica_answers_reads_from_its_snapshot() -> None:
    """get and list answer as of lag(); the list's resource version is the snapshot's."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("a"))
        await server.create(Gizmo(metadata=ObjectMeta(name="g")))
        client = FaultyClient(server, name="c", clock=clock)
        client.lag()
        await resize(server, "a", 5)
        await server.create(new_widget("b"))
        assert 1 == (await client.get(Widget, "a", namespace="x")).spec.size
        with pytest.raises(NotFoundError):
            await client.get(Widget, "b", namespace="x")
        listing = await client.list(Widget)
        assert (["a"], "2") == ([w.metadata.name for w in listing.items], listing.resource_version)
        # As the server does, a namespace given for a cluster-scoped kind is ignored.
        assert "g" == (await client.get(Gizmo, "g", namespace="x")).metadata.name
        client.catch_up()
        assert 5 == (await client.get(Widget, "a", namespace="x")).spec.size

    run(body)


def test_informer_relisting_while_lagging_ends_equal_to_the_server_after_catch_up() -> None:
    """A relist from a lagging replica and the held events fit together exactly."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("a"))
        client = FaultyClient(server, name="c", clock=clock)

        async def check(informer: Informer[Widget]) -> None:
            client.lag()
            lagged = server_state(server)
            await server.create(new_widget("b"))
            await resize(server, "a", 2)
            client.expire_watches()
            await clock.advance(1)
            assert lagged == store_state(informer)
            await server.delete(Widget, "b", namespace="x")
            client.catch_up()
            await clock.advance(1)
            assert server_state(server) == store_state(informer)

        await with_informer(client, clock, check)

    run(body)


def test_expire_watches_on_a_remembered_lag_travels_back_in_time_then_converges() -> None:
    """lag(remembered=True) + expire_watches relists the old snapshot; catch_up converges."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("a"))
        client = FaultyClient(server, name="c", clock=clock)
        client.remember()
        remembered = server_state(server)
        seen: list[tuple[str, int]] = []

        async def check(informer: Informer[Widget]) -> None:
            informer.add_handler(
                _rv_handler(seen),
            )
            await server.create(new_widget("b"))
            await resize(server, "a", 2)
            await clock.advance(1)
            assert server_state(server) == store_state(informer)
            client.lag(remembered=True)
            client.expire_watches()
            await clock.advance(1)
            assert remembered == store_state(informer)
            await resize(server, "a", 3)
            client.catch_up()
            await clock.advance(1)
            assert server_state(server) == store_state(informer)

        await with_informer(client, clock, check)
        assert ("a", 1) in seen[seen.index(("a", 3)) :]  # it really went back in time

    run(body)


def test_lagging_fresh_watch_starts_from_the_snapshot_with_a_bookmark() -> None:
    """A watch without ``since`` on a lagging replica lists the snapshot, then bookmarks it."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("a"))
        client = FaultyClient(server, name="c", clock=clock)
        client.lag()
        await server.create(new_widget("b"))
        reader = Reader(client.watch(Widget, bookmarks=True))
        await clock.wait_idle()
        assert [("ADDED", "a", 1), ("BOOKMARK", "", 1)] == reader.seen()
        client.catch_up()
        await clock.wait_idle()
        assert ("ADDED", "b", 2) == reader.seen()[-1]
        await reader.close()

    run(body)


def test_heal_restores_an_exact_cache_in_bounded_time() -> None:
    """After drops, reorders, coalescing and lag, heal() makes the cache exact within a backoff."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, seed=7)

        async def check(informer: Informer[Widget]) -> None:
            client.set_faults(drop_rate=0.3, reorder_rate=0.5, duplicate_rate=0.3)
            for i in range(8):
                await server.create(new_widget(f"w{i}"))
                await clock.advance(0.1)
            client.set_faults(coalesce=True)
            client.lag()
            for i in range(8):
                await resize(server, f"w{i}", i + 2)
            await server.delete(Widget, "w3", namespace="x")
            await clock.advance(1)
            client.heal()
            await clock.advance(40)  # more than the watcher's longest backoff
            assert server_state(server) == store_state(informer)
            assert not client.lagging
            assert ClientFaults() == client.faults

        await with_informer(client, clock, check)

    run(body)


def _rv_handler(seen: list[tuple[str, int]]) -> Any:
    def note(obj: Resource) -> None:
        seen.append((obj.metadata.name, int(obj.metadata.resource_version)))

    return event_handler(on_add=note, on_update=lambda _old, new: note(new), on_delete=note)


def test_reflector_relists_after_a_dropped_event_without_heal() -> None:
    """The 410 that follows a lost event makes the informer relist and become exact again."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock)

        async def check(informer: Informer[Widget]) -> None:
            client.set_faults(drop_rate=1.0)
            await server.create(new_widget("a"))
            await clock.advance(1)
            assert [] == store_state(informer)  # stale: the event was lost
            client.set_faults(drop_rate=0.0)
            await server.create(new_widget("b"))
            await clock.advance(1)
            assert server_state(server) == store_state(informer)
            assert 1 == informer.statistics().relists

        await with_informer(client, clock, check)

    run(body)


def test_a_stream_ended_by_an_error_leaves_no_task_behind() -> None:
    """A stream ended by 410 or a crash cancels its pump as it ends."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(reorder_rate=1))
        before = asyncio.all_tasks()
        expired = Reader(client.watch(Widget))
        await server.create(new_widget("a"))
        await clock.wait_idle()
        client.expire_watches()
        await clock.wait_idle()
        dead = Reader(client.watch(Widget))
        await clock.wait_idle()
        client.crash_after(0)
        with pytest.raises(ServerError):
            await client.create(new_widget("b"))
        await clock.wait_idle()
        assert (ExpiredError, ServerError) == (type(expired.error), type(dead.error))
        assert before == asyncio.all_tasks()
        assert 0 == server.statistics().watchers

    run(body)


@pytest.mark.parametrize("hold", ["lag", "coalesce"])
def test_bookmarks_are_held_with_the_events_a_lag_or_coalescing_holds(hold: str) -> None:
    """A bookmark behind held events waits with them and then follows them."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock)
        stream = client.watch(Widget, labels="app=a", since=server.resource_version, bookmarks=True)
        reader = Reader(stream)
        await clock.wait_idle()
        if hold == "lag":
            client.lag()
        else:
            client.set_faults(coalesce=True)
        await server.create(new_widget("a", labels={"app": "a"}))
        await clock.wait_idle()
        await server.create(new_widget("other"))  # filtered out: a bookmark at rv 2
        await clock.wait_idle()
        assert [] == reader.seen()
        client.heal()
        await clock.wait_idle()
        assert [("ADDED", "a", 1), ("BOOKMARK", "", 2)] == reader.seen()
        await reader.close()

    run(body)


def test_heal_releases_an_event_held_for_reorder() -> None:
    """An event held for a swap that never came is delivered at heal."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(reorder_rate=1))
        reader = Reader(client.watch(Widget, since=server.resource_version))
        await server.create(new_widget("a"))
        await clock.wait_idle()
        assert [] == reader.seen()
        client.heal()
        await clock.wait_idle()
        assert [("ADDED", "a", 1)] == reader.seen()
        await reader.close()

    run(body)


def test_statistics_count_open_streams_and_held_events() -> None:
    """statistics() shows what is held back, and that heal releases it."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        client = FaultyClient(server, name="c", clock=clock, faults=ClientFaults(coalesce=True))
        reader = Reader(client.watch(Widget, since=server.resource_version))
        await server.create(new_widget("a"))
        await resize(server, "a", 2)
        await clock.wait_idle()
        stats = client.statistics()
        assert (1, 2, False) == (stats.streams, stats.holding, stats.lagging)
        client.heal()
        await clock.wait_idle()
        assert 0 == client.statistics().holding
        await reader.close()
        assert 0 == client.statistics().streams

    run(body)


def test_remembered_lag_older_than_the_history_converges_after_catch_up() -> None:
    """A snapshot the server's history no longer reaches keeps relisting it until catch_up."""
    clock = VirtualClock()

    async def main() -> None:
        server = MemoryCluster(clock=clock, seed=1, history=2)
        await server.create(new_widget("a"))
        client = FaultyClient(server, name="c", clock=clock)
        client.remember()
        remembered = server_state(server)

        async def check(informer: Informer[Widget]) -> None:
            for size in range(2, 8):
                await resize(server, "a", size)
            await server.create(new_widget("b"))
            client.lag(remembered=True)
            client.expire_watches()
            await clock.advance(5)
            assert remembered == store_state(informer)  # its watch cannot start: 410 again
            client.catch_up()
            await clock.advance(61)
            assert server_state(server) == store_state(informer)

        await with_informer(client, clock, check)

    clock.run(main())


def test_a_slow_write_lands_after_its_delay_and_may_act_on_a_stale_decision() -> None:
    """``write_delay``: the server applies the write that many seconds after it was sent."""

    async def body(clock: VirtualClock, api: MemoryCluster) -> tuple[float, float, bool]:
        client = FaultyClient(api, name="c", clock=clock, faults=ClientFaults(write_delay=2.0))
        sent = clock.time()
        task = asyncio.get_running_loop().create_task(client.create(new_widget("slow")))
        await clock.advance(1.0)
        halfway = bool(api.list_nowait(Widget).items)
        await task
        return sent, clock.time(), halfway

    sent, landed, halfway = run(body)
    assert landed - sent == pytest.approx(2.0)
    assert not halfway


def test_write_delay_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="write_delay"):
        ClientFaults(write_delay=-1.0)


def test_lagging_kinds_hold_only_their_watches_and_keep_reads_fresh() -> None:
    """lag(kinds=...): one informer falls behind; other kinds flow and reads are live."""

    async def body(clock: VirtualClock, server: MemoryCluster) -> None:
        await server.create(new_widget("a"))
        client = FaultyClient(server, name="c", clock=clock)

        async def check(informer: Informer[Widget]) -> None:
            client.lag(kinds=["Gizmo"])  # another kind lags: widgets flow
            await server.create(new_widget("b"))
            await clock.advance(1)
            assert server_state(server) == store_state(informer)
            client.lag(kinds=["Widget"])
            before = store_state(informer)
            await server.create(new_widget("c"))
            await clock.advance(1)
            assert before == store_state(informer)  # held
            assert "c" == (await client.get(Widget, "c", namespace="x")).metadata.name
            assert not client.lagging  # reads are not a lagging replica's
            client.catch_up()
            await clock.advance(1)
            assert server_state(server) == store_state(informer)

        await with_informer(client, clock, check)

    run(body)
