"""Loading and dumping manifests: lossless round trips, lists, documents and errors."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from controllers.api import ConfigMap, Namespace, Pod, Service, dump, load, load_all
from reconcile import FieldError, InvalidError
from tests.controllers.api import manifests


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


@pytest.mark.parametrize(
    "text",
    manifests.ALL,
    ids=[
        "nginx-pod",
        "running-pod",
        "kubelet-node",
        "service",
        "endpoints",
        "endpointslice",
        "empty-endpointslice",
        "configmap",
        "namespace",
    ],
)
def test_manifest_round_trips_losslessly(text: str) -> None:
    """load_all then dump gives back exactly the dict the YAML holds."""
    expected = _documents(text)
    actual = [dump(obj) for obj in load_all(text)]
    assert expected == actual


def test_load_and_dump_are_inverse_on_a_dict() -> None:
    """load(d) builds the typed object and dump gives d back."""
    data = _documents(manifests.SERVICE)[0]
    service = load(data)
    assert isinstance(service, Service)
    assert data == dump(service)


def test_named_target_port_stays_a_string() -> None:
    """A Service's targetPort keeps a port name as a string and a number as an int."""
    (service,) = load_all(manifests.SERVICE)
    assert isinstance(service, Service)
    assert ["http", 9090] == [p.target_port for p in service.spec.ports]


def test_several_documents_and_empty_ones() -> None:
    """Documents separated by --- load in order; empty documents are skipped."""
    text = "---\n" + manifests.CONFIG_MAP + "---\n---\n# only a comment\n---" + manifests.NAMESPACE
    objects = load_all(text)
    assert [ConfigMap, Namespace] == [type(o) for o in objects]
    assert _documents(text) == [dump(o) for o in objects]


def test_empty_text_has_no_objects() -> None:
    """An empty manifest holds no objects."""
    assert [] == load_all("")


def test_v1_list_is_flattened() -> None:
    """kind: List yields its items, each with its own apiVersion and kind."""
    items = _documents(manifests.CONFIG_MAP + "---" + manifests.NAMESPACE)
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    assert items == [dump(o) for o in load_all(text)]


def test_typed_list_items_inherit_api_version_and_kind() -> None:
    """A PodList's items may leave apiVersion and kind out, as the API server does."""
    text = """
apiVersion: v1
kind: PodList
metadata:
  resourceVersion: "10"
items:
- metadata: {name: a}
- metadata: {name: b}
"""
    pods = load_all(text)
    assert [Pod, Pod] == [type(p) for p in pods]
    assert ["a", "b"] == [p.metadata.name for p in pods]


def test_empty_list_has_no_objects() -> None:
    """A List whose items are empty or null yields nothing."""
    assert [] == load_all("apiVersion: v1\nkind: List\nitems: []\n---\nkind: List\nitems:\n")


def test_unknown_field_is_reported_with_its_path() -> None:
    """A misspelt container field is named by its full JSON path."""
    data = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "typo"},
        "spec": {"containers": [{"name": "web", "imagee": "nginx"}]},
    }
    with pytest.raises(InvalidError) as info:
        load(data)
    expected = (
        FieldError(field="spec.containers[0].imagee", type="Forbidden", detail="unknown field"),
    )
    assert expected == info.value.causes
    assert 'Pod "typo" is invalid' in str(info.value)


def test_renamed_field_errors_use_the_json_name() -> None:
    """An ill-typed podIP is reported as status.podIP, not status.podIp."""
    with pytest.raises(InvalidError) as info:
        load({"apiVersion": "v1", "kind": "Pod", "status": {"podIP": 7}})
    assert ["status.podIP"] == [c.field for c in info.value.causes]


def test_wrong_types_are_not_coerced() -> None:
    """JSON types are strict: a string containerPort and a boolean targetPort are refused."""
    text = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports:
  - port: "80"
    targetPort: true
"""
    with pytest.raises(InvalidError) as info:
        load_all(text)
    expected = ["spec.ports[0].port", "spec.ports[0].targetPort"]
    assert expected == sorted(c.field for c in info.value.causes)


def test_unknown_kind_is_invalid() -> None:
    """An apiVersion/kind no kind is declared for is reported on the kind field."""
    with pytest.raises(InvalidError) as info:
        load_all("apiVersion: v9\nkind: Gadget\nmetadata: {name: g}\n")
    assert ["kind"] == [c.field for c in info.value.causes]
    assert ["in YAML document 1"] == info.value.__notes__


def test_error_in_list_item_names_the_item() -> None:
    """A bad field inside a List item is reported under items[i]."""
    text = """
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: ok}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: bad}, data: {a: 1}}
"""
    with pytest.raises(InvalidError) as info:
        load_all(text)
    assert ["items[1].data"] == [c.field for c in info.value.causes]


def test_document_that_is_not_an_object_is_invalid() -> None:
    """A scalar document is reported as not an object."""
    with pytest.raises(InvalidError):
        load_all("just a string\n")


def test_yaml_syntax_error_names_line_and_column() -> None:
    """Broken YAML raises ValueError naming where the problem is."""
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [1, 2\n  b: c\n"
    with pytest.raises(ValueError, match=r"invalid YAML at line \d+, column \d+") as info:
        load_all(text)
    assert not isinstance(info.value, InvalidError)


def test_unquoted_timestamps_are_read_as_strings() -> None:
    """An unquoted RFC 3339 time in YAML is parsed by the kind, not by PyYAML."""
    text = "kind: Namespace\napiVersion: v1\nmetadata: {creationTimestamp: 2025-01-02T03:04:05Z}"
    (namespace,) = load_all(text)
    assert "2025-01-02T03:04:05Z" == dump(namespace)["metadata"]["creationTimestamp"]
