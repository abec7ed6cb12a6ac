"""Conversion between kinds and the Kubernetes JSON shape, and its error reports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.errors import FieldError, InvalidError
from reconcile.model.convert import format_time, from_json, parse_time, to_json
from reconcile.model.kinds import KindRegistry, Resource
from reconcile.model.meta import ObjectMeta, OwnerReference, ResourceVersion, Uid
from tests.kinds import (
    GROUP,
    Gadget,
    GadgetSpec,
    Gizmo,
    GizmoSpec,
    Widget,
    WidgetSpec,
    WidgetStatus,
)

API_VERSION = f"{GROUP}/v1"

# -- strategies ---------------------------------------------------------------------------

words = st.text(max_size=8)
names = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?\Z")
utc_times = st.datetimes(
    min_value=dt.datetime.min,  # noqa: DTZ901 - hypothesis takes naive bounds
    max_value=dt.datetime.max,  # noqa: DTZ901
    timezones=st.just(dt.UTC),
)
"""Aware UTC instants over the whole range RFC 3339 can write, with and without microseconds."""
offset_times = st.datetimes(
    min_value=dt.datetime.min.replace(year=1000),  # noqa: DTZ901 - naive bounds, as above
    max_value=dt.datetime.max.replace(year=9998),  # noqa: DTZ901
    timezones=st.builds(
        dt.timezone,
        st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)),
    ),
)
"""Aware instants in arbitrary fixed-offset zones (away from the range ends, so UTC fits)."""
timestamps = st.one_of(utc_times, utc_times.map(lambda t: t.replace(microsecond=0)), offset_times)
optional_bools = st.none() | st.booleans()

owner_references = st.builds(
    OwnerReference,
    api_version=st.sampled_from(["v1", API_VERSION, "apps/v1"]),
    kind=st.sampled_from(["Widget", "ReplicaSet", "Node"]),
    name=names,
    uid=st.builds(Uid, words),
    controller=optional_bools,
    block_owner_deletion=optional_bools,
)
object_metas = st.builds(
    ObjectMeta,
    name=names | st.just(""),
    generate_name=st.just("") | names,
    namespace=st.just("") | names,
    uid=st.builds(Uid, words),
    resource_version=st.builds(ResourceVersion, st.integers(0, 10**6).map(str) | st.just("")),
    generation=st.integers(min_value=0),
    creation_timestamp=st.none() | timestamps,
    deletion_timestamp=st.none() | timestamps,
    deletion_grace_period_seconds=st.none() | st.integers(0, 3600),
    labels=st.dictionaries(names, words, max_size=3),
    annotations=st.dictionaries(words, words, max_size=3),
    owner_references=st.lists(owner_references, max_size=2).map(tuple),
    finalizers=st.lists(words, max_size=3).map(tuple),
)
widgets = st.builds(
    Widget,
    metadata=object_metas,
    spec=st.builds(WidgetSpec, size=st.integers(min_value=0), color=words),
    status=st.builds(WidgetStatus, ready=st.integers(), observed_generation=st.integers()),
)
gadgets = st.builds(Gadget, metadata=object_metas, spec=st.builds(GadgetSpec, part=words))
gizmos = st.builds(Gizmo, metadata=object_metas, spec=st.builds(GizmoSpec, level=st.integers()))
resources: st.SearchStrategy[Resource] = st.one_of(widgets, gadgets, gizmos)


def _keys(
    value: object, *, skip: frozenset[str] = frozenset({"labels", "annotations"})
) -> set[str]:
    """Every object key in a JSON value, not descending into user-keyed maps in ``skip``."""
    if isinstance(value, Mapping):
        found = set(value)
        for key, child in value.items():
            if key not in skip:
                found |= _keys(child)
        return found
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def _invalid(data: Mapping[str, Any], cls: type[Resource] | None = None) -> InvalidError:
    """The InvalidError ``from_json`` raises for ``data``."""
    with pytest.raises(InvalidError) as info:
        from_json(data, cls)
    return info.value


def _widget_json(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Widget", "metadata": {"name": "a"}, **fields}


# -- round trips --------------------------------------------------------------------------


@given(resources)
def test_from_json_of_to_json_is_identity(obj: Resource) -> None:
    """Every object survives ``to_json``, JSON text and ``from_json`` unchanged."""
    text = json.dumps(to_json(obj))
    looked_up: Resource = from_json(json.loads(text))
    assert obj == looked_up
    assert obj == from_json(json.loads(text), type(obj))


@given(resources)
def test_to_json_output_is_plain_json_with_camel_case_keys(obj: Resource) -> None:
    """Output holds only dicts, lists and scalars, and no key outside labels has ``_``."""
    data = to_json(obj)
    assert data == json.loads(json.dumps(data))
    assert set() == {key for key in _keys(data) if "_" in key}


def test_to_json_of_full_object_uses_kubernetes_names() -> None:
    """A fully populated object maps to the exact Kubernetes JSON shape."""
    created = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    deleted = dt.datetime(2025, 1, 2, 3, 4, 5, 123, tzinfo=dt.UTC)
    obj = Widget(
        metadata=ObjectMeta(
            name="a",
            namespace="ns",
            uid=Uid("u-1"),
            resource_version=ResourceVersion("7"),
            generation=3,
            creation_timestamp=created,
            deletion_timestamp=deleted,
            deletion_grace_period_seconds=30,
            labels={"app": "web"},
            annotations={"note": "x"},
            owner_references=(
                OwnerReference(
                    api_version="apps/v1",
                    kind="ReplicaSet",
                    name="rs",
                    uid=Uid("u-0"),
                    controller=True,
                    block_owner_deletion=False,
                ),
            ),
            finalizers=("example.com/cleanup",),
        ),
        spec=WidgetSpec(size=0, color="red"),
        status=WidgetStatus(ready=2, observed_generation=3),
    )
    expected = {
        "apiVersion": API_VERSION,
        "kind": "Widget",
        "metadata": {
            "name": "a",
            "namespace": "ns",
            "uid": "u-1",
            "resourceVersion": "7",
            "generation": 3,
            "creationTimestamp": "2025-01-02T03:04:05Z",
            "deletionTimestamp": "2025-01-02T03:04:05.000123Z",
            "deletionGracePeriodSeconds": 30,
            "labels": {"app": "web"},
            "annotations": {"note": "x"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "rs",
                    "uid": "u-0",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
            "finalizers": ["example.com/cleanup"],
        },
        "spec": {"size": 0, "color": "red"},
        "status": {"ready": 2, "observedGeneration": 3},
    }
    assert expected == to_json(obj)


def test_to_json_omits_fields_equal_to_their_defaults() -> None:
    """Default-valued fields (empty maps, None, default spec values) are left out."""
    assert {"apiVersion": API_VERSION, "kind": "Widget"} == to_json(Widget())
    obj = Widget(metadata=ObjectMeta(name="a"), spec=WidgetSpec(size=1, color="blue"))
    expected = {
        "apiVersion": API_VERSION,
        "kind": "Widget",
        "metadata": {"name": "a"},
        "spec": {"color": "blue"},
    }
    assert expected == to_json(obj)


def test_to_json_writes_other_time_zones_as_utc_z() -> None:
    """A timestamp in another zone is written as the same instant in UTC with ``Z``."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    meta = ObjectMeta(creation_timestamp=dt.datetime(2025, 1, 1, 2, 0, tzinfo=plus_two))
    data = to_json(Gizmo(metadata=meta))
    assert {"creationTimestamp": "2025-01-01T00:00:00Z"} == data["metadata"]


