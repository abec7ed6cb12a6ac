"""
Lossless conversion between kinds and the Kubernetes JSON shape.

* attribute ``snake_case`` names become ``camelCase`` keys (override one with
  ``attrs.field(metadata={"json": "name"})``);
* a field equal to its default is omitted, as Kubernetes' ``omitempty`` does,
  so ``from_json(to_json(obj)) == obj`` for every object; a field declared with
  ``metadata={"omitempty": False}`` is always written, as Go writes fields
  without ``omitempty`` (``restartCount: 0``, ``lastProbeTime: null``);
* unions of JSON scalars (``int | str`` for ``IntOrString``) accept exactly a
  value of one of their types, with no coercion;
* timestamps are RFC 3339 in UTC (``2025-01-01T00:00:00Z``; fractional
  seconds are kept when present, as ``MicroTime`` needs);
* ``FrozenDict``/``tuple`` become ``dict``/``list``;
* unknown keys are rejected, and every structural problem is reported as an
  :class:`~reconcile.errors.InvalidError` naming each field path.

Built on ``cattrs``: hooks are generated once per class and cached.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from reconcile.errors import FieldError, InvalidError
from reconcile.model.frozen import JSON, FrozenDict, freeze, thaw
from reconcile.model.kinds import KindRegistry, Resource, kind_of, registry

__all__ = ["format_time", "from_json", "parse_time", "to_json"]

R = TypeVar("R", bound=Resource)

_CAMEL = re.compile(r"_([a-z0-9])")


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def json_name(field: attrs.Attribute[Any]) -> str:
    """The JSON key of an attrs field."""
    return str(field.metadata.get("json") or _camel(field.name))


def format_time(value: dt.datetime) -> str:
    """RFC 3339 in UTC, with fractional seconds only when present."""
    # Fixed: a naive datetime was silently read as host local time, and
    # strftime's %Y does not pad years before 1000 (so parse_time rejected the
    # result); isoformat always writes four digits.
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()!r} has no time zone")
    value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime."""
    if not isinstance(text, str):
        raise TypeError(f"expected an RFC 3339 string, got {type(text).__name__}")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return value.astimezone(dt.UTC)


def _strict(tp: type[Any]) -> Any:
    def hook(value: Any, _: Any) -> Any:
        if type(value) is not tp and not (tp is str and isinstance(value, str)):
            raise TypeError(f"expected {_JSON_TYPE_NAMES[tp]}, got {_json_type_name(value)}")
        return value

    return hook


def _strict_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected number, got {_json_type_name(value)}")
    return float(value)


_JSON_TYPE_NAMES: dict[type[Any], str] = {
    int: "integer",
    str: "string",
    bool: "boolean",
    float: "number",
    dict: "object",
    list: "array",
    type(None): "null",
}


def _json_type_name(value: object) -> str:
    for tp, name in _JSON_TYPE_NAMES.items():
        if type(value) is tp:
            return name
    return type(value).__name__


def _is_frozen_dict(tp: Any) -> bool:
    return typing.get_origin(tp) is FrozenDict or tp is FrozenDict


def _is_json_type(tp: Any) -> bool:
    """The recursive :data:`JSON` alias, however ``typing`` resolved it."""
    if tp is JSON or isinstance(tp, str | typing.ForwardRef):
        return True
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return any(_is_frozen_dict(a) or _is_json_type(a) for a in typing.get_args(tp))
    return False


_SCALARS = (bool, int, float, str)


def _is_scalar_union(tp: Any) -> bool:
    """A union of two or more JSON scalar types (``None`` allowed), such as ``int | str``."""
    if not (isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union):
        return False
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return len(args) >= 2 and all(a in _SCALARS for a in args)


def _structure_scalar_union(value: Any, tp: Any) -> Any:
    allowed = typing.get_args(tp)
    if type(value) in allowed:
        return value
    if float in allowed and type(value) is int:
        return float(value)
    names = " or ".join(_JSON_TYPE_NAMES[a] for a in allowed)
    raise TypeError(f"expected {names}, got {_json_type_name(value)}")


