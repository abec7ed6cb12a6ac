"""Scenarios for the namespace controller on a MemoryCluster, in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import attrs
import pytest

import reconcile
from controllers import namespace
from controllers.api import ConfigMap, Namespace
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.kinds import Gadget, Widget

KINDS: Sequence[type[reconcile.Resource]] = (Widget, Gadget, ConfigMap)
HOLD = "test.reconcile.dev/hold"
Scenario = Callable[[MemoryCluster, VirtualClock], Awaitable[object]]


def _with_controller(body: Scenario) -> object:
    """Run ``body`` on a fresh cluster with the admission hooks and the controller."""

    async def scenario(clock: VirtualClock) -> object:
        cluster = MemoryCluster(clock=clock, seed=5)
        namespace.install_admission(cluster.admission, KINDS, read=namespace.reader(cluster))
        manager = reconcile.Manager(cluster, clock=clock)
        namespace.setup(manager, KINDS)
        async with manager:
            return await body(cluster, clock)

    return run(scenario)


def _meta(name: str, ns: str, finalizers: tuple[str, ...] = ()) -> reconcile.ObjectMeta:
    return reconcile.ObjectMeta(name=name, namespace=ns, finalizers=finalizers)


async def _populate(cluster: MemoryCluster, ns: str) -> None:
    await cluster.create(Namespace(metadata=reconcile.ObjectMeta(name=ns)))
    await cluster.create(Widget(metadata=_meta("w", ns)))
    await cluster.create(Gadget(metadata=_meta("g", ns)))
    await cluster.create(ConfigMap(metadata=_meta("c", ns)))


def _names(cluster: MemoryCluster) -> list[str]:
    kinds: Sequence[type[reconcile.Resource]] = (*KINDS, Namespace)
    return sorted(
        f"{kind.__name__}/{o.metadata.namespace}/{o.metadata.name}"
        for kind in kinds
        for o in cluster.list_nowait(kind).items
    )


def test_create_adds_the_kubernetes_finalizer() -> None:
    """A new namespace gets ``kubernetes`` in spec.finalizers."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        ns = await cluster.create(Namespace(metadata=reconcile.ObjectMeta(name="a")))
        return ns.spec.finalizers

    assert ("kubernetes",) == _with_controller(body)


def test_deleting_a_namespace_removes_its_content_then_itself() -> None:
    """Deleting a namespace removes everything in it, then the namespace; others stay."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _populate(cluster, "doomed")
        await _populate(cluster, "kept")
        await clock.advance(5)
        await cluster.delete(Namespace, "doomed")
        await clock.advance(10)
        return _names(cluster)

    expected = ["ConfigMap/kept/c", "Gadget/kept/g", "Namespace//kept", "Widget/kept/w"]
    assert expected == _with_controller(body)


def test_finalizer_holds_the_namespace_in_terminating() -> None:
    """An object with its own finalizer keeps the namespace Terminating until it is released."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await _populate(cluster, "a")
        held = await cluster.create(Widget(metadata=_meta("held", "a", (HOLD,))))
        await clock.advance(5)
        await cluster.delete(Namespace, "a")
        await clock.advance(30)
        during = (cluster.get_nowait(Namespace, "a").status.phase, _names(cluster))
        held = cluster.get_nowait(Widget, held.key)
        meta = reconcile.remove_finalizer(held.metadata, HOLD)
        await cluster.update(attrs.evolve(held, metadata=meta))
        await clock.advance(10)
        return during, _names(cluster)

    expected: object = (("Terminating", ["Namespace//a", "Widget/a/held"]), [])
    assert expected == _with_controller(body)


def test_creating_in_a_terminating_namespace_is_refused() -> None:
    """Creating content in a namespace being terminated is Forbidden."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        await cluster.create(Namespace(metadata=reconcile.ObjectMeta(name="a")))
        await cluster.create(Widget(metadata=_meta("held", "a", (HOLD,))))
        await clock.advance(5)
        await cluster.delete(Namespace, "a")
        await clock.advance(5)
        with pytest.raises(reconcile.InvalidError) as caught:
            await cluster.create(ConfigMap(metadata=_meta("late", "a")))
        return [str(cause) for cause in caught.value.causes]

    expected = [
        "metadata.namespace: Forbidden: unable to create new content in namespace a "
        "because it is being terminated"
    ]
    assert expected == _with_controller(body)


def test_namespace_without_the_finalizer_is_tolerated() -> None:
    """A terminating namespace without ``kubernetes`` is emptied and never finalized."""

    async def body(cluster: MemoryCluster, clock: VirtualClock) -> object:
        meta = reconcile.ObjectMeta(name="a", finalizers=(HOLD,))
        await cluster.create(Namespace(metadata=meta))
        ns = cluster.get_nowait(Namespace, "a")
        spec = attrs.evolve(ns.spec, finalizers=())
        await cluster.update(attrs.evolve(ns, spec=spec))
        await cluster.create(Widget(metadata=_meta("w", "a")))
        await clock.advance(5)
        await cluster.delete(Namespace, "a")
        await clock.advance(10)
        ns = cluster.get_nowait(Namespace, "a")
        return ns.spec.finalizers, ns.metadata.finalizers, ns.status.phase, _names(cluster)

    expected: object = ((), (HOLD,), "Terminating", ["Namespace//a"])
    assert expected == _with_controller(body)
