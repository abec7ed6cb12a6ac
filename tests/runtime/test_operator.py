"""Operator: kopf-style handlers lowered onto the engine, against MemoryCluster in virtual time."""

from __future__ import annotations

import itertools

import attrs
import pytest

from reconcile.cluster.memory import MemoryCluster
from reconcile.errors import NotFoundError
from reconcile.model.meta import ObjectKey, ObjectMeta
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.controller import Controller
from reconcile.runtime.manager import Manager
from reconcile.runtime.operator import (
    LAST_HANDLED_ANNOTATION,
    Context,
    Diff,
    DiffItem,
    Operator,
    diff,
)
from reconcile.runtime.reconciler import Request, Result, reconciler
from tests.kinds import Gadget, GadgetSpec, Widget, WidgetSpec, WidgetStatus, gadget_for

NS = "default"


def widget(name: str, *, size: int = 1, color: str = "") -> Widget:
    """A new widget in the test namespace."""
    return Widget(
        metadata=ObjectMeta(name=name, namespace=NS), spec=WidgetSpec(size=size, color=color)
    )


def key(name: str) -> ObjectKey:
    return ObjectKey(namespace=NS, name=name)


async def resize(cluster: MemoryCluster, name: str, size: int, color: str = "") -> None:
    current = await cluster.get(Widget, key(name))
    await cluster.update(attrs.evolve(current, spec=WidgetSpec(size=size, color=color)))


def test_create_handler_runs_once_per_object() -> None:
    """Each object gets its create handler once, however often it is reconciled."""
    clock = VirtualClock()
    operator = Operator("test")
    created: list[str] = []

    @operator.on.create(Widget)
    async def on_create(obj: Widget, ctx: Context) -> None:
        created.append(obj.metadata.name)

    async def scenario() -> Widget:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("a"))
            await cluster.create(widget("b"))
            await clock.advance(1)
            await resize(cluster, "a", 2)
            await clock.advance(1)
            return await cluster.get(Widget, key("a"))

    stored = clock.run(scenario())
    assert ["a", "b"] == sorted(created)
    assert '{"spec":{"size":2}}' == stored.metadata.annotations[LAST_HANDLED_ANNOTATION]
    assert 2 == stored.metadata.generation  # the annotation writes never bumped it


def test_create_handler_runs_once_even_when_it_writes_the_object() -> None:
    """A handler's own write re-queues the key before the cache has the annotation: no re-run."""
    clock = VirtualClock()
    operator = Operator("test")
    created: list[str] = []

    @operator.on.create(Widget)
    async def on_create(obj: Widget, ctx: Context) -> None:
        created.append(obj.metadata.name)
        await ctx.client.update_status(attrs.evolve(obj, status=WidgetStatus(ready=1)))
        await ctx.clock.sleep(1)  # the status event arrives (and re-queues the key) meanwhile

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("w"))
            await clock.advance(5)

    clock.run(scenario())
    assert ["w"] == created


def test_update_handler_receives_diff() -> None:
    """A spec change calls update handlers with typed old/new objects and their diff."""
    clock = VirtualClock()
    operator = Operator("test")
    updates: list[tuple[int, int, Diff]] = []

    @operator.on.update(Widget)
    async def on_update(old: Widget, new: Widget, diff: Diff, ctx: Context) -> None:
        updates.append((old.spec.size, new.spec.size, diff))

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("w", size=1))
            await clock.advance(1)
            await resize(cluster, "w", 3, color="red")
            await clock.advance(1)

    clock.run(scenario())
    expected_diff = (
        DiffItem(op="change", path=("spec", "size"), old=1, new=3),
        DiffItem(op="change", path=("spec", "color"), old="", new="red"),
    )
    assert [(1, 3, expected_diff)] == updates


def test_update_handler_survives_restart_via_annotation() -> None:
    """A change made while the operator was down is handled as an update after restart."""
    clock = VirtualClock()
    operator = Operator("test")
    calls: list[str] = []

    @operator.on.create(Widget)
    async def on_create(obj: Widget, ctx: Context) -> None:
        calls.append(f"create {obj.spec.size}")

    @operator.on.update(Widget)
    async def on_update(old: Widget, new: Widget, diff: Diff, ctx: Context) -> None:
        calls.append(f"update {old.spec.size}->{new.spec.size}")

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("w", size=1))
            await clock.advance(1)
        await resize(cluster, "w", 5)  # the operator is down
        await clock.advance(1)
        async with operator.running(cluster, clock=clock):
            await clock.advance(1)

    clock.run(scenario())
    assert ["create 1", "update 1->5"] == calls