def test_from_json_fills_defaults_for_missing_fields() -> None:
    """Absent fields take their defaults; timestamps come back as aware UTC datetimes."""
    obj: Resource = from_json(
        _widget_json(metadata={"name": "a", "creationTimestamp": "2025-01-01T00:00:00Z"})
    )
    assert isinstance(obj, Widget)
    assert WidgetSpec() == obj.spec
    assert dt.datetime(2025, 1, 1, tzinfo=dt.UTC) == obj.metadata.creation_timestamp
    assert dt.UTC == obj.metadata.creation_timestamp.tzinfo


# -- timestamps ---------------------------------------------------------------------------


@given(timestamps)
def test_parse_time_of_format_time_round_trips(value: dt.datetime) -> None:
    """Formatting then parsing gives the same instant, as a UTC datetime."""
    parsed = parse_time(format_time(value))
    assert value == parsed
    assert dt.UTC == parsed.tzinfo


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "2025-01-01T00:00:00Z"),
        (dt.datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC), "2025-01-01T00:00:00.500000Z"),
        (dt.datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC), "2025-01-01T00:00:00.000001Z"),
        (dt.datetime(999, 1, 1, tzinfo=dt.UTC), "0999-01-01T00:00:00Z"),
    ],
    ids=["seconds", "half-second", "one-microsecond", "four-digit-year"],
)
def test_format_time_is_rfc3339_utc(value: dt.datetime, text: str) -> None:
    """Seconds resolution unless microseconds are present, a four-digit year and a ``Z``."""
    assert text == format_time(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T00:00:00Z", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        ("2025-01-01T00:00:00z", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        ("2025-01-01T02:00:00+02:00", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        ("2025-01-01T00:00:00.25Z", dt.datetime(2025, 1, 1, 0, 0, 0, 250000, tzinfo=dt.UTC)),
    ],
)
def test_parse_time_accepts_rfc3339_forms(text: str, expected: dt.datetime) -> None:
    """``Z``, ``z``, numeric offsets and fractional seconds all parse to UTC."""
    parsed = parse_time(text)
    assert expected == parsed
    assert dt.UTC == parsed.tzinfo


