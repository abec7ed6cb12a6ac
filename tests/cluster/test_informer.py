"""Informers: cache + handlers over list/watch, relist diffs, resync, sharing, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs
import pytest
import structlog

from reconcile.cluster.informer import (
    EventHandler,
    FunctionHandler,
    Informer,
    InformerStatistics,
    SharedInformers,
    SharedInformersStatistics,
    handler,
)
from reconcile.cluster.memory import MemoryCluster
from reconcile.cluster.store import INDEX_CONTROLLER, INDEX_OWNER
from reconcile.model.meta import ObjectKey, ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from tests.cluster.flaky import FlakyClient
from tests.kinds import Gadget, Widget, WidgetSpec, gadget_for


class Recorder:
    """An EventHandler that records what it is told, as short strings."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_add(self, obj: Widget) -> None:
        self.calls.append(f"add {obj.metadata.name}")

    def on_update(self, old: Widget, new: Widget) -> None:
        same = "same" if old is new else f"{old.spec.size}->{new.spec.size}"
        self.calls.append(f"update {new.metadata.name} {same}")

    def on_delete(self, obj: Widget) -> None:
        self.calls.append(f"delete {obj.metadata.name}")


def new_widget(name: str, *, namespace: str = "default", **labels: str) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace=namespace, labels=labels))


async def resize(cluster: MemoryCluster, name: str, size: int) -> Widget:
    current = await cluster.get(Widget, ObjectKey(namespace="default", name=name))
    return await cluster.update(attrs.evolve(current, spec=WidgetSpec(size=size)))


Scenario = Callable[[MemoryCluster, FlakyClient, Informer[Widget]], Awaitable[None]]


def run_informer(
    scenario: Scenario,
    *,
    history: int = 10_000,
    resync: float | None = None,
    seed: tuple[str, ...] = (),
    setup: Callable[[Informer[Widget]], None] | None = None,
) -> tuple[Recorder, InformerStatistics, Informer[Widget]]:
    """Run an informer (with a Recorder) over a flaky MemoryCluster while `scenario` runs."""
    clock = VirtualClock()
    cluster = MemoryCluster(clock=clock, history=history)
    client = FlakyClient(cluster)
    informer: Informer[Widget] = Informer(client, Widget, clock=clock, resync=resync)
    recorder = Recorder()
    informer.add_handler(recorder)
    if setup is not None:
        setup(informer)

    async def main() -> None:
        for name in seed:
            await cluster.create(new_widget(name))
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(informer.run())
            await informer.wait_synced()
            await scenario(cluster, client, informer)
            await clock.wait_idle()
            task.cancel()
        assert [asyncio.current_task()] == list(asyncio.all_tasks())
        assert 0 == cluster.statistics().watchers

    clock.run(main())
    return recorder, informer.statistics(), informer


def test_wait_synced_returns_after_initial_list() -> None:
    """wait_synced() returns once the initial objects are cached and dispatched as adds."""
    early = Recorder()
    seen: list[tuple[list[str], int]] = []

    async def scenario(_: MemoryCluster, __: FlakyClient, informer: Informer[Widget]) -> None:
        seen.append((list(early.calls), len(informer.store)))

    _, stats, _ = run_informer(scenario, seed=("a", "b"), setup=lambda i: i.add_handler(early))
    assert [(["add a", "add b"], 2)] == seen
    assert (True, 2, 0) == (stats.synced, stats.objects, stats.relists)


def test_handlers_see_adds_updates_and_deletes_in_order() -> None:
    """Each committed change reaches the handler once, after the store reflects it."""
    cached: list[bool] = []

    def setup(informer: Informer[Widget]) -> None:
        def check(obj: Widget) -> None:
            cached.append(obj.key in informer.store)

        informer.add_handler(handler(on_add=check, on_delete=check))

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: Informer[Widget]) -> None:
        await cluster.create(new_widget("b"))
        await resize(cluster, "b", 3)
        await cluster.delete(Widget, "a", namespace="default")

    recorder, stats, informer = run_informer(scenario, seed=("a",), setup=setup)
    assert ["add a", "add b", "update b 1->3", "delete a"] == recorder.calls
    assert [True, True, False] == cached
    assert (3, 1) == (stats.events, stats.objects)
    assert [ObjectKey(namespace="default", name="b")] == informer.store.keys()


def test_relists_after_expired_watch() -> None:
    """When the watch falls behind history, the informer relists and stays consistent."""

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: Informer[Widget]) -> None:
        for name in "cde":  # committed without yielding: the watch falls behind
            await cluster.create(new_widget(name))
        await cluster.delete(Widget, "a", namespace="default")

    recorder, stats, informer = run_informer(scenario, history=1, seed=("a", "b"))
    assert ["add a", "add b", "add c", "add d", "add e", "delete a"] == recorder.calls
    assert (1, 4) == (stats.relists, stats.objects)
    assert ["b", "c", "d", "e"] == [w.metadata.name for w in informer.store.list()]