def test_delete_handler_runs_before_object_disappears() -> None:
    """Delete handlers see the object still stored (held by the finalizer); then it is gone."""
    clock = VirtualClock()
    operator = Operator("test")
    seen: list[tuple[bool, bool]] = []

    @operator.on.delete(Widget)
    async def on_delete(obj: Widget, ctx: Context) -> None:
        stored = await ctx.client.get(Widget, obj.key)
        seen.append((stored.metadata.deleting, operator.finalizer in stored.metadata.finalizers))

    async def scenario() -> tuple[tuple[str, ...], bool]:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("w"))
            await clock.advance(1)
            finalizers = (await cluster.get(Widget, key("w"))).metadata.finalizers
            await cluster.delete(Widget, key("w"))
            await clock.advance(1)
            try:
                await cluster.get(Widget, key("w"))
            except NotFoundError:
                return finalizers, True
            return finalizers, False

    assert (("reconcile.dev/test",), True) == clock.run(scenario())
    assert [(True, True)] == seen


def test_failing_handler_is_retried_with_backoff() -> None:
    """A failing handler is retried with growing delays; nothing is recorded until it passes."""
    clock = VirtualClock()
    operator = Operator("test")
    attempts: list[tuple[float, bool]] = []

    @operator.on.create(Widget)
    async def flaky(obj: Widget, ctx: Context) -> None:
        stored = await ctx.client.get(Widget, obj.key)
        attempts.append((ctx.clock.time(), LAST_HANDLED_ANNOTATION in stored.metadata.annotations))
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    async def scenario() -> tuple[bool, dict[str, int]]:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock) as manager:
            await cluster.create(widget("w"))
            await clock.advance(1)
            stored = await cluster.get(Widget, key("w"))
            outcomes = manager.statistics().controllers[0].outcomes
            return LAST_HANDLED_ANNOTATION in stored.metadata.annotations, outcomes

    annotated, outcomes = clock.run(scenario())
    times = [t for t, _ in attempts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert [False, False, False] == [written for _, written in attempts]
    assert pytest.approx([0.005, 0.01]) == gaps  # the default exponential backoff
    assert annotated
    assert 2 == outcomes["error"]
    assert {"create": 1, "create.failed": 2} == operator.statistics().calls


def test_timer_fires_every_interval_in_virtual_time() -> None:
    """A timer runs at once, then every interval, and stops when its object is deleted."""
    clock = VirtualClock()
    operator = Operator("test")
    runs: list[float] = []

    @operator.timer(Widget, interval=10)
    async def tick(obj: Widget, ctx: Context) -> None:
        runs.append(ctx.clock.time())

    async def scenario() -> float:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            start = clock.time()
            await cluster.create(widget("w"))
            await clock.advance(35)
            await cluster.delete(Widget, key("w"))
            await clock.advance(100)
            return start

    start = clock.run(scenario())
    assert [0.0, 10.0, 20.0, 30.0] == [round(t - start, 6) for t in runs]


def test_timer_waits_for_its_initial_delay() -> None:
    """A timer with an initial delay first runs that long after its object appeared."""
    clock = VirtualClock()
    operator = Operator("test")
    runs: list[float] = []

    @operator.timer(Widget, interval=20, initial_delay=5)
    async def tick(obj: Widget, ctx: Context) -> None:
        runs.append(ctx.clock.time())

    async def scenario() -> float:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            start = clock.time()
            await cluster.create(widget("w"))
            await clock.advance(30)
            return start

    start = clock.run(scenario())
    assert [5.0, 25.0] == [round(t - start, 6) for t in runs]


def test_index_lookup() -> None:
    """An @operator.index function is maintained on the informer and queried through ctx.index."""
    clock = VirtualClock()
    operator = Operator("test")
    found: dict[str, list[str]] = {}

    @operator.index(Widget)
    def by_color(obj: Widget) -> list[str]:
        return [obj.spec.color] if obj.spec.color else []

    @operator.reconcile(Gadget)
    async def match(gadget: Gadget | None, ctx: Context) -> Result | None:
        if gadget is not None:
            widgets = ctx.index("by_color", gadget.spec.part)
            found[gadget.metadata.name] = [w.metadata.name for w in widgets]
        return None

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        for name, color in (("a", "red"), ("b", "blue"), ("c", "red")):
            await cluster.create(widget(name, color=color))
        async with operator.running(cluster, clock=clock):
            for part in ("red", "green"):
                meta = ObjectMeta(name=part, namespace=NS)
                await cluster.create(Gadget(metadata=meta, spec=GadgetSpec(part=part)))
            await clock.advance(1)

    clock.run(scenario())
    assert {"red": ["a", "c"], "green": []} == found


def test_unknown_index_name_is_a_key_error() -> None:
    """Looking up an index that was never registered fails loudly."""
    clock = VirtualClock()
    operator = Operator("test")
    errors: list[str] = []

    @operator.on.create(Widget)
    async def look(obj: Widget, ctx: Context) -> None:
        try:
            ctx.index("nope", "x")
        except KeyError as exc:
            errors.append(type(exc).__name__)

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("w"))
            await clock.advance(1)

    clock.run(scenario())
    assert ["KeyError"] == errors


