"""Scenarios for the garbage collector on a MemoryCluster, in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import attrs

import reconcile
from controllers import gc
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.kinds import Gadget, Gizmo, Widget, gadget_for, owner_reference

KINDS: Sequence[type[reconcile.Resource]] = (Widget, Gadget, Gizmo)
HOLD = "test.reconcile.dev/hold"
Scenario = Callable[[MemoryCluster, VirtualClock], Awaitable[object]]


def _with_collector(body: Scenario) -> object:
    """Run ``body`` on a fresh cluster while a manager runs the collector."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=3)
        manager = reconcile.Manager(cluster, clock=clock)
        gc.setup(manager, KINDS)
        async with manager:
            return await body(cluster, clock)

    return run(scenario)


async def _settle(clock: VirtualClock) -> None:
    await clock.advance(5)


def _names(cluster: MemoryCluster, kind: type[reconcile.Resource]) -> list[str]:
    return [obj.metadata.name for obj in cluster.list_nowait(kind).items]


def _widget(name: str, namespace: str = "default") -> Widget:
    return Widget(metadata=reconcile.ObjectMeta(name=name, namespace=namespace))


def _gadget(
    name: str, *owners: reconcile.OwnerReference, finalizers: tuple[str, ...] = ()
) -> Gadget:
    meta = reconcile.ObjectMeta(
        name=name, namespace="default", owner_references=owners, finalizers=finalizers
    )
    return Gadget(metadata=meta)


def test_background_deletion_collects_children() -> None:
    """Deleting an owner in the background removes it at once; its children follow."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        w = await cluster.create(_widget("w"))
        await cluster.create(gadget_for(w, "g1"))
        await cluster.create(gadget_for(w, "g2"))
        await cluster.create(_gadget("bystander"))
        await _settle(clock)
        before = _names(cluster, Gadget)
        await cluster.delete(Widget, w.key, propagation=reconcile.Propagation.BACKGROUND)
        await _settle(clock)
        return before, _names(cluster, Widget), _names(cluster, Gadget)

    assert (["bystander", "g1", "g2"], [], ["bystander"]) == _with_collector(body)


def test_foreground_keeps_owner_until_blocking_children_are_gone() -> None:
    """A foreground owner stays, marked, until its blocking dependents are gone."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        w = await cluster.create(_widget("w"))
        held = await cluster.create(_gadget("held", owner_reference(w), finalizers=(HOLD,)))
        await _settle(clock)
        await cluster.delete(Widget, w.key, propagation=reconcile.Propagation.FOREGROUND)
        await _settle(clock)
        owner = cluster.get_nowait(Widget, w.key)
        child = cluster.get_nowait(Gadget, held.key)
        during = (owner.metadata.deleting, owner.metadata.finalizers, child.metadata.deleting)
        await cluster.update(
            attrs.evolve(child, metadata=reconcile.remove_finalizer(child.metadata, HOLD))
        )
        await _settle(clock)
        return during, _names(cluster, Widget), _names(cluster, Gadget)

    expected: object = ((True, (gc.FINALIZER_FOREGROUND,), True), [], [])
    assert expected == _with_collector(body)


def test_foreground_deletes_a_chain_bottom_up() -> None:
    """Foreground deletion of a widget that owns a widget that owns a gadget removes all."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        top = await cluster.create(_widget("top"))
        mid = await cluster.create(
            Widget(
                metadata=reconcile.ObjectMeta(
                    name="mid", namespace="default", owner_references=(owner_reference(top),)
                )
            )
        )
        await cluster.create(gadget_for(mid, "leaf"))
        await _settle(clock)
        await cluster.delete(Widget, top.key, propagation=reconcile.Propagation.FOREGROUND)
        await _settle(clock)
        return _names(cluster, Widget), _names(cluster, Gadget)

    assert ([], []) == _with_collector(body)


def test_orphan_leaves_children_without_the_owner_reference() -> None:
    """Orphan propagation removes the owner and only its references from the children."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        w = await cluster.create(_widget("w"))
        other = await cluster.create(_widget("other"))
        await cluster.create(
            _gadget("g", owner_reference(w), owner_reference(other, controller=False))
        )
        await _settle(clock)
        await cluster.delete(Widget, w.key, propagation=reconcile.Propagation.ORPHAN)
        await _settle(clock)
        refs = cluster.get_nowait(Gadget, "g", namespace="default").metadata.owner_references
        return _names(cluster, Widget), [ref.uid for ref in refs] == [other.metadata.uid]

    assert (["other"], True) == _with_collector(body)