def test_handlers_see_deletes_missed_during_relist() -> None:
    """Changes lost with an expired watch reach handlers as the relist's diff."""

    async def scenario(cluster: MemoryCluster, client: FlakyClient, _: Informer[Widget]) -> None:
        client.break_streams(OSError("connection reset"))
        await cluster.create(new_widget("d"))  # the broken stream drops this event
        await asyncio.sleep(0.1)  # the informer is backing off, disconnected
        await resize(cluster, "b", 7)
        await cluster.delete(Widget, "a", namespace="default")
        cluster.compact()  # the resource version the informer holds is gone
        await asyncio.sleep(10)

    recorder, stats, informer = run_informer(scenario, seed=("a", "b", "c"))
    assert ["add a", "add b", "add c", "add d", "update b 1->7", "delete a"] == recorder.calls
    assert (1, 1, 3) == (stats.relists, stats.errors, stats.objects)
    assert ["b", "c", "d"] == [w.metadata.name for w in informer.store.list()]


def test_retries_watch_errors_with_backoff() -> None:
    """Watch failures are retried with backoff from the last resource version: no relist."""

    async def scenario(cluster: MemoryCluster, client: FlakyClient, _: Informer[Widget]) -> None:
        client.watch_failures = [OSError("reset"), OSError("reset")]
        client.break_streams(OSError("reset"))
        await cluster.create(new_widget("b"))
        await asyncio.sleep(30)

    recorder, stats, _ = run_informer(scenario, seed=("a",))
    assert ["add a", "add b"] == recorder.calls
    assert (0, 3, 3) == (stats.relists, stats.errors, stats.watch_restarts)


def test_owner_index_finds_dependents() -> None:
    """Gadgets owned by a widget are found by the owner and controller indexes."""
    clock = VirtualClock()
    cluster = MemoryCluster(clock=clock)

    async def main() -> tuple[list[str], list[str], list[str]]:
        owner = await cluster.create(new_widget("owner"))
        other = await cluster.create(new_widget("other"))
        for name, parent in (("g1", owner), ("g2", owner), ("g3", other)):
            await cluster.create(gadget_for(parent, name))
        gadgets: Informer[Gadget] = Informer(cluster, Gadget, clock=clock)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(gadgets.run())
            await gadgets.wait_synced()
            await cluster.create(gadget_for(owner, "g4"))
            await clock.wait_idle()
            store = gadgets.store
            found = (
                [g.metadata.name for g in store.by_index(INDEX_OWNER, owner.metadata.uid)],
                [g.metadata.name for g in store.by_index(INDEX_CONTROLLER, owner.metadata.uid)],
                [g.metadata.name for g in store.by_index(INDEX_OWNER, other.metadata.uid)],
            )
            task.cancel()
        return found

    assert (["g1", "g2", "g4"], ["g1", "g2", "g4"], ["g3"]) == clock.run(main())


def test_custom_indexer_is_available_through_the_store() -> None:
    """Indexers registered on the informer are maintained from the first list on."""
    found: list[tuple[list[str], list[str]]] = []

    def by_size(obj: Widget) -> list[str]:
        return [str(obj.spec.size)]

    async def scenario(cluster: MemoryCluster, _: FlakyClient, informer: Informer[Widget]) -> None:
        await resize(cluster, "a", 5)
        await asyncio.sleep(0.1)
        store = informer.store
        found.append(
            (store.index_values("size"), [w.metadata.name for w in store.by_index("size", "1")])
        )

    run_informer(scenario, seed=("a", "b"), setup=lambda i: i.add_indexer("size", by_size))
    assert [(["1", "5"], ["b"])] == found


def test_failing_handler_is_logged_and_does_not_stop_the_informer() -> None:
    """A handler that raises is logged as informer.handler_failed; others still run."""

    def explode(obj: Widget) -> None:
        raise ValueError(obj.metadata.name)

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: Informer[Widget]) -> None:
        await cluster.create(new_widget("b"))

    with structlog.testing.capture_logs() as logs:
        recorder, stats, _ = run_informer(
            scenario, seed=("a",), setup=lambda i: i.add_handler(handler(on_add=explode))
        )
    failures = [e for e in logs if e["event"] == "informer.handler_failed"]
    assert ["add a", "add b"] == recorder.calls
    assert ["default/a", "default/b"] == [e["key"] for e in failures]
    assert {"on_add"} == {e["callback"] for e in failures}
    assert 2 == stats.handler_errors


def test_resync_sends_updates_for_every_cached_object() -> None:
    """With resync=N, handlers get on_update(obj, obj) for each object every N seconds."""

    async def scenario(_: MemoryCluster, __: FlakyClient, ___: Informer[Widget]) -> None:
        await asyncio.sleep(25)

    recorder, stats, _ = run_informer(scenario, resync=10, seed=("a", "b"))
    assert ["add a", "add b"] + ["update a same", "update b same"] * 2 == recorder.calls
    assert 2 == stats.resyncs


def test_handler_added_late_receives_existing_objects() -> None:
    """A handler registered after sync first gets on_add for every cached object."""
    late = Recorder()

    async def scenario(cluster: MemoryCluster, _: FlakyClient, informer: Informer[Widget]) -> None:
        informer.add_handler(late)
        await cluster.create(new_widget("c"))

    run_informer(scenario, seed=("a", "b"))
    assert ["add a", "add b", "add c"] == late.calls


