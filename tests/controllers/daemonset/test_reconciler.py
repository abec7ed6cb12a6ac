"""The DaemonSet controller alone on a MemoryCluster (no scheduler, kubelet, GC), virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

import reconcile
from controllers import daemonset
from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.api.core import Event, Node, Pod
from reconcile import LabelSelector, ObjectMeta
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.controllers.daemonset.builders import daemonset as build
from tests.controllers.daemonset.builders import node

Body = Callable[[MemoryCluster, VirtualClock], Awaitable[None]]


def harness(body: Body) -> None:
    """Run ``body`` while a manager runs only the DaemonSet controller (with events)."""

    async def scenario(clock: VirtualClock) -> None:
        api = MemoryCluster(clock=clock, seed=5)
        manager = reconcile.Manager(api, clock=clock)
        recorder = reconcile.EventRecorder(api, component="daemonset-controller", clock=clock)
        daemonset.setup(manager, recorder=recorder)
        async with manager:
            await body(api, clock)

    run(scenario)


def new_ds(selector: LabelSelector | None = None) -> DaemonSet:
    ds = build()
    spec = ds.spec if selector is None else attrs.evolve(ds.spec, selector=selector)
    return attrs.evolve(ds, metadata=ObjectMeta(name="agent", namespace="default"), spec=spec)


def test_creates_pinned_pods_and_a_revision() -> None:
    """Without a scheduler the pods stay unbound, pinned to their nodes by affinity."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        for name in ("a", "b"):
            await api.create(node(name))
        await api.create(new_ds())
        await clock.advance(1)
        pods = api.list_nowait(Pod, namespace="default").items
        assert ["a", "b"] == sorted(daemonset.target_node(p) for p in pods)
        assert all(not p.spec.node_name for p in pods)
        (revision,) = api.list_nowait(ControllerRevision, namespace="default").items
        assert {revision.metadata.labels[daemonset.HASH_LABEL]} == {
            p.metadata.labels[daemonset.HASH_LABEL] for p in pods
        }
        stored = api.get_nowait(DaemonSet, "agent", namespace="default")
        assert (2, 2, 0) == (
            stored.status.desired_number_scheduled,
            stored.status.current_number_scheduled,
            stored.status.number_ready,
        )

    harness(body)


def test_empty_selector_selects_nothing_and_warns() -> None:
    """A DaemonSet selecting every pod (refused by the API server) gets a SelectingAll warning."""

    async def body(api: MemoryCluster, clock: VirtualClock) -> None:
        await api.create(node("a"))
        await api.create(new_ds(LabelSelector()))
        await clock.advance(1)
        assert [] == list(api.list_nowait(Pod, namespace="default").items)
        reasons = {e.reason for e in api.list_nowait(Event, namespace="default").items}
        assert "SelectingAll" in reasons

    harness(body)


def test_node_events_enqueue_only_daemon_sets_whose_verdict_changes() -> None:
    """Relabelling a node in a way no DaemonSet selects costs no sync; a relevant label does."""

    async def scenario(clock: VirtualClock) -> None:
        api = MemoryCluster(clock=clock, seed=5)
        manager = reconcile.Manager(api, clock=clock)
        controller = daemonset.setup(manager)
        ds = new_ds()
        template = attrs.evolve(
            ds.spec.template.spec, node_selector=reconcile.FrozenDict({"disk": "ssd"})
        )
        ds = attrs.evolve(
            ds, spec=attrs.evolve(ds.spec, template=attrs.evolve(ds.spec.template, spec=template))
        )
        async with manager:
            await api.create(node("a"))
            await api.create(ds)
            await clock.advance(1)
            before = controller.statistics().reconciles
            a = api.get_nowait(Node, "a")
            a = await api.update(a.with_meta(labels=reconcile.FrozenDict({"zone": "x"})))
            await clock.advance(1)
            assert before == controller.statistics().reconciles
            assert [] == list(api.list_nowait(Pod, namespace="default").items)
            await api.update(a.with_meta(labels=reconcile.FrozenDict({"disk": "ssd"})))
            await clock.advance(1)
            assert before < controller.statistics().reconciles
            pods = api.list_nowait(Pod, namespace="default").items
            assert ["a"] == [daemonset.target_node(p) for p in pods]

    run(scenario)
