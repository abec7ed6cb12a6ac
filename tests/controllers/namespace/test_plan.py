"""Properties of the namespace controller's pure planner."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given
from hypothesis import strategies as st

import reconcile
from controllers.api.core import ConfigMap, Namespace, NamespaceSpec
from controllers.namespace import FINALIZER_KUBERNETES, Plan, plan
from tests.kinds import Gadget, Widget

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NAMESPACES = ("a", "b")


@st.composite
def _objects(draw: st.DrawFn) -> list[reconcile.Resource]:
    objects: list[reconcile.Resource] = []
    specs = draw(
        st.lists(
            st.tuples(st.sampled_from(NAMESPACES), st.booleans(), st.booleans()),
            max_size=8,
        )
    )
    for i, (ns, held, deleting) in enumerate(specs):
        meta = reconcile.ObjectMeta(
            name=f"o{i}",
            namespace=ns,
            uid=reconcile.Uid(f"uid-{i}"),
            finalizers=("hold",) if held else (),
            deletion_timestamp=T0 if held and deleting else None,
        )
        kind = (Widget, Gadget, ConfigMap)[i % 3]
        objects.append(kind(metadata=meta))
    return objects


def _namespace(deleting: bool, finalized: bool) -> Namespace:
    meta = reconcile.ObjectMeta(name="a", deletion_timestamp=T0 if deleting else None)
    spec = NamespaceSpec(finalizers=() if finalized else (FINALIZER_KUBERNETES,))
    return Namespace(metadata=meta, spec=spec)


def _applied(ns: Namespace, objects: list[reconcile.Resource], p: Plan) -> list[reconcile.Resource]:
    """The content after ``p``: unheld deletions vanish, held ones get a timestamp."""
    deleted = {d.uid for d in p.deletes}
    after: list[reconcile.Resource] = []
    for obj in objects:
        if obj.metadata.uid not in deleted:
            after.append(obj)
        elif obj.metadata.finalizers:
            meta = attrs.evolve(obj.metadata, deletion_timestamp=T0)
            after.append(attrs.evolve(obj, metadata=meta))
    return after


@given(_objects(), st.booleans(), st.booleans())
def test_never_deletes_outside_the_namespace(
    objects: list[reconcile.Resource], deleting: bool, finalized: bool
) -> None:
    """Every planned delete names an object of the namespace, with its uid."""
    ns = _namespace(deleting, finalized)
    inside = {o.metadata.uid for o in objects if o.metadata.namespace == "a"}
    deleted = {d.uid for d in plan(ns, objects).deletes}
    assert set() == deleted - inside


@given(_objects(), st.booleans())
def test_finalizes_only_when_empty(objects: list[reconcile.Resource], finalized: bool) -> None:
    """The finalizer is removed exactly when a deleting namespace holds nothing."""
    ns = _namespace(True, finalized)
    empty = not any(o.metadata.namespace == "a" for o in objects)
    assert (empty and not finalized) == plan(ns, objects).finalize


@given(_objects(), st.booleans())
def test_live_namespace_gets_nothing(objects: list[reconcile.Resource], finalized: bool) -> None:
    """A namespace that is not being deleted gets an empty plan."""
    assert Plan() == plan(_namespace(False, finalized), objects)


@given(_objects(), st.booleans())
def test_idempotent(objects: list[reconcile.Resource], finalized: bool) -> None:
    """After applying a plan, planning again deletes nothing more."""
    ns = _namespace(True, finalized)
    first = plan(ns, objects)
    terminating = attrs.evolve(ns, status=attrs.evolve(ns.status, phase="Terminating"))
    again = plan(terminating, _applied(ns, objects, first))
    held = [o for o in objects if o.metadata.namespace == "a" and o.metadata.finalizers]
    expected = Plan(waiting=bool(held), finalize=not held and not finalized)
    assert expected == again