def test_run_twice_is_an_error() -> None:
    """An informer runs once; a second run() is refused with a precise error."""
    clock = VirtualClock()
    informer: Informer[Widget] = Informer(MemoryCluster(clock=clock), Widget, clock=clock)

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(informer.run())
            await informer.wait_synced()
            with pytest.raises(RuntimeError, match="is running"):
                await informer.run()
            task.cancel()
        with pytest.raises(RuntimeError, match="is stopped"):
            await informer.run()

    clock.run(main())


def test_resync_period_must_be_positive() -> None:
    """resync=0 would spin; it is refused."""
    clock = VirtualClock()
    with pytest.raises(ValueError, match="resync"):
        Informer(MemoryCluster(clock=clock), Widget, clock=clock, resync=0)


def test_function_handler_ignores_missing_callbacks() -> None:
    """handler() builds an EventHandler; callbacks left out do nothing."""
    added: list[Widget] = []
    h: FunctionHandler[Widget] = handler(on_add=added.append)
    obj = new_widget("a")
    h.on_add(obj)
    h.on_update(obj, obj)
    h.on_delete(obj)
    assert (True, [obj]) == (isinstance(h, EventHandler), added)


def test_restricted_informer_sees_only_its_namespace_and_labels() -> None:
    """namespace= and labels= restrict both the list and the watch."""
    clock = VirtualClock()
    cluster = MemoryCluster(clock=clock)
    informer: Informer[Widget] = Informer(
        cluster, Widget, clock=clock, namespace="prod", labels="app=web"
    )

    async def main() -> list[str]:
        await cluster.create(new_widget("a", namespace="prod", app="web"))
        await cluster.create(new_widget("b", namespace="dev", app="web"))
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(informer.run())
            await informer.wait_synced()
            await cluster.create(new_widget("c", namespace="prod", app="db"))
            await cluster.create(new_widget("d", namespace="prod", app="web"))
            await clock.wait_idle()
            task.cancel()
        return [str(w.key) for w in informer.store.list()]

    assert ["prod/a", "prod/d"] == clock.run(main())


def test_many_added_events_reach_a_handler() -> None:
    """Ten thousand creates flow through the cache into a handler without loss."""
    count = [0]

    def bump(_: Widget) -> None:
        count[0] += 1

    async def scenario(cluster: MemoryCluster, _: FlakyClient, __: Informer[Widget]) -> None:
        for i in range(10_000):
            await cluster.create(new_widget(f"w{i}"))
            if i % 1000 == 0:
                await asyncio.sleep(0)

    _, stats, _ = run_informer(scenario, setup=lambda i: i.add_handler(handler(on_add=bump)))
    assert (10_000, 10_000, 0) == (count[0], stats.objects, stats.relists)


def test_shared_informers_share_one_informer_per_kind_and_selectors() -> None:
    """get() returns the same informer for equal (kind, namespace, selectors)."""
    clock = VirtualClock()
    informers = SharedInformers(MemoryCluster(clock=clock), clock=clock)
    widgets = informers.get(Widget)
    assert widgets is informers.get(Widget)
    assert informers.get(Widget, labels="a=1,b=2") is informers.get(Widget, labels="b=2,a=1")
    assert widgets is not informers.get(Widget, namespace="prod")
    assert widgets is informers.get(Widget, namespace="")
    assert informers.get(Gadget) is not informers.get(Gadget, fields="metadata.name=x")
    assert 5 == len(informers.informers())


def test_shared_informers_run_sync_and_stop_together() -> None:
    """run() starts every informer (also late ones); cancelling it stops them all."""
    clock = VirtualClock()
    cluster = MemoryCluster(clock=clock)
    informers = SharedInformers(cluster, clock=clock)
    widgets = informers.get(Widget)

    async def main() -> tuple[int, int, SharedInformersStatistics]:
        owner = await cluster.create(new_widget("a"))
        await cluster.create(gadget_for(owner, "g"))
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(informers.run())
            await informers.wait_synced()
            gadgets = informers.get(Gadget)  # requested while running: starts at once
            await informers.wait_synced()
            await cluster.create(new_widget("b"))
            await clock.wait_idle()
            counts = (len(widgets.store), len(gadgets.store))
            task.cancel()
        assert 0 == cluster.statistics().watchers
        assert [asyncio.current_task()] == list(asyncio.all_tasks())
        return (*counts, informers.statistics())

    widgets_count, gadgets_count, stats = clock.run(main())
    assert (2, 1) == (widgets_count, gadgets_count)
    assert (
        SharedInformersStatistics(
            informers=2, synced=2, objects=3, events=1, relists=0, errors=0, handler_errors=0
        )
        == stats
    )


def test_shared_informers_run_only_once() -> None:
    """A second run() is refused."""
    clock = VirtualClock()
    informers = SharedInformers(MemoryCluster(clock=clock), clock=clock)

    async def main() -> None:
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(informers.run())
            await clock.wait_idle()
            with pytest.raises(RuntimeError, match="only once"):
                await informers.run()
            task.cancel()

    clock.run(main())
