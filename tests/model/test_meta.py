"""ObjectKey parsing and ordering; ObjectMeta converters and derived properties."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.model.frozen import FrozenDict
from reconcile.model.meta import ObjectKey, ObjectMeta, OwnerReference, Uid

# A "/" separates namespace from name, so neither part may contain one.
key_parts = st.text(st.characters(exclude_characters="/"), min_size=1, max_size=12)
object_keys = st.builds(ObjectKey, namespace=st.just("") | key_parts, name=key_parts)


# -- ObjectKey ----------------------------------------------------------------------------


@given(object_keys)
def test_parse_of_str_round_trips(key: ObjectKey) -> None:
    """``ObjectKey.parse(str(key)) == key`` for namespaced and cluster-scoped keys."""
    assert key == ObjectKey.parse(str(key))


def test_str_of_namespaced_key_joins_with_slash() -> None:
    """A namespaced key prints as ``namespace/name``."""
    assert "default/web" == str(ObjectKey(namespace="default", name="web"))


def test_str_of_cluster_scoped_key_is_the_name() -> None:
    """A cluster-scoped key (empty namespace) prints as the bare name."""
    assert "node-1" == str(ObjectKey(name="node-1"))


def test_parse_bare_name_gives_cluster_scoped_key() -> None:
    """Parsing a bare name gives an empty namespace."""
    assert ObjectKey(namespace="", name="node-1") == ObjectKey.parse("node-1")


@pytest.mark.parametrize("text", ["", "ns/", "/name", "a/b/c", "/", "//x"])
def test_parse_rejects_malformed_keys(text: str) -> None:
    """Empty names, empty namespaces before a slash and extra slashes raise ValueError."""
    with pytest.raises(ValueError, match="invalid object key"):
        ObjectKey.parse(text)


def test_keys_order_by_namespace_then_name() -> None:
    """Keys sort by namespace first, with cluster-scoped keys before namespaced ones."""
    keys = [
        ObjectKey(namespace="b", name="a"),
        ObjectKey(namespace="a", name="z"),
        ObjectKey(name="zz"),
        ObjectKey(namespace="a", name="b"),
    ]
    expected = [
        ObjectKey(name="zz"),
        ObjectKey(namespace="a", name="b"),
        ObjectKey(namespace="a", name="z"),
        ObjectKey(namespace="b", name="a"),
    ]
    assert expected == sorted(keys)


def test_equal_keys_hash_equal_and_deduplicate() -> None:
    """Equal keys are interchangeable as set members and dict keys."""
    first = ObjectKey(namespace="ns", name="a")
    second = ObjectKey.parse("ns/a")
    assert hash(first) == hash(second)
    assert {first: 1}[second] == 1
    assert 2 == len({first, second, ObjectKey(namespace="ns", name="b")})


def test_keys_differing_only_in_scope_are_distinct() -> None:
    """``ns/a`` and the cluster-scoped ``a`` are different keys."""
    assert ObjectKey(namespace="ns", name="a") != ObjectKey(name="a")


def test_key_is_immutable() -> None:
    """An ObjectKey's fields cannot be reassigned."""
    key = ObjectKey(namespace="ns", name="a")
    with pytest.raises(AttributeError):
        key.name = "b"  # type: ignore[misc]


# -- ObjectMeta ---------------------------------------------------------------------------


def test_labels_and_annotations_from_plain_dicts_become_frozen() -> None:
    """Plain dicts given for labels and annotations are converted to FrozenDict."""
    meta = ObjectMeta(labels={"app": "web"}, annotations={"note": "x"})
    assert FrozenDict is type(meta.labels)
    assert FrozenDict is type(meta.annotations)
    assert {"app": "web"} == meta.labels
    assert {"note": "x"} == meta.annotations


def test_default_labels_are_empty_and_hashable() -> None:
    """A default ObjectMeta is hashable (its empty maps are frozen)."""
    assert hash(ObjectMeta()) == hash(ObjectMeta())
    assert {} == ObjectMeta().labels


def test_evolve_converts_labels_again() -> None:
    """``attrs.evolve`` with a plain dict still stores a FrozenDict."""
    meta = attrs.evolve(ObjectMeta(), labels={"a": "b"})
    assert FrozenDict is type(meta.labels)


def test_finalizers_as_a_single_string_raise_type_error() -> None:
    """A bare string is not mistaken for a sequence of one-letter finalizers."""
    with pytest.raises(TypeError, match="single string"):
        ObjectMeta(finalizers="example.com/cleanup")


def test_finalizers_and_owner_references_from_lists_become_tuples() -> None:
    """Lists given for finalizers and owner references are stored as tuples."""
    owner = OwnerReference(api_version="v1", kind="Node", name="n", uid=Uid("u"))
    meta = ObjectMeta(finalizers=["a", "b"], owner_references=[owner])
    assert ("a", "b") == meta.finalizers
    assert (owner,) == meta.owner_references


def test_key_of_namespaced_meta() -> None:
    """``key`` combines namespace and name into an ObjectKey."""
    key = ObjectMeta(name="web", namespace="prod").key
    assert ObjectKey(namespace="prod", name="web") == key
    assert ObjectKey is type(key)


def test_key_of_cluster_scoped_meta() -> None:
    """``key`` of metadata without a namespace is a cluster-scoped key."""
    assert "node-1" == str(ObjectMeta(name="node-1").key)


def test_deleting_follows_deletion_timestamp() -> None:
    """``deleting`` is true exactly when a deletion timestamp is set."""
    assert not ObjectMeta().deleting
    stamp = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert ObjectMeta(deletion_timestamp=stamp).deleting


def test_meta_is_frozen() -> None:
    """ObjectMeta attributes cannot be assigned."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ObjectMeta().name = "x"  # type: ignore[misc]
