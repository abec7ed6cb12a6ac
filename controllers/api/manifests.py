"""
Typed objects from Kubernetes-shaped dicts and YAML manifests, and back.

* :func:`load` looks ``apiVersion``/``kind`` up among the declared kinds and
  builds the typed object; every structural problem is one
  :class:`reconcile.InvalidError` naming each field path
  (``spec.containers[0].imagee: Forbidden: unknown field``).
* :func:`dump` is its inverse: ``load(dump(obj)) == obj``, and
  ``dump(load(d)) == d`` for objects written the way Kubernetes writes them.
* :func:`load_all` reads YAML text: several ``---`` documents, empty
  documents (skipped), and ``kind: List`` or typed lists (``PodList``), whose
  items may leave out ``apiVersion``/``kind`` as the API server does.

YAML is read with PyYAML's safe loader, minus its implicit timestamps:
Kubernetes reads an unquoted ``2024-01-01T00:00:00Z`` as a string and so do
we (the kind's converter then parses it). Syntax errors become a
:class:`ValueError` naming the line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from reconcile import FieldError, InvalidError, Resource, from_json, to_json

__all__ = ["dump", "load", "load_all"]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without implicit timestamps (strings stay strings)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(data: Mapping[str, Any]) -> Resource:
    """
    The typed object for a Kubernetes-shaped dict.

    Raises:
        InvalidError: if ``apiVersion``/``kind`` name no declared kind, or any
            field is unknown, missing or of the wrong type (each one named).
    """
    return from_json(data)


def dump(obj: Resource) -> dict[str, Any]:
    """The Kubernetes-shaped dict of ``obj``: ``apiVersion``, ``kind``, then its fields."""
    return to_json(obj)


def load_all(text: str) -> list[Resource]:
    """
    Every object in a YAML manifest, in order.

    Lists (``kind: List``, ``PodList``...) are flattened into their items;
    empty documents are skipped.

    Raises:
        ValueError: if the text is not valid YAML (naming line and column).
        InvalidError: for the first invalid object, with its document number in a note.
    """
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        raise ValueError(_describe(exc)) from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {exc}") from exc
    objects: list[Resource] = []
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        try:
            objects.extend(_objects(document))
        except InvalidError as exc:
            exc.add_note(f"in YAML document {number}")
            raise
    return objects


def _describe(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = exc.problem or exc.context or "syntax error"
    return f"invalid YAML{where}: {problem}"


def _is_list(document: Mapping[str, Any]) -> bool:
    kind = document.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in document


def _objects(document: object) -> Iterable[Resource]:
    if not isinstance(document, Mapping) or not _is_list(document):
        return [load(document)]  # type: ignore[arg-type]  # load reports a non-object
    items = document["items"]
    list_kind = str(document["kind"])
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidError(
            list_kind, "", [FieldError(field="items", value=items, detail="expected an array")]
        )
    # A typed list (``PodList``) may leave ``apiVersion``/``kind`` out of its items.
    implied = (
        {"apiVersion": document.get("apiVersion"), "kind": list_kind.removesuffix("List")}
        if list_kind != "List"
        else {}
    )
    objects: list[Resource] = []
    for index, item in enumerate(items):
        try:
            objects.extend(_objects({**implied, **item} if isinstance(item, Mapping) else item))
        except InvalidError as exc:
            causes = [
                FieldError(
                    field=f"items[{index}].{c.field}".removesuffix(".<root>"),
                    type=c.type,
                    detail=c.detail,
                    value=c.value,
                )
                for c in exc.causes
            ]
            raise InvalidError(exc.kind, exc.name, causes) from exc
    return objects