def test_decorator_and_reconciler_styles_share_one_manager() -> None:
    """A plain Controller and an Operator run side by side in one Manager, sharing caches."""
    clock = VirtualClock()
    operator = Operator("test")
    seen: list[str] = []

    @operator.on.create(Gadget)
    async def on_gadget(obj: Gadget, ctx: Context) -> None:
        seen.append(obj.metadata.name)

    async def scenario() -> tuple[list[str], int]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)

        async def make_gadget(request: Request) -> Result | None:
            owner = manager.store(Widget).get(request)
            if owner is not None and not manager.store(Gadget).list(namespace=NS):
                await cluster.create(gadget_for(owner, f"{owner.metadata.name}-part"))
            return None

        manager.add(
            Controller(
                name="gadget-maker", reconciler=reconciler(make_gadget), for_=Widget, owns=(Gadget,)
            )
        )
        operator.install(manager)
        async with manager:
            await cluster.create(widget("w"))
            await clock.advance(1)
            names = [c.name for c in manager.statistics().controllers]
            return names, len(manager.informers.informers())

    names, informers = clock.run(scenario())
    assert ["gadget-maker", "test/gadgets.test.reconcile.dev"] == names
    assert 2 == informers  # Widget and Gadget, each listed and watched once
    assert ["w-part"] == seen


def test_handlers_of_one_kind_run_in_one_reconcile_in_order() -> None:
    """Reconcile function, change handlers and timers of a kind run in a fixed order."""
    clock = VirtualClock()
    operator = Operator("test")
    order: list[str] = []

    @operator.reconcile(Widget)
    async def converge(obj: Widget | None, ctx: Context) -> Result | None:
        order.append("reconcile" if obj is not None else "reconcile gone")
        return Result.after(1000)

    @operator.on.create(Widget)
    async def on_create(obj: Widget, ctx: Context) -> None:
        order.append("create")

    @operator.timer(Widget, interval=60)
    async def tick(obj: Widget, ctx: Context) -> None:
        order.append("timer")

    async def scenario() -> None:
        cluster = MemoryCluster(clock=clock)
        async with operator.running(cluster, clock=clock):
            await cluster.create(widget("w"))
            await clock.wait_idle()
            await clock.advance(1)
            order.append("--")
            await cluster.delete(Widget, key("w"))
            await clock.advance(1)

    clock.run(scenario())
    # The second "reconcile" follows the annotation write; the timer is not due yet then.
    assert ["reconcile", "create", "timer", "reconcile", "--", "reconcile gone"] == order


def test_non_async_handlers_are_rejected() -> None:
    """Handlers must be coroutine functions: a plain def is refused at decoration time."""
    operator = Operator("test")

    def plain(obj: Widget, ctx: Context) -> None:
        return None

    with pytest.raises(TypeError, match="async def"):
        operator.on.create(Widget)(plain)  # type: ignore[arg-type]


def test_diff_reports_adds_removes_and_changes() -> None:
    """diff walks attrs fields and mapping keys and reports each leaf that differs."""
    old = WidgetStatus(ready=1)
    new = WidgetStatus(ready=2)
    expected = (
        DiffItem(op="change", path=("status", "ready"), old=1, new=2),
        DiffItem(op="remove", path=("status", "labels", "a"), old="1", new=None),
        DiffItem(op="add", path=("status", "labels", "b"), old=None, new="2"),
        DiffItem(op="add", path=("status", "note"), old=None, new="x"),
    )
    actual = diff(old, new, path=("status",)) + diff(
        {"labels": {"a": "1"}, "note": None},
        {"labels": {"b": "2"}, "note": "x"},
        path=("status",),
    )
    assert expected == actual
