"""Properties of the garbage collector's planner over random owner graphs."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import reconcile
from controllers import gc
from controllers.gc.plan import Delete, Snapshot, plan
from reconcile.testing import MemoryCluster, VirtualClock, run
from tests.kinds import Gadget, Gizmo, Widget

KINDS: Sequence[type[reconcile.Resource]] = (Widget, Gadget, Gizmo)
PROPAGATIONS = (None, *reconcile.Propagation)


@attrs.frozen
class Spec:
    """One generated object: its kind, namespace, owners (index or ``None``: bogus) and fate."""

    kind: type[reconcile.Resource]
    namespace: str
    owners: tuple[tuple[int | None, bool], ...]
    deletion: reconcile.Propagation | None


@st.composite
def graphs(draw: st.DrawFn) -> list[Spec]:
    n = draw(st.integers(1, 7))
    specs = []
    for _ in range(n):
        kind = draw(st.sampled_from(KINDS))
        namespace = draw(st.sampled_from(["a", "b"])) if kind is not Gizmo else ""
        owners = draw(
            st.lists(st.tuples(st.none() | st.integers(0, n - 1), st.booleans()), max_size=3)
        )
        deletion = draw(st.sampled_from(PROPAGATIONS))
        specs.append(Spec(kind, namespace, tuple(owners), deletion))
    # A cluster-scoped dependent cannot name a namespaced owner (Kubernetes keeps it forever).
    return [
        attrs.evolve(
            s,
            owners=tuple(
                (i, b)
                for i, b in s.owners
                if s.kind is not Gizmo or i is None or specs[i].kind is Gizmo
            ),
        )
        for s in specs
    ]


def _all(cluster: MemoryCluster) -> list[reconcile.Resource]:
    return [obj for kind in KINDS for obj in cluster.list_nowait(kind).items]


def _resolves(
    dep: reconcile.Resource, ref: reconcile.OwnerReference, owner: reconcile.Resource
) -> bool:
    """The oracle: ``ref`` of ``dep`` points at ``owner`` (same name and kind, valid scope)."""
    owner_kind = reconcile.kind_of(type(owner))
    return (
        ref.uid == owner.metadata.uid
        and ref.kind == owner_kind.kind
        and ref.name == owner.metadata.name
        and (not owner_kind.namespaced or dep.metadata.namespace == owner.metadata.namespace)
    )


def _live_owner(dep: reconcile.Resource, by_uid: dict[reconcile.Uid, reconcile.Resource]) -> bool:
    for ref in dep.metadata.owner_references:
        owner = by_uid.get(ref.uid)
        if owner is None or not _resolves(dep, ref, owner):
            continue
        meta = owner.metadata
        if not (meta.deleting and gc.FINALIZER_FOREGROUND in meta.finalizers):
            return True
    return False


def _ref(owner: reconcile.Resource, block: bool) -> reconcile.OwnerReference:
    return attrs.evolve(
        reconcile.owner_reference_to(owner), controller=None, block_owner_deletion=block
    )


async def _build(cluster: MemoryCluster, specs: list[Spec]) -> list[reconcile.Resource]:
    created = [
        await cluster.create(
            s.kind(metadata=reconcile.ObjectMeta(name=f"o{i}", namespace=s.namespace))
        )
        for i, s in enumerate(specs)
    ]
    initial = []
    for obj, s in zip(created, specs, strict=True):
        bogus = reconcile.OwnerReference(
            api_version="test.reconcile.dev/v1",
            kind="Gizmo" if s.kind is Gizmo else "Widget",
            name="ghost",
            uid=reconcile.Uid("bogus"),
        )
        chosen = [bogus if i is None else _ref(created[i], block) for i, block in s.owners]
        refs = {ref.uid: ref for ref in chosen}
        meta = attrs.evolve(obj.metadata, owner_references=tuple(refs.values()))
        initial.append(await cluster.update(attrs.evolve(obj, metadata=meta)))
    return initial


@given(specs=graphs())
@settings(max_examples=150, deadline=None)
def test_plans_converge_without_deleting_kept_objects(specs: list[Spec]) -> None:
    """Applied until fixpoint, plans collect exactly the dependents with no owner left."""

    async def scenario(clock: VirtualClock) -> list[str]:
        cluster = MemoryCluster(clock=clock, seed=1)
        initial = await _build(cluster, specs)
        for obj, s in zip(initial, specs, strict=True):
            if s.deletion is not None:
                await cluster.delete(type(obj), obj.metadata.key, propagation=s.deletion)
        violations: list[str] = []
        for _ in range(4 * len(specs) + 4):
            objects = _all(cluster)
            by_uid = {o.metadata.uid: o for o in objects}
            p = plan(Snapshot.of(KINDS, objects), objects)
            violations.extend(
                f"deleted {action.key} with a live owner"
                for action in p.actions
                if isinstance(action, Delete) and _live_owner(by_uid[action.uid], by_uid)
            )
            if not p:
                break
            await gc.apply(cluster, p)
        final = {o.metadata.uid: o for o in _all(cluster)}
        if plan(Snapshot.of(KINDS, list(final.values())), list(final.values())):
            violations.append("no fixpoint")
        orphaned = {
            dep.metadata.uid
            for owner, s in zip(initial, specs, strict=True)
            if s.deletion is reconcile.Propagation.ORPHAN
            for dep in initial
            if any(_resolves(dep, ref, owner) for ref in dep.metadata.owner_references)
        }
        for obj, s in zip(initial, specs, strict=True):
            uid = obj.metadata.uid
            if s.deletion is not None:
                if uid in final:
                    violations.append(f"{obj.metadata.key} was deleted but remains")
                continue
            kept = [
                ref
                for ref in obj.metadata.owner_references
                if ref.uid in final and _resolves(obj, ref, final[ref.uid])
            ]
            if uid not in final:
                if kept:
                    violations.append(f"{obj.metadata.key} was collected with a live owner")
                continue
            if list(final[uid].metadata.owner_references) != kept:
                violations.append(f"{obj.metadata.key} kept the wrong owner references")
            if obj.metadata.owner_references and not kept and uid not in orphaned:
                violations.append(f"{obj.metadata.key} survived all its owners")
        return violations

    assert [] == run(scenario)


def test_cluster_scoped_dependent_of_namespaced_kind_is_kept() -> None:
    """A reference the collector cannot verify (wrong scope, unknown kind) keeps its object."""
    widget_ref = reconcile.OwnerReference(
        api_version="test.reconcile.dev/v1", kind="Widget", name="w", uid=reconcile.Uid("u1")
    )
    unknown_ref = reconcile.OwnerReference(
        api_version="other/v1", kind="Thing", name="t", uid=reconcile.Uid("u2")
    )
    objects: list[reconcile.Resource] = [
        Gizmo(
            metadata=reconcile.ObjectMeta(
                name="g", uid=reconcile.Uid("g"), owner_references=(widget_ref,)
            )
        ),
        Gadget(
            metadata=reconcile.ObjectMeta(
                name="d", namespace="a", uid=reconcile.Uid("d"), owner_references=(unknown_ref,)
            )
        ),
    ]
    assert gc.Plan() == plan(Snapshot.of(KINDS, objects), objects)


def test_delete_never_removes_an_object_recreated_under_the_same_name() -> None:
    """The uid precondition protects a new object that took the collected one's name."""

    async def scenario(clock: VirtualClock) -> list[str]:
        cluster = MemoryCluster(clock=clock, seed=2)
        ghost = reconcile.OwnerReference(
            api_version="test.reconcile.dev/v1", kind="Widget", name="w", uid=reconcile.Uid("x")
        )
        meta = reconcile.ObjectMeta(name="g", namespace="a", owner_references=(ghost,))
        old = await cluster.create(Gadget(metadata=meta))
        stale = plan(Snapshot.of(KINDS, [old]), [old])
        await cluster.delete(Gadget, old.metadata.key)
        await cluster.create(Gadget(metadata=reconcile.ObjectMeta(name="g", namespace="a")))
        await gc.apply(cluster, stale)
        return [o.metadata.name for o in cluster.list_nowait(Gadget).items]

    assert ["g"] == run(scenario)