def _is_var_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    # JSON has no coercions: "3" is not an int and 1 is not a bool.
    conv.register_structure_hook(int, _strict(int))
    conv.register_structure_hook(str, _strict(str))
    conv.register_structure_hook(bool, _strict(bool))
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(dt.datetime, lambda v, _: parse_time(v))
    conv.register_unstructure_hook(dt.datetime, format_time)
    conv.register_structure_hook_func(_is_json_type, lambda v, _: freeze(v))
    conv.register_unstructure_hook_func(_is_json_type, thaw)
    conv.register_structure_hook_func(_is_scalar_union, _structure_scalar_union)
    conv.register_unstructure_hook_func(_is_scalar_union, lambda v: v)

    def structure_frozen_dict(tp: Any) -> Any:
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        if value_type is Any or _is_json_type(value_type):
            return lambda v, _: freeze(v)
        inner = conv.get_structure_hook(value_type)

        def hook(v: Any, _: Any) -> FrozenDict[str, Any]:
            if not isinstance(v, Mapping):
                raise TypeError(f"expected an object, got {type(v).__name__}")
            return FrozenDict({str(k): inner(x, value_type) for k, x in v.items()})

        return hook

    def unstructure_frozen_dict(tp: Any) -> Any:
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        if value_type in (str, int, float, bool):
            return dict
        if value_type is Any or _is_json_type(value_type):
            return thaw
        inner = conv.get_unstructure_hook(value_type)
        return lambda v: {k: inner(x) for k, x in v.items()}

    def unstructure_tuple(tp: Any) -> Any:
        inner = conv.get_unstructure_hook(typing.get_args(tp)[0])
        return lambda v: [inner(x) for x in v]

    def structure_tuple(tp: Any) -> Any:
        item_type = typing.get_args(tp)[0]
        inner = conv.get_structure_hook(item_type)

        def hook(v: Any, _: Any) -> tuple[Any, ...]:
            if isinstance(v, str | bytes | Mapping) or not hasattr(v, "__iter__"):
                raise TypeError(f"expected an array, got {type(v).__name__}")
            # Fixed: note each failing index, as cattrs' own list hook does, so
            # errors name ``metadata.ownerReferences[0].uid`` rather than dropping ``[0]``.
            items, errors = [], []
            for index, x in enumerate(v):
                try:
                    items.append(inner(x, item_type))
                except Exception as exc:
                    note = IterableValidationNote(f"Structuring @ index {index}", index, item_type)
                    exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
            return tuple(items)

        return hook

    conv.register_structure_hook_factory(_is_frozen_dict, structure_frozen_dict)
    conv.register_unstructure_hook_factory(_is_frozen_dict, unstructure_frozen_dict)
    conv.register_unstructure_hook_factory(_is_var_tuple, unstructure_tuple)
    conv.register_structure_hook_factory(_is_var_tuple, structure_tuple)

    def renames(cls: type[Any]) -> dict[str, Any]:
        return {
            f.name: override(
                rename=json_name(f), omit_if_default=f.metadata.get("omitempty", True) is not False
            )
            for f in attrs.fields(cls)
        }

    conv.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, conv, **renames(cls))
    )
    conv.register_structure_hook_factory(
        attrs.has,
        lambda cls: make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=True, **renames(cls)
        ),
    )
    return conv


converter = _make_converter()
"""The ``cattrs`` converter behind :func:`to_json` and :func:`from_json`; use it for
nested values (``converter.unstructure(spec)``)."""


def to_json(obj: Resource) -> dict[str, Any]:
    """The Kubernetes JSON shape of ``obj``: ``apiVersion``, ``kind``, then its fields."""
    k = kind_of(obj)
    body: dict[str, Any] = converter.unstructure(obj)
    return {"apiVersion": k.api_version, "kind": k.kind, **body}