def test_parse_time_rejects_naive_timestamps() -> None:
    """A timestamp without a zone is refused rather than guessed."""
    with pytest.raises(ValueError, match="has no time zone"):
        parse_time("2025-01-01T00:00:00")


def test_format_time_rejects_naive_datetimes() -> None:
    """A naive datetime is refused rather than read in the host's local zone."""
    with pytest.raises(ValueError, match="has no time zone"):
        format_time(dt.datetime(2025, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_parse_time_rejects_non_strings_and_garbage() -> None:
    """Numbers raise TypeError and malformed strings raise ValueError."""
    with pytest.raises(TypeError, match="expected an RFC 3339 string"):
        parse_time(1735689600)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_time("yesterday")


# -- error reports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_widget_json(metadata={"name": "a", "bogus": 1}), "metadata.bogus"),
        (_widget_json(spec={"colour": "red"}), "spec.colour"),
        (_widget_json(bogus=1), "bogus"),
        (_widget_json(status={"readyReplicas": 1}), "status.readyReplicas"),
    ],
)
def test_unknown_field_is_forbidden_at_its_json_path(data: Mapping[str, Any], field: str) -> None:
    """An unknown key is reported as ``Forbidden: unknown field`` at its camelCase path."""
    error = _invalid(data)
    assert (FieldError(field=field, type="Forbidden", detail="unknown field"),) == error.causes
    assert f'Widget "a" is invalid: {field}: Forbidden: unknown field' == str(error)


def test_unknown_field_inside_owner_reference_names_the_index() -> None:
    """Unknown keys inside array items name the item's index."""
    owner = {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u", "extra": 1}
    error = _invalid(_widget_json(metadata={"name": "a", "ownerReferences": [owner]}))
    assert ["metadata.ownerReferences[0].extra"] == [c.field for c in error.causes]


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        (_widget_json(spec={"size": "3"}), "spec.size", "3"),
        (_widget_json(spec={"size": True}), "spec.size", True),
        (_widget_json(spec={"size": 1.5}), "spec.size", 1.5),
        (_widget_json(spec={"color": 7}), "spec.color", 7),
        (_widget_json(status={"observedGeneration": "2"}), "status.observedGeneration", "2"),
        (_widget_json(metadata={"name": "a", "generation": None}), "metadata.generation", None),
        (_widget_json(metadata={"name": "a", "finalizers": "x"}), "metadata.finalizers", "x"),
        (_widget_json(metadata={"name": "a", "finalizers": ["x", 5]}), "metadata.finalizers[1]", 5),
        (
            _widget_json(metadata={"name": "a", "creationTimestamp": "2025-01-01T00:00:00"}),
            "metadata.creationTimestamp",
            "2025-01-01T00:00:00",
        ),
        (_widget_json(metadata={"name": "a", "labels": {"app": 1}}), "metadata.labels", {"app": 1}),
        (_widget_json(spec=[]), "spec", []),
    ],
    ids=[
        "string-for-int",
        "bool-for-int",
        "float-for-int",
        "int-for-string",
        "string-for-int-in-status",
        "null-for-int",
        "string-for-array",
        "int-in-string-array",
        "naive-timestamp",
        "int-label-value",
        "array-for-object",
    ],
)
def test_wrong_type_is_invalid_value_with_path_and_value(
    data: Mapping[str, Any], field: str, value: object
) -> None:
    """A value of the wrong JSON type is ``Invalid value`` naming its path and the value."""
    (cause,) = _invalid(data).causes
    assert (field, "Invalid value", value) == (cause.field, cause.type, cause.value)
    assert str(cause).startswith(f"{field}: Invalid value: {value!r}")


