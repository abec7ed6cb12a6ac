"""Owner references, controller references and finalizers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.model.kinds import Resource
from reconcile.model.meta import ObjectMeta, OwnerReference, Uid
from reconcile.model.ownership import (
    AlreadyOwnedError,
    add_finalizer,
    controller_of,
    has_finalizer,
    is_controlled_by,
    owner_reference_to,
    remove_finalizer,
    remove_owner_reference,
    set_controller_reference,
)

uids = st.sampled_from([Uid("u1"), Uid("u2"), Uid("u3")])
owner_refs = st.builds(
    OwnerReference,
    api_version=st.just("apps/v1"),
    kind=st.sampled_from(["ReplicaSet", "Deployment"]),
    name=st.sampled_from(["a", "b"]),
    uid=uids,
    controller=st.sampled_from([None, False, True]),
    block_owner_deletion=st.sampled_from([None, True]),
)
finalizer_names = st.sampled_from(["example.com/a", "example.com/b", "kubernetes"])
metas = st.builds(
    ObjectMeta,
    name=st.just("child"),
    namespace=st.just("ns"),
    owner_references=st.lists(owner_refs, unique_by=lambda r: r.uid, max_size=3).filter(
        lambda refs: sum(bool(r.controller) for r in refs) <= 1
    ),
    finalizers=st.lists(finalizer_names, unique=True, max_size=3),
)


def owner(uid: str = "u1", name: str = "rs") -> Resource:
    """A created owner object."""
    return Resource(metadata=ObjectMeta(name=name, namespace="ns", uid=Uid(uid)))


def ref_to(uid: str = "u1", name: str = "rs", **options: bool) -> OwnerReference:
    """A ReplicaSet owner reference (a controller reference unless told otherwise)."""
    return owner_reference_to(owner(uid, name), api_version="apps/v1", kind="ReplicaSet", **options)


# -- owner references ---------------------------------------------------------------------


def test_owner_reference_to_builds_a_controller_reference() -> None:
    """By default the reference marks a blocking controller, like NewControllerRef."""
    expected = OwnerReference(
        api_version="apps/v1",
        kind="ReplicaSet",
        name="rs",
        uid=Uid("u1"),
        controller=True,
        block_owner_deletion=True,
    )
    assert expected == ref_to()


def test_owner_reference_to_can_build_a_plain_owner_reference() -> None:
    """controller and block_owner_deletion can be turned off."""
    ref = ref_to(controller=False, block_owner_deletion=False)
    expected = (False, False)
    assert expected == (ref.controller, ref.block_owner_deletion)


def test_owner_reference_to_refuses_an_owner_without_uid() -> None:
    """An owner that was never created cannot be referenced."""
    with pytest.raises(ValueError, match="has no uid"):
        owner_reference_to(
            Resource(metadata=ObjectMeta(name="rs")), api_version="apps/v1", kind="ReplicaSet"
        )


def test_controller_of_finds_the_controller_reference() -> None:
    """Only the reference marked controller counts."""
    plain = ref_to("u1", controller=False)
    controller = ref_to("u2")
    meta = ObjectMeta(owner_references=[plain, controller])
    assert controller == controller_of(meta)
    assert controller_of(ObjectMeta(owner_references=[plain])) is None


def test_is_controlled_by_compares_the_controller_uid() -> None:
    """A plain owner is not a controller."""
    meta = ObjectMeta(owner_references=[ref_to("u1", controller=False), ref_to("u2")])
    expected = (False, True)
    assert expected == (is_controlled_by(meta, Uid("u1")), is_controlled_by(meta, Uid("u2")))


def test_set_controller_reference_appends_the_reference() -> None:
    """An object with no controller gets the reference appended after other owners."""
    plain = ref_to("u9", controller=False)
    meta = set_controller_reference(ObjectMeta(owner_references=[plain]), ref_to())
    assert (plain, ref_to()) == meta.owner_references


def test_set_controller_reference_replaces_a_same_uid_reference_in_place() -> None:
    """A plain reference to the same owner becomes the controller reference."""
    before = (ref_to("u1", controller=False), ref_to("u2", controller=False))
    meta = set_controller_reference(ObjectMeta(owner_references=before), ref_to("u2"))
    assert (before[0], ref_to("u2")) == meta.owner_references


def test_set_controller_reference_refuses_a_second_controller() -> None:
    """Another controller already set raises AlreadyOwnedError naming it."""
    meta = ObjectMeta(name="pod", namespace="ns", owner_references=[ref_to("u1", "first")])
    with pytest.raises(AlreadyOwnedError) as info:
        set_controller_reference(meta, ref_to("u2", "second"))
    assert ref_to("u1", "first") == info.value.owner
    expected = "object ns/pod is already controlled by ReplicaSet 'first' (uid u1)"
    assert expected == str(info.value)
    assert isinstance(info.value, ValueError)


def test_set_controller_reference_refuses_a_non_controller_reference() -> None:
    """Passing a plain owner reference is a programming error."""
    with pytest.raises(ValueError, match="must have controller=True"):
        set_controller_reference(ObjectMeta(), ref_to(controller=False))


@given(metas, owner_refs.filter(lambda r: bool(r.controller)))
def test_set_controller_reference_is_idempotent(meta: ObjectMeta, ref: OwnerReference) -> None:
    """Setting the controller twice changes nothing the second time."""
    current = controller_of(meta)
    if current is not None and current.uid != ref.uid:
        with pytest.raises(AlreadyOwnedError):
            set_controller_reference(meta, ref)
        return
    once = set_controller_reference(meta, ref)
    assert once is set_controller_reference(once, ref)
    assert ref == controller_of(once)
    assert len({r.uid for r in meta.owner_references} | {ref.uid}) == len(once.owner_references)


@given(metas, uids)
def test_remove_owner_reference_removes_only_that_owner(meta: ObjectMeta, uid: Uid) -> None:
    """Removing a reference keeps the others in order; removing an absent one is a no-op."""
    result = remove_owner_reference(meta, uid)
    assert [r for r in meta.owner_references if r.uid != uid] == list(result.owner_references)
    assert result is remove_owner_reference(result, uid)


# -- finalizers ---------------------------------------------------------------------------


@given(metas, finalizer_names)
def test_add_finalizer_is_idempotent(meta: ObjectMeta, name: str) -> None:
    """Adding a finalizer twice adds it once, at the end, keeping the others."""
    once = add_finalizer(meta, name)
    assert once is add_finalizer(once, name)
    assert has_finalizer(once, name)
    expected = meta.finalizers if name in meta.finalizers else (*meta.finalizers, name)
    assert expected == once.finalizers


@given(metas, finalizer_names)
def test_remove_finalizer_is_idempotent(meta: ObjectMeta, name: str) -> None:
    """Removing a finalizer twice equals removing it once; others keep their order."""
    once = remove_finalizer(meta, name)
    assert once is remove_finalizer(once, name)
    assert not has_finalizer(once, name)
    assert tuple(f for f in meta.finalizers if f != name) == once.finalizers


@given(metas, finalizer_names)
def test_add_then_remove_finalizer_restores_the_list(meta: ObjectMeta, name: str) -> None:
    """A finalizer that was absent leaves no trace after add then remove."""
    if name in meta.finalizers:
        return
    assert meta.finalizers == remove_finalizer(add_finalizer(meta, name), name).finalizers


def test_add_finalizer_refuses_an_empty_name() -> None:
    """An empty finalizer name is a programming error."""
    with pytest.raises(ValueError, match="non-empty"):
        add_finalizer(ObjectMeta(), "")