def from_json(
    data: Mapping[str, Any],
    cls: type[R] | None = None,
    *,
    kinds: KindRegistry | None = None,
) -> R:
    """
    Build a typed object from its Kubernetes JSON shape.

    Args:
        data: A mapping with ``apiVersion`` and ``kind`` (optional when ``cls``
            is given, but checked when present).
        cls: The expected kind; looked up from ``apiVersion``/``kind`` if omitted.
        kinds: Registry for the look-up (the default registry).

    Raises:
        InvalidError: naming every field that is missing, unknown or ill-typed.
    """
    if not isinstance(data, Mapping):
        raise InvalidError("Object", "", [FieldError(field="<root>", detail="expected an object")])
    body = dict(data)
    api_version = body.pop("apiVersion", None)
    kind_name = body.pop("kind", None)
    name = (
        str((body.get("metadata") or {}).get("name", ""))
        if isinstance(body.get("metadata"), Mapping)
        else ""
    )
    if cls is None:
        if not api_version or not kind_name:
            missing = "apiVersion" if not api_version else "kind"
            raise InvalidError(
                str(kind_name or "Object"), name, [FieldError(field=missing, type="Required value")]
            )
        try:
            found = (kinds or registry).lookup(str(api_version), str(kind_name))
        except LookupError as exc:
            raise InvalidError(
                str(kind_name),
                name,
                [FieldError(field="kind", type="Not found", value=kind_name, detail=str(exc))],
            ) from None
        cls = typing.cast("type[R]", found)
    k = kind_of(cls)
    causes = []
    if api_version is not None and api_version != k.api_version:
        causes.append(
            FieldError(field="apiVersion", value=api_version, detail=f"expected {k.api_version!r}")
        )
    if kind_name is not None and kind_name != k.kind:
        causes.append(FieldError(field="kind", value=kind_name, detail=f"expected {k.kind!r}"))
    if causes:
        raise InvalidError(k.kind, name, causes)
    try:
        return converter.structure(body, cls)
    except Exception as exc:  # cattrs raises exception groups of field failures
        raise InvalidError(k.kind, name, _field_errors(exc, body, cls)) from exc


def _field_errors(exc: BaseException, body: Mapping[str, Any], cls: type[Any]) -> list[FieldError]:
    causes: list[FieldError] = []
    for message in cattrs.transform_error(exc, path="$"):
        text, _, where = message.rpartition(" @ ")
        path = _json_path(where, cls)
        if text.startswith("extra fields found"):
            extras = text[text.find("(") + 1 : text.rfind(")")].split(", ")
            extras.sort()  # cattrs collects them in a set: report them in a stable order
            for extra in extras:
                field = f"{path}.{extra}" if path else extra
                causes.append(FieldError(field=field, type="Forbidden", detail="unknown field"))
        elif text.startswith("required field missing"):
            causes.append(FieldError(field=path, type="Required value"))
        else:
            detail = text.removeprefix("invalid value for type, ")
            causes.append(
                FieldError(field=path or "<root>", value=_value_at(body, path), detail=detail)
            )
    return causes or [FieldError(field="<root>", detail=str(exc))]


_PATH_PART = re.compile(r"\.?([^.\[]+)|\[(\d+)\]|\['([^']*)'\]")


def _json_path(where: str, cls: Any = None) -> str:
    """
    Turn cattrs' ``$.spec.min_ready[0]`` (attribute names) into ``spec.minReady[0]``.

    Walking ``cls`` alongside the path finds each field's real JSON key, so
    renamed fields are reported as written (``spec.podCIDR``, not ``spec.podCidr``).
    """
    out = ""
    for attr, index, key in _PATH_PART.findall(where.removeprefix("$")):
        if attr:
            field = _attrs_field(cls, attr)
            out += ("." if out else "") + (json_name(field) if field else _camel(attr))
            cls = _item_type(field.type) if field else None
        elif index:
            out += f"[{index}]"
        else:
            out += f"[{key}]"
    return out


def _attrs_field(cls: Any, name: str) -> attrs.Attribute[Any] | None:
    if not (isinstance(cls, type) and attrs.has(cls)):
        return None
    try:
        attrs.resolve_types(cls)
    except Exception:  # an unresolvable annotation: fall back to camelCase
        return None
    return next((f for f in attrs.fields(cls) if f.name == name), None)


def _item_type(tp: Any) -> Any:
    """The attrs class a path continues into: unwraps ``X | None``, tuples and maps."""
    while True:
        if isinstance(tp, type) and attrs.has(tp):
            return tp
        args = [a for a in typing.get_args(tp) if a is not type(None) and a is not Ellipsis]
        if not args:
            return None
        tp = args[-1]


def _value_at(body: Mapping[str, Any], path: str) -> object:
    value: object = body
    for attr, index, key in _PATH_PART.findall(path):
        if attr or key:
            value = value.get(attr or key) if isinstance(value, Mapping) else None
        elif isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value
