"""
Mappers and predicates: which keys an event enqueues, alone and inside a running controller.

The first half checks the pure functions; the second wires them into a
:class:`Controller` (``owns=``, ``watches=``, ``predicates=``) over a
:class:`MemoryCluster` and records which keys get reconciled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import attrs
import pytest

from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectKey, ObjectMeta, OwnerReference, Uid
from reconcile.primitives.virtual import VirtualClock
from reconcile.runtime.controller import Controller, Watch
from reconcile.runtime.handlers import enqueue_mapped, enqueue_owner, enqueue_self
from reconcile.runtime.manager import Manager
from reconcile.runtime.predicates import (
    Predicate,
    and_,
    annotations_changed,
    generation_changed,
    labels_changed,
    not_,
    or_,
    resource_version_changed,
)
from reconcile.runtime.reconciler import Request, Result
from reconcile.testing import MemoryCluster, run
from tests.kinds import (
    Gadget,
    GadgetSpec,
    Gizmo,
    GizmoSpec,
    Widget,
    WidgetSpec,
    WidgetStatus,
    owner_reference,
    widget,
)


def _gadget(name: str, *owners: OwnerReference, namespace: str = "default") -> Gadget:
    return Gadget(metadata=ObjectMeta(name=name, namespace=namespace, owner_references=owners))


def _key(name: str, namespace: str = "default") -> ObjectKey:
    return ObjectKey(namespace=namespace, name=name)


# -- mappers -----------------------------------------------------------------


def test_enqueue_self_maps_an_object_to_its_own_key() -> None:
    """enqueue_self() yields the object's own namespace/name."""
    assert [_key("w", "ns")] == list(enqueue_self()(widget("w", namespace="ns")))


def test_enqueue_owner_maps_a_child_to_its_controlling_owner() -> None:
    """enqueue_owner(kind) yields the key of the controller reference, in the child's namespace."""
    child = _gadget("g", owner_reference(widget("w")), namespace="default")

    assert [_key("w")] == list(enqueue_owner(Widget)(child))


def test_enqueue_owner_ignores_non_controller_references_by_default() -> None:
    """A plain owner reference (controller unset) does not enqueue its owner."""
    child = _gadget("g", owner_reference(widget("w"), controller=False))

    assert [] == list(enqueue_owner(Widget)(child))


def test_enqueue_owner_follows_every_reference_when_asked() -> None:
    """With only_controller=False, every owner of the kind is enqueued."""
    child = _gadget(
        "g",
        owner_reference(widget("a"), controller=False),
        owner_reference(widget("b")),
    )

    assert [_key("a"), _key("b")] == list(enqueue_owner(Widget, only_controller=False)(child))


def test_enqueue_owner_ignores_references_to_other_kinds() -> None:
    """A controller reference to another kind is not mistaken for the owner kind."""
    gizmo = Gizmo(metadata=ObjectMeta(name="w", uid=Uid("uid-gizmo")))
    child = _gadget("g", owner_reference(gizmo))

    assert [] == list(enqueue_owner(Widget)(child))


def test_enqueue_owner_ignores_references_to_other_groups() -> None:
    """A reference to a kind of the same name in another API group is ignored."""
    foreign = OwnerReference(
        api_version="elsewhere.example.com/v1",
        kind="Widget",
        name="w",
        uid=Uid("u"),
        controller=True,
    )
    child = _gadget("g", foreign)

    assert [] == list(enqueue_owner(Widget)(child))


def test_enqueue_owner_maps_to_a_cluster_scoped_owner_without_namespace() -> None:
    """The key of a cluster-scoped owner has an empty namespace."""
    gizmo = Gizmo(metadata=ObjectMeta(name="big", uid=Uid("uid-gizmo")))
    child = _gadget("g", owner_reference(gizmo), namespace="team-a")

    assert [ObjectKey(namespace="", name="big")] == list(enqueue_owner(Gizmo)(child))


def test_enqueue_mapped_maps_with_the_given_function() -> None:
    """enqueue_mapped(fn) yields whatever fn returns for the object."""
    mapper = enqueue_mapped(lambda obj: [_key(obj.metadata.labels["widget"])])
    gizmo = Gizmo(metadata=ObjectMeta(name="z", labels={"widget": "w"}))

    assert [_key("w")] == list(mapper(gizmo))


