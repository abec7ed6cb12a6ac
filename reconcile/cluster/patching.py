"""
Patch documents applied to the JSON shape of an object.

RFC 7386 merge patches are applied here (the algorithm is a few lines);
RFC 6902 JSON patches are applied with the ``jsonpatch`` library. Neither
mutates its input. A JSON patch that cannot be applied (a failed ``test``,
a missing path, a malformed operation) becomes an
:class:`~reconcile.errors.InvalidError` whose cause names the field the
failing operation points at (``spec.replicas``) and the operation's index.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import attrs
import jsonpatch
import jsonpointer

from reconcile.cluster.client import JsonPatch, MergePatch, Patch
from reconcile.errors import FieldError, InvalidError
from reconcile.model.convert import converter, from_json, json_name
from reconcile.model.frozen import thaw
from reconcile.model.kinds import Resource, kind_of

__all__ = ["apply_json_patch", "apply_merge_patch", "patch_object", "pointer_to_field"]

R = TypeVar("R", bound=Resource)


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch (``null`` deletes a key; non-objects replace)."""
    if not isinstance(patch, Mapping):
        return thaw(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def pointer_to_field(pointer: str) -> str:
    """``/spec/items/0/name`` as a field path: ``spec.items[0].name`` (``<root>`` for ``""``)."""
    out = ""
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if part.isdigit() or part == "-":
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "<root>"


def apply_json_patch(
    document: Mapping[str, Any], operations: Sequence[Any], *, kind: str, name: str
) -> Any:
    """
    Apply RFC 6902 ``operations`` to a copy of ``document``.

    Raises:
        InvalidError: if any operation fails; nothing is applied then.
    """
    ops = thaw(operations)
    if not isinstance(ops, list):
        raise InvalidError(
            kind,
            name,
            [FieldError(field="<patch>", value=ops, detail="a JSON patch must be an array")],
        )
    result: Any = copy.deepcopy(dict(document))
    for index, op in enumerate(ops):
        path = op.get("path") if isinstance(op, dict) else None
        field = pointer_to_field(path) if isinstance(path, str) else "<patch>"
        try:
            result = jsonpatch.apply_patch(result, [op], in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise InvalidError(
                kind,
                name,
                [
                    FieldError(
                        field=field,
                        value=op.get("value"),
                        detail=f"test operation {index} failed: {exc}",
                    )
                ],
            ) from exc
        except (
            jsonpatch.JsonPatchException,
            jsonpointer.JsonPointerException,
            TypeError,
            KeyError,
            IndexError,
            ValueError,
            AttributeError,
        ) as exc:
            raise InvalidError(
                kind,
                name,
                [
                    FieldError(
                        field=field,
                        value=op,
                        detail=f"operation {index} cannot be applied: {exc}",
                    )
                ],
            ) from exc
    return result


def _document(value: Any) -> Any:
    """
    The JSON shape of ``value`` with every field present, defaults included.

    :func:`~reconcile.model.convert.to_json` omits fields equal to their
    defaults; a JSON patch must see them (``test /spec/size 1`` has to pass
    when ``size`` is at its default), as it would on a Kubernetes object.
    """
    if attrs.has(type(value)):
        return {
            json_name(field): _document(getattr(value, field.name))
            for field in attrs.fields(type(value))
        }
    if isinstance(value, Mapping):
        return {key: _document(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_document(item) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return converter.unstructure(value)  # timestamps, enums


def patch_object(current: Resource, patch: Patch, cls: type[R]) -> R:
    """
    ``current`` with ``patch`` applied to its JSON shape, as a new object of ``cls``.

    The result keeps whatever ``metadata.resourceVersion`` and ``uid`` the
    patched document holds (the current ones unless the patch sets them), so
    the caller can treat them as preconditions.

    Raises:
        InvalidError: if the patch cannot be applied, does not produce a valid
            object of ``cls``, or changes ``metadata.name`` or ``namespace``.
    """
    k = kind_of(cls)
    kind = k.kind
    meta = current.metadata
    document = {"apiVersion": k.api_version, "kind": kind, **_document(current)}
    match patch:
        case MergePatch():
            patched = apply_merge_patch(document, patch.patch)
        case JsonPatch():
            patched = apply_json_patch(document, patch.operations, kind=kind, name=meta.name)
        case _:
            raise TypeError(f"not a patch: {patch!r}")
    if not isinstance(patched, dict):
        raise InvalidError(
            kind, meta.name, [FieldError(field="<root>", detail="the patch must produce an object")]
        )
    new = from_json(patched, cls)
    causes = [
        FieldError(field=f"metadata.{field}", value=value, detail="field is immutable")
        for field, value, was in (
            ("namespace", new.metadata.namespace, meta.namespace),
            ("name", new.metadata.name, meta.name),
        )
        if value != was
    ]
    if causes:
        raise InvalidError(kind, meta.name, causes)
    return new
