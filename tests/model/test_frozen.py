"""FrozenDict and freeze/thaw: immutable, hashable, JSON-shaped containers."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.model.frozen import EMPTY, FrozenDict, freeze, frozen_str_dict, thaw

# -- strategies ---------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
"""Plain JSON as ``json.loads`` returns it: dicts with string keys, lists and scalars."""


# -- immutability -------------------------------------------------------------------------

MUTATORS: dict[str, Callable[[FrozenDict[str, int]], object]] = {
    "__setitem__": lambda d: d.__setitem__("a", 2),
    "__delitem__": lambda d: d.__delitem__("a"),
    "clear": lambda d: d.clear(),
    "pop": lambda d: d.pop("a"),
    "popitem": lambda d: d.popitem(),
    "setdefault": lambda d: d.setdefault("z", 3),
    "update": lambda d: d.update(z=3),
    "__ior__": lambda d: d.__ior__({"z": 3}),
}


@pytest.mark.parametrize("mutate", MUTATORS.values(), ids=MUTATORS.keys())
def test_every_mutator_raises_and_leaves_contents_unchanged(
    mutate: Callable[[FrozenDict[str, int]], object],
) -> None:
    """Each dict mutator raises TypeError and the mapping keeps its items."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": 1, "b": 2})
    with pytest.raises(TypeError, match="FrozenDict is immutable"):
        mutate(frozen)
    assert {"a": 1, "b": 2} == frozen


def test_item_assignment_statement_raises() -> None:
    """``d[k] = v`` and ``del d[k]`` are refused through the operator syntax too."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": 1})
    with pytest.raises(TypeError):
        frozen["a"] = 2
    with pytest.raises(TypeError):
        del frozen["a"]
    assert {"a": 1} == frozen


def test_in_place_union_operator_raises() -> None:
    """``d |= other`` raises instead of rebinding to a merged mapping."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": 1})
    with pytest.raises(TypeError):
        frozen |= {"b": 2}
    assert {"a": 1} == frozen


# -- hashing and equality -----------------------------------------------------------------


def test_equals_plain_dict_with_same_items() -> None:
    """A FrozenDict compares equal to a dict with the same items, both ways round."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": 1, "b": [1, 2]})
    assert {"a": 1, "b": [1, 2]} == frozen
    assert frozen == {"b": [1, 2], "a": 1}
    assert frozen != {"a": 1}


def test_equal_frozen_dicts_hash_equal_regardless_of_insertion_order() -> None:
    """Equal FrozenDicts have equal hashes, so they collapse in sets and dict keys."""
    first: FrozenDict[str, Any] = FrozenDict({"a": 1, "b": 2})
    second: FrozenDict[str, Any] = FrozenDict([("b", 2), ("a", 1)])
    assert hash(first) == hash(second)
    assert 1 == len({first, second})


def test_hash_is_stable_across_calls() -> None:
    """Hashing twice gives the same value (the hash is cached, not recomputed differently)."""
    frozen: FrozenDict[str, Any] = FrozenDict({"x": "y"})
    assert hash(frozen) == hash(frozen)


def test_hash_with_unhashable_value_raises() -> None:
    """Hashing fails loudly when a value is itself unhashable."""
    with pytest.raises(TypeError):
        hash(FrozenDict({"a": [1]}))


def test_is_a_dict_and_json_serialisable() -> None:
    """FrozenDict is a real dict, so ``json.dumps`` accepts it unchanged."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": 1})
    assert isinstance(frozen, dict)
    assert '{"a": 1}' == json.dumps(frozen)


def test_repr_names_the_type() -> None:
    """The repr says FrozenDict, not dict."""
    assert "FrozenDict({'a': 1})" == repr(FrozenDict({"a": 1}))


# -- the shared empty instance ------------------------------------------------------------


@pytest.mark.parametrize("source", [(), ({},), ([],), ((),), (FrozenDict(),)])
def test_every_empty_frozen_dict_is_the_shared_instance(source: tuple[Any, ...]) -> None:
    """Building an empty FrozenDict from any empty source returns the one shared instance."""
    assert EMPTY is FrozenDict(*source)


def test_non_empty_frozen_dicts_are_distinct_instances() -> None:
    """Only empty FrozenDicts are shared; equal non-empty ones are separate objects."""
    assert FrozenDict({"a": 1}) is not FrozenDict({"a": 1})


def test_empty_from_keywords_or_iterators_is_still_empty() -> None:
    """An empty iterator (not detectably empty up front) still gives an empty FrozenDict."""
    assert {} == FrozenDict(iter([]))
    assert {"a": 1} == FrozenDict(a=1)


def test_shared_empty_instance_is_not_mutated_by_construction() -> None:
    """Constructing non-empty FrozenDicts never leaks items into the shared empty one."""
    FrozenDict({"a": 1})
    FrozenDict(a=1)
    assert {} == FrozenDict()
    assert 0 == len(EMPTY)


def test_subclass_does_not_share_the_empty_instance() -> None:
    """A subclass gets its own empty instances of its own type."""

    class Sub(FrozenDict[str, int]):
        __slots__ = ()

    assert Sub is type(Sub())
    assert Sub() is not EMPTY


# -- pickling and copying -----------------------------------------------------------------


@pytest.mark.parametrize("value", [FrozenDict({"a": 1, "b": (1, 2)}), FrozenDict()])
def test_pickle_round_trip_keeps_type_and_items(value: FrozenDict[str, object]) -> None:
    """Unpickling gives an equal FrozenDict, still immutable and hashable."""
    restored = pickle.loads(pickle.dumps(value))  # noqa: S301 - our own bytes
    assert FrozenDict is type(restored)
    assert value == restored
    assert hash(value) == hash(restored)
    with pytest.raises(TypeError):
        restored["c"] = 3