# -- predicates --------------------------------------------------------------


def _bump(obj: Widget, **meta: Any) -> Widget:
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, **meta))


BASE = _bump(
    widget("w", resource_version="5", labels={"app": "x"}), generation=1, annotations={"note": "a"}
)


@pytest.mark.parametrize(
    ("predicate", "changed", "expected"),
    [
        (generation_changed, {"generation": 2}, True),
        (generation_changed, {"resource_version": "6"}, False),
        (resource_version_changed, {"resource_version": "6"}, True),
        (resource_version_changed, {}, False),
        (labels_changed, {"labels": {"app": "y"}}, True),
        (labels_changed, {"generation": 2}, False),
        (annotations_changed, {"annotations": {"note": "b"}}, True),
        (annotations_changed, {"labels": {"app": "y"}}, False),
    ],
)
def test_predicates_pass_updates_that_change_their_field(
    predicate: Predicate, changed: dict[str, Any], expected: bool
) -> None:
    """Each field predicate passes an update exactly when its field differs."""
    assert expected == predicate(BASE, _bump(BASE, **changed))


@pytest.mark.parametrize(
    "predicate",
    [generation_changed, resource_version_changed, labels_changed, annotations_changed],
)
def test_predicates_pass_every_add_and_delete(predicate: Predicate) -> None:
    """Adds (old is None) and deletes (new is None) always pass a field predicate."""
    assert (True, True) == (predicate(None, BASE), predicate(BASE, None))


def test_combinators_combine_predicates() -> None:
    """and_, or_ and not_ are the boolean combinations of their predicates."""
    relabelled = _bump(BASE, labels={"app": "y"}, resource_version="6")  # same generation

    assert (False, True) == (
        and_(labels_changed, generation_changed)(BASE, relabelled),
        or_(labels_changed, generation_changed)(BASE, relabelled),
    )
    assert (True, False) == (
        not_(generation_changed)(BASE, relabelled),
        not_(labels_changed)(BASE, relabelled),
    )


# -- wired into a controller -------------------------------------------------