def test_child_of_an_owner_that_never_existed_is_collected() -> None:
    """A wrong uid, an unknown name or an owner in another namespace all count as gone."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        w = await cluster.create(_widget("w"))
        elsewhere = await cluster.create(_widget("elsewhere", namespace="other"))
        wrong = attrs.evolve(owner_reference(w), uid=reconcile.Uid("no-such-uid"))
        ghost = attrs.evolve(owner_reference(w), name="ghost")
        await cluster.create(_gadget("wrong-uid", wrong))
        await cluster.create(_gadget("ghost", ghost))
        await cluster.create(_gadget("cross-namespace", owner_reference(elsewhere)))
        await cluster.create(gadget_for(w, "kept"))
        await _settle(clock)
        return _names(cluster, Gadget)

    assert ["kept"] == _with_collector(body)


def test_cluster_scoped_owner_keeps_namespaced_child() -> None:
    """A namespaced child of a cluster-scoped gizmo lives as long as the gizmo."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        gizmo = await cluster.create(Gizmo(metadata=reconcile.ObjectMeta(name="giz")))
        await cluster.create(_gadget("g", owner_reference(gizmo)))
        await _settle(clock)
        before = _names(cluster, Gadget)
        await cluster.delete(Gizmo, gizmo.key)
        await _settle(clock)
        return before, _names(cluster, Gadget)

    assert (["g"], []) == _with_collector(body)


def test_children_of_owners_deleted_while_stopped_are_collected_on_start() -> None:
    """Owners deleted while the collector was down are noticed when it starts."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=5)
        w = await cluster.create(_widget("w"))
        await cluster.create(gadget_for(w, "g"))
        await cluster.delete(Widget, w.key)
        held = await cluster.create(_widget("held"))
        await cluster.create(gadget_for(held, "h"))
        await cluster.delete(Widget, held.key, propagation=reconcile.Propagation.FOREGROUND)
        before = _names(cluster, Gadget), _names(cluster, Widget)
        manager = reconcile.Manager(cluster, clock=clock)
        gc.setup(manager, KINDS)
        async with manager:
            await _settle(clock)
        return before, _names(cluster, Gadget), _names(cluster, Widget)

    assert ((["g", "h"], ["held"]), [], []) == run(scenario)


def test_child_with_two_owners_survives_while_one_lives() -> None:
    """A child goes only when its last owner goes."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        a = await cluster.create(_widget("a"))
        b = await cluster.create(_widget("b"))
        await cluster.create(_gadget("g", owner_reference(a), owner_reference(b, controller=False)))
        await _settle(clock)
        await cluster.delete(Widget, a.key)
        await _settle(clock)
        after_a = _names(cluster, Gadget)
        await cluster.delete(Widget, b.key)
        await _settle(clock)
        return after_a, _names(cluster, Gadget)

    assert (["g"], []) == _with_collector(body)


def test_foreground_deletion_of_an_ownership_cycle_completes() -> None:
    """Two widgets owning each other do not wait for each other forever."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        a = await cluster.create(_widget("a"))
        b = await cluster.create(
            Widget(
                metadata=reconcile.ObjectMeta(
                    name="b", namespace="default", owner_references=(owner_reference(a),)
                )
            )
        )
        meta = attrs.evolve(a.metadata, owner_references=(owner_reference(b),))
        await cluster.update(attrs.evolve(a, metadata=meta))
        await _settle(clock)
        await cluster.delete(Widget, a.key, propagation=reconcile.Propagation.FOREGROUND)
        await _settle(clock)
        return _names(cluster, Widget)

    assert [] == _with_collector(body)


def test_owner_missing_from_a_lagging_cache_is_confirmed_with_the_api_server() -> None:
    """A dependent whose owner the cache has not seen yet is kept if the owner exists."""

    async def scenario(clock: VirtualClock) -> list[str]:
        cluster = MemoryCluster(clock=clock, seed=4)
        lagging = reconcile.Manager(cluster, clock=clock)  # never started: empty caches
        w = await cluster.create(_widget("w"))
        g = await cluster.create(gadget_for(w, "g"))
        graph = gc.StoreGraph(
            {kind: lagging.store(kind) for kind in KINDS}, overlay={(Gadget, g.key): g}
        )
        await gc.Collector(cluster, Gadget, graph).reconcile(g.key)
        return _names(cluster, Gadget)

    assert ["g"] == run(scenario)


def test_children_of_live_owners_cost_the_collector_no_reconcile() -> None:
    """New children whose owner is there are no news; a child of a missing owner is looked at."""

    async def scenario(clock: VirtualClock) -> tuple[int, int, list[str]]:
        cluster = MemoryCluster(clock=clock, seed=3)
        manager = reconcile.Manager(cluster, clock=clock)
        gc.setup(manager, KINDS)

        def reconciles() -> int:
            stats = manager.statistics().controllers
            return sum(
                c.reconciles for c in stats if c.name.startswith("garbage-collector/gadgets")
            )

        async with manager:
            w = await cluster.create(_widget("w"))
            await _settle(clock)
            for i in range(5):
                await cluster.create(gadget_for(w, f"g{i}"))
            await _settle(clock)
            quiet = reconciles()
            ghost = attrs.evolve(w, metadata=attrs.evolve(w.metadata, uid=reconcile.Uid("ghost")))
            await cluster.create(_gadget("orphan", owner_reference(ghost)))
            await _settle(clock)
            return quiet, reconciles(), _names(cluster, Gadget)

    quiet, after, names = run(scenario)
    assert 0 == quiet
    assert after >= 1
    assert ["g0", "g1", "g2", "g3", "g4"] == names
