"""``kubectl apply``'s merge patch and last-applied annotation, and RFC 7386 semantics."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.cluster.apply import LAST_APPLIED, applied_annotation, merge_patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386's MergePatch algorithm, verbatim (section 2)."""
    if isinstance(patch, Mapping):
        result = dict(target) if isinstance(target, Mapping) else {}
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = apply_merge_patch(result.get(key), value)
        return result
    return patch


def test_changed_fields_are_set() -> None:
    last = {"spec": {"replicas": 1, "image": "a"}}
    new = {"spec": {"replicas": 2, "image": "a"}}
    assert merge_patch(last, new) == {"spec": {"replicas": 2, "image": "a"}}


def test_fields_removed_from_the_manifest_become_null() -> None:
    last = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    new = {"metadata": {"labels": {"a": "1"}}}
    assert merge_patch(last, new) == {"metadata": {"labels": {"a": "1", "b": None}}}


def test_without_a_last_applied_manifest_the_patch_is_the_manifest() -> None:
    new = {"spec": {"x": [1, 2]}}
    assert merge_patch(None, new) == new


def test_lists_are_replaced_whole() -> None:
    assert merge_patch({"l": [1, 2, 3]}, {"l": [1]}) == {"l": [1]}


def test_a_mapping_replacing_a_scalar_is_set_whole() -> None:
    assert merge_patch({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}


def test_fields_others_set_are_kept_by_the_three_way_merge() -> None:
    live = {"spec": {"replicas": 5, "image": "a"}, "status": {"ready": 3}}
    last = {"spec": {"image": "a"}}
    new = {"spec": {"image": "b"}}
    merged = apply_merge_patch(live, merge_patch(last, new))
    assert merged == {"spec": {"replicas": 5, "image": "b"}, "status": {"ready": 3}}


def test_applied_annotation_is_compact_sorted_json() -> None:
    manifest = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}}
    assert applied_annotation(manifest) == (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}'
    )


def test_applied_annotation_leaves_itself_out() -> None:
    manifest = {"metadata": {"name": "p", "annotations": {LAST_APPLIED: "{}", "keep": "x"}}}
    recorded = json.loads(applied_annotation(manifest))
    assert recorded == {"metadata": {"name": "p", "annotations": {"keep": "x"}}}


def test_applied_annotation_drops_annotations_left_empty() -> None:
    manifest = {"metadata": {"name": "p", "annotations": {LAST_APPLIED: "{}"}}}
    assert json.loads(applied_annotation(manifest)) == {"metadata": {"name": "p"}}


def test_applied_annotation_does_not_change_its_argument() -> None:
    manifest = {"metadata": {"name": "p", "annotations": {LAST_APPLIED: "{}"}}}
    before = copy.deepcopy(manifest)
    applied_annotation(manifest)
    assert manifest == before


# -- property -----------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(st.integers(-3, 3), st.text("xy", max_size=2), st.booleans())
VALUES = st.recursive(
    SCALARS | st.lists(SCALARS, max_size=3),
    lambda inner: st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=4)


def contains(document: Any, part: Any) -> bool:
    """Whether ``document`` has every field of ``part`` with the same value (mappings nest)."""
    if isinstance(part, Mapping) and isinstance(document, Mapping):
        return all(k in document and contains(document[k], v) for k, v in part.items())
    return bool(document == part)


def overlay(base: Any, top: Any) -> Any:
    """``base`` with ``top`` written over it (a live object that contains ``top``)."""
    if isinstance(base, Mapping) and isinstance(top, Mapping):
        out = dict(base)
        for key, value in top.items():
            out[key] = overlay(base.get(key), value)
        return out
    return top


def removed(last: Any, new: Any) -> list[tuple[str, ...]]:
    """Paths set in ``last`` whose key is absent from ``new`` (where both are mappings)."""
    if not (isinstance(last, Mapping) and isinstance(new, Mapping)):
        return []
    paths: list[tuple[str, ...]] = []
    for key in last:
        if key not in new:
            paths.append((key,))
        else:
            paths += [(key, *rest) for rest in removed(last[key], new[key])]
    return paths


def lookup(document: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(document, Mapping) or key not in document:
            return False
        document = document[key]
    return True


@settings(max_examples=200, deadline=None)
@given(last=DOCUMENTS, new=DOCUMENTS, others=DOCUMENTS)
def test_applying_the_patch_to_a_live_object_yields_the_new_manifest(
    last: dict[str, Any], new: dict[str, Any], others: dict[str, Any]
) -> None:
    live = overlay(others, last)
    assert contains(live, last)
    result = apply_merge_patch(live, merge_patch(last, new))
    assert contains(result, new)
    for path in removed(last, new):
        assert not lookup(result, path), path


@settings(max_examples=100, deadline=None)
@given(last=DOCUMENTS, new=DOCUMENTS, others=DOCUMENTS)
def test_fields_neither_manifest_mentions_are_kept(
    last: dict[str, Any], new: dict[str, Any], others: dict[str, Any]
) -> None:
    live = overlay(others, last)
    result = apply_merge_patch(live, merge_patch(last, new))
    for key, value in others.items():
        if key not in last and key not in new:
            assert result[key] == value


@settings(max_examples=100, deadline=None)
@given(new=DOCUMENTS)
def test_re_applying_the_same_manifest_changes_nothing(new: dict[str, Any]) -> None:
    live = overlay({"z": 1}, new)
    assert apply_merge_patch(live, merge_patch(new, new)) == live