def test_unpickled_empty_is_the_shared_instance() -> None:
    """Unpickling an empty FrozenDict returns the shared empty instance."""
    assert EMPTY is pickle.loads(pickle.dumps(FrozenDict()))  # noqa: S301 - our own bytes


def test_copy_and_deepcopy_keep_type() -> None:
    """copy.copy and copy.deepcopy produce equal FrozenDicts."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": (1, 2)})
    assert FrozenDict is type(copy.copy(frozen))
    assert frozen == copy.deepcopy(frozen)
    assert FrozenDict is type(copy.deepcopy(frozen))


# -- functional updates -------------------------------------------------------------------


def test_set_returns_updated_copy_and_leaves_original() -> None:
    """``set`` returns a new FrozenDict with the key set; the original is untouched."""
    original: FrozenDict[str, Any] = FrozenDict({"a": 1})
    updated = original.set("b", 2)
    assert {"a": 1, "b": 2} == updated
    assert FrozenDict is type(updated)
    assert {"a": 1} == original


def test_set_overwrites_existing_key() -> None:
    """``set`` on an existing key replaces its value."""
    original: FrozenDict[str, int] = FrozenDict({"a": 1})
    assert {"a": 9} == original.set("a", 9)


def test_without_drops_keys_and_ignores_absent_ones() -> None:
    """``without`` removes the given keys and silently skips keys that are not there."""
    original: FrozenDict[str, Any] = FrozenDict({"a": 1, "b": 2, "c": 3})
    assert {"b": 2} == original.without("a", "c", "missing")
    assert {"a": 1, "b": 2, "c": 3} == original


def test_without_every_key_gives_the_shared_empty_instance() -> None:
    """Removing all keys yields the shared empty FrozenDict."""
    original: FrozenDict[str, int] = FrozenDict({"a": 1})
    assert EMPTY is original.without("a")


def test_merged_accepts_mappings_and_pairs_and_prefers_other() -> None:
    """``merged`` overlays a mapping or an iterable of pairs; ``other`` wins on conflicts."""
    original: FrozenDict[str, Any] = FrozenDict({"a": 1, "b": 2})
    assert {"a": 1, "b": 20, "c": 3} == original.merged({"b": 20, "c": 3})
    assert {"a": 10, "b": 2} == original.merged([("a", 10)])
    assert {"a": 1, "b": 2} == original
    assert FrozenDict is type(original.merged({}))


def test_frozen_str_dict_converter() -> None:
    """The attrs converter maps None to empty, reuses FrozenDicts and freezes dicts."""
    existing: FrozenDict[str, Any] = FrozenDict({"a": "b"})
    assert EMPTY is frozen_str_dict(None)
    assert existing is frozen_str_dict(existing)
    converted = frozen_str_dict({"a": "b"})
    assert FrozenDict is type(converted)
    assert existing == converted


# -- freeze and thaw ----------------------------------------------------------------------


def _is_deeply_frozen(value: object) -> bool:
    if isinstance(value, dict):
        return isinstance(value, FrozenDict) and all(map(_is_deeply_frozen, value.values()))
    if isinstance(value, list):
        return False
    if isinstance(value, tuple):
        return all(map(_is_deeply_frozen, value))
    return True


@given(json_values)
def test_thaw_of_freeze_round_trips_json(value: object) -> None:
    """Freezing then thawing any JSON value gives back an equal plain value."""
    assert value == thaw(freeze(value))


@given(json_values)
def test_freeze_leaves_nothing_mutable_and_is_hashable(value: object) -> None:
    """A frozen value contains only FrozenDicts, tuples and scalars, and hashes."""
    frozen = freeze(value)
    assert _is_deeply_frozen(frozen)
    hash(frozen)


@given(json_values)
def test_freeze_is_idempotent_and_thaw_gives_plain_containers(value: object) -> None:
    """Freezing a frozen value changes nothing; thawing gives dicts and lists only."""
    frozen = freeze(value)
    assert frozen == freeze(frozen)
    assert json.dumps(value, sort_keys=True) == json.dumps(thaw(frozen), sort_keys=True)


def test_freeze_returns_already_frozen_dict_unchanged() -> None:
    """A deeply frozen FrozenDict is returned as is, without copying."""
    frozen: FrozenDict[str, Any] = FrozenDict({"a": (1, FrozenDict({"b": None}))})
    assert frozen is freeze(frozen)


def test_freeze_rebuilds_frozen_dict_holding_mutable_values() -> None:
    """A FrozenDict holding a list is rebuilt with the list frozen to a tuple."""
    assert FrozenDict({"a": (1, 2)}) == freeze(FrozenDict({"a": [1, 2]}))


def test_thaw_returns_mutable_copies() -> None:
    """Thawed containers are plain dicts and lists that can be changed freely."""
    thawed = thaw(FrozenDict({"a": (1, FrozenDict({"b": 2}))}))
    assert {"a": [1, {"b": 2}]} == thawed
    assert dict is type(thawed)
    assert list is type(thawed["a"])
    assert dict is type(thawed["a"][1])


@pytest.mark.parametrize(
    "value",
    [b"bytes", {1, 2}, object(), {"nested": [1, {"deep": 1j}]}, FrozenDict({"a": object()})],
    ids=["bytes", "set", "object", "nested-complex", "frozen-holding-object"],
)
def test_freeze_rejects_non_json_values(value: object) -> None:
    """Values JSON cannot hold, at any depth, raise TypeError naming their type."""
    with pytest.raises(TypeError, match="not a JSON value"):
        freeze(value)