def test_int_is_not_accepted_for_a_bool() -> None:
    """``controller: 1`` is not read as ``true``; the error names the array index."""
    owner = {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u", "controller": 1}
    (cause,) = _invalid(_widget_json(metadata={"name": "a", "ownerReferences": [owner]})).causes
    expected = ("metadata.ownerReferences[0].controller", "Invalid value", 1)
    assert expected == (cause.field, cause.type, cause.value)


def test_missing_required_field_is_required_value() -> None:
    """An owner reference without ``uid`` reports ``Required value`` at its path."""
    owner = {"apiVersion": "v1", "kind": "Node", "name": "n"}
    error = _invalid(_widget_json(metadata={"name": "a", "ownerReferences": [owner]}))
    expected = (FieldError(field="metadata.ownerReferences[0].uid", type="Required value"),)
    assert expected == error.causes


def test_every_problem_is_reported_at_once_in_brackets() -> None:
    """Several problems are listed together, Kubernetes style, inside ``[...]``."""
    error = _invalid(_widget_json(metadata={"name": "a", "bogus": 1}, spec={"colour": "red"}))
    expected = (
        'Widget "a" is invalid: ['
        "metadata.bogus: Forbidden: unknown field, spec.colour: Forbidden: unknown field]"
    )
    assert expected == str(error)
    assert ("Widget", "a") == (error.kind, error.name)


@pytest.mark.parametrize(
    ("data", "field", "kind"),
    [
        ({"kind": "Widget", "metadata": {"name": "a"}}, "apiVersion", "Widget"),
        ({"apiVersion": API_VERSION, "metadata": {"name": "a"}}, "kind", "Object"),
        ({"apiVersion": "", "kind": "Widget"}, "apiVersion", "Widget"),
    ],
)
def test_missing_api_version_or_kind_without_class_is_required(
    data: Mapping[str, Any], field: str, kind: str
) -> None:
    """Without a class, ``apiVersion`` and ``kind`` are required to find one."""
    error = _invalid(data)
    assert (FieldError(field=field, type="Required value"),) == error.causes
    assert kind == error.kind


def test_api_version_and_kind_may_be_omitted_when_class_is_given() -> None:
    """Given the class, a body without ``apiVersion``/``kind`` is accepted."""
    assert Widget(metadata=ObjectMeta(name="a")) == from_json({"metadata": {"name": "a"}}, Widget)


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (
            {"apiVersion": "v9", "kind": "Widget", "metadata": {"name": "a"}},
            FieldError(field="apiVersion", value="v9", detail=f"expected {API_VERSION!r}"),
        ),
        (
            {"apiVersion": API_VERSION, "kind": "Gadget", "metadata": {"name": "a"}},
            FieldError(field="kind", value="Gadget", detail="expected 'Widget'"),
        ),
    ],
)
def test_api_version_or_kind_mismatching_the_class_is_invalid(
    data: Mapping[str, Any], cause: FieldError
) -> None:
    """A body naming another apiVersion or kind than the given class is refused."""
    error = _invalid(data, Widget)
    assert (cause,) == error.causes
    assert str(error).startswith('Widget "a" is invalid: ')


def test_unknown_kind_is_not_found() -> None:
    """A kind missing from the registry is ``Not found`` with the look-up's message."""
    error = _invalid({"apiVersion": API_VERSION, "kind": "Nope", "metadata": {"name": "a"}})
    expected = (
        'Nope "a" is invalid: kind: Not found: '
        f"'Nope': no kind 'Nope' is declared in '{API_VERSION}'"
    )
    assert expected == str(error)


def test_lookup_uses_the_given_registry() -> None:
    """``kinds=`` replaces the default registry for the look-up."""
    with pytest.raises(InvalidError, match="Not found"):
        from_json(to_json(Widget()), kinds=KindRegistry())


@pytest.mark.parametrize("data", [[], "Widget", None])
def test_non_object_body_is_invalid_at_root(data: Any) -> None:
    """A body that is not a JSON object is reported at ``<root>``."""
    error = _invalid(data, Widget)
    assert ["<root>"] == [c.field for c in error.causes]


def test_non_object_metadata_is_invalid_and_name_is_empty() -> None:
    """``metadata: 5`` is an invalid value at ``metadata``; the message has an empty name."""
    error = _invalid(_widget_json(metadata=5))
    assert [("metadata", 5)] == [(c.field, c.value) for c in error.causes]
    assert str(error).startswith('Widget "" is invalid: metadata: Invalid value: 5')