class Recorder:
    """A Reconciler that records the key of every reconcile."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def reconcile(self, request: Request) -> Result:
        self.keys.append(str(request))
        return Result.done()


Steps = Callable[[MemoryCluster, VirtualClock], Awaitable[None]]


def _reconciled_after(
    steps: Steps,
    *,
    setup: Sequence[Resource] = (),
    owns: Sequence[type[Resource]] = (),
    watches: Sequence[Watch] = (),
    predicates: Sequence[Predicate] = (),
) -> list[str]:
    """
    Create ``setup``, start a Widget controller, let it settle, run ``steps``.

    Returns the keys reconciled because of ``steps`` (the start-up reconciles are left out).
    """

    async def scenario(clock: VirtualClock) -> list[str]:
        cluster = MemoryCluster(clock=clock)
        manager = Manager(cluster, clock=clock)
        recorder = Recorder()
        manager.add(
            Controller(
                name="widgets",
                for_=Widget,
                reconciler=recorder,
                owns=owns,
                watches=watches,
                predicates=predicates,
            )
        )
        for obj in setup:
            await cluster.create(obj)
        async with manager:
            await clock.advance(1)
            recorder.keys.clear()
            await steps(cluster, clock)
            await clock.advance(1)
        return recorder.keys

    return run(scenario)


def _stored_widget(cluster: MemoryCluster, name: str) -> Widget:
    return cluster.get_nowait(Widget, name, namespace="default")


def _widget(name: str) -> Widget:
    return Widget(metadata=ObjectMeta(name=name, namespace="default"))


def test_reconciles_the_owner_when_an_owned_child_changes() -> None:
    """With owns=(Gadget,), creating, updating and deleting a gadget each reconcile its widget."""

    async def steps(cluster: MemoryCluster, clock: VirtualClock) -> None:
        owner = owner_reference(_stored_widget(cluster, "w"))
        gadget = await cluster.create(_gadget("g", owner))
        await clock.advance(1)
        await cluster.update(attrs.evolve(gadget, spec=GadgetSpec(part="bolt")))
        await clock.advance(1)
        await cluster.delete(Gadget, "g", namespace="default")

    keys = _reconciled_after(steps, setup=[_widget("w"), _widget("other")], owns=(Gadget,))

    assert ["default/w"] * 3 == keys


def test_ignores_children_that_are_not_controlled_by_the_owner_kind() -> None:
    """A gadget with only a non-controller reference to a widget enqueues nothing."""

    async def steps(cluster: MemoryCluster, clock: VirtualClock) -> None:
        owner = owner_reference(_stored_widget(cluster, "w"), controller=False)
        gadget = await cluster.create(_gadget("g", owner))
        await clock.advance(1)
        await cluster.update(attrs.evolve(gadget, spec=GadgetSpec(part="bolt")))

    assert [] == _reconciled_after(steps, setup=[_widget("w")], owns=(Gadget,))


def test_reconciles_both_owners_when_a_child_changes_hands() -> None:
    """An update that moves a gadget to another widget reconciles the new and the old owner."""

    async def steps(cluster: MemoryCluster, clock: VirtualClock) -> None:
        old_owner = owner_reference(_stored_widget(cluster, "old"))
        new_owner = owner_reference(_stored_widget(cluster, "new"))
        gadget = await cluster.create(_gadget("g", old_owner))
        await clock.advance(1)
        moved = attrs.evolve(gadget.metadata, owner_references=(new_owner,))
        await cluster.update(attrs.evolve(gadget, metadata=moved))

    keys = _reconciled_after(steps, setup=[_widget("old"), _widget("new")], owns=(Gadget,))

    assert ["default/old", "default/new", "default/old"] == keys


def test_watches_enqueue_the_keys_a_mapper_returns() -> None:
    """watches= with enqueue_mapped reconciles the widgets a gizmo names in its labels."""

    def named_widgets(obj: Resource) -> Iterable[ObjectKey]:
        names = obj.metadata.labels.get("widgets", "")
        return [_key(name) for name in names.split(".") if name]

    watch = Watch(kind=Gizmo, mapper=enqueue_mapped(named_widgets))

    async def steps(cluster: MemoryCluster, clock: VirtualClock) -> None:
        gizmo = Gizmo(metadata=ObjectMeta(name="z", labels={"widgets": "a.b"}))
        created = await cluster.create(gizmo)
        await clock.advance(1)
        await cluster.update(attrs.evolve(created, spec=GizmoSpec(level=2)))

    setup = [_widget("a"), _widget("b"), _widget("c")]
    keys = _reconciled_after(steps, setup=setup, watches=[watch])

    assert ["default/a", "default/b"] * 2 == keys


def test_generation_changed_filters_status_only_updates() -> None:
    """With predicates=[generation_changed], status and label writes are ignored; spec is not."""

    async def steps(cluster: MemoryCluster, clock: VirtualClock) -> None:
        current = _stored_widget(cluster, "w")
        current = await cluster.update_status(attrs.evolve(current, status=WidgetStatus(ready=1)))
        await clock.advance(1)
        labelled = attrs.evolve(current.metadata, labels={"seen": "yes"})
        current = await cluster.update(attrs.evolve(current, metadata=labelled))
        await clock.advance(1)
        await cluster.update(attrs.evolve(current, spec=WidgetSpec(size=2)))

    keys = _reconciled_after(steps, setup=[_widget("w")], predicates=[generation_changed])

    assert ["default/w"] == keys


def test_reconciles_status_only_updates_without_predicates() -> None:
    """Without predicates, a status write does enqueue the widget (so the filter above is real)."""

    async def steps(cluster: MemoryCluster, _clock: VirtualClock) -> None:
        current = _stored_widget(cluster, "w")
        await cluster.update_status(attrs.evolve(current, status=WidgetStatus(ready=1)))

    assert ["default/w"] == _reconciled_after(steps, setup=[_widget("w")])


def test_predicates_apply_to_the_primary_kind_only() -> None:
    """Owned children still enqueue their owner when the primary kind's predicate would not."""

    async def steps(cluster: MemoryCluster, _clock: VirtualClock) -> None:
        owner = owner_reference(_stored_widget(cluster, "w"))
        await cluster.create(_gadget("g", owner))

    never_for_widgets = not_(generation_changed)  # rejects every add of a widget
    keys = _reconciled_after(
        steps, setup=[_widget("w")], owns=(Gadget,), predicates=[never_for_widgets]
    )

    assert ["default/w"] == keys
