"""
Shared value types and field helpers for the Kubernetes kinds.

Field names follow Kubernetes' JSON exactly; the framework's converter turns
``snake_case`` attributes into ``camelCase`` keys and :func:`renamed` covers
the keys it cannot derive (``podIP``, ``imageID``, ``Port``).

Presence is kept the way Go keeps it, so real objects round-trip losslessly:

* ``omitempty`` scalars, maps and lists default to their empty value and are
  left out when empty;
* pointer fields (``*int32``, ``*bool``, ``*Struct``) are ``X | None`` and
  default to ``None``, so an explicit ``priority: 0`` or ``securityContext: {}``
  survives;
* fields Go always writes (no ``omitempty``, or a non-pointer struct such as
  ``lastState``) are declared with :func:`always` and are written even when
  empty (``restartCount: 0``, ``lastProbeTime: null``, ``lastState: {}``).

The typed helpers (:func:`count`, :func:`optional_count`, :func:`nested`,
:func:`items`, ...) make a class body read like the Go struct it mirrors and
add type validators, so ``hypothesis.strategies.builds`` can infer values::

    replicas: int | None = optional_count()      # *int32 `json:",omitempty"`
    min_ready_seconds: int = count()             # int32 `json:",omitempty"`
    strategy: DeploymentStrategy = nested(DeploymentStrategy)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import attrs
from attrs import validators as v

from reconcile import FrozenDict

__all__ = [
    "IntOrString",
    "Quantity",
    "ResourceList",
    "always",
    "count",
    "items",
    "nested",
    "optional",
    "optional_count",
    "optional_int_or_string",
    "optional_time",
    "renamed",
    "required",
]

_ALWAYS = {"omitempty": False}
"""Field metadata telling the converter to write a field even at its default."""

IntOrString: TypeAlias = int | str
"""Kubernetes' ``intstr.IntOrString``: a port number or a port name, a count or a percentage."""

Quantity: TypeAlias = str | int | float
"""
A resource quantity (``"100m"``, ``"64Mi"``), kept exactly as written.

Kubernetes accepts a bare YAML number (``nvidia.com/gpu: 1``) and writes every
quantity back as a string; keeping the number lets manifests round-trip as written.
"""

ResourceList: TypeAlias = FrozenDict[str, Quantity]
"""Resource name (``cpu``, ``memory``, ``nvidia.com/gpu``) to quantity."""


def always(
    default: Any = None, *, factory: Callable[[], Any] | None = None, json: str | None = None
) -> Any:
    """A field Go always writes, even when empty (no ``omitempty``, or a non-pointer struct)."""
    metadata: dict[str, Any] = dict(_ALWAYS)
    if json is not None:
        metadata["json"] = json
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def renamed(json: str, default: Any = None) -> Any:
    """An ``omitempty`` field whose JSON key is not the camelCase of its name (``podIP``)."""
    return attrs.field(default=default, metadata={"json": json})


T = TypeVar("T")

_non_negative = [v.instance_of(int), v.ge(0)]


def _presence(always: bool) -> dict[str, Any]:
    return dict(_ALWAYS) if always else {}


def count(*, always: bool = False) -> int:
    """
    A non-negative ``int32``/``int64`` that is ``0`` when absent.

    ``always=True`` declares a Go field without ``omitempty``: it is written
    even when ``0`` (``ReplicaSetStatus.replicas``).
    """
    return attrs.field(default=0, validator=_non_negative, metadata=_presence(always))


def optional_count() -> int | None:
    """A non-negative integer pointer: ``None`` when absent."""
    return attrs.field(default=None, validator=v.optional(_non_negative))


def optional(cls: type[T]) -> T | None:
    """A pointer to ``cls`` (a scalar, an enum or a struct): ``None`` when absent."""
    return attrs.field(default=None, validator=v.optional(v.instance_of(cls)))


def optional_time(*, always: bool = False) -> dt.datetime | None:
    """
    A ``*metav1.Time``: an aware UTC datetime, ``None`` when absent.

    ``always=True`` declares a Go ``metav1.Time`` *value*, which Go writes as
    ``null`` when unset (a condition's ``lastTransitionTime``, say).
    """
    return attrs.field(
        default=None,
        validator=v.optional(v.instance_of(dt.datetime)),
        metadata=_presence(always),
    )


def required(cls: type[T]) -> T:
    """A field without a default (``type`` and ``status`` of a condition, say)."""
    return attrs.field(validator=v.instance_of(cls))


def nested(cls: type[T]) -> T:
    """A Go value struct: defaults to ``cls()`` and is omitted from JSON while equal to it."""
    return attrs.field(factory=cls, validator=v.instance_of(cls))


def items(cls: type[T]) -> tuple[T, ...]:
    """A list of ``cls``, held as a tuple; empty when absent."""
    return attrs.field(
        default=(),
        validator=v.deep_iterable(v.instance_of(cls), v.instance_of(tuple)),
    )


def _check_int_or_string(_self: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{attribute.name}: expected an integer or a string, got {value!r}")


def optional_int_or_string() -> int | str | None:
    """A ``*intstr.IntOrString``: ``None`` when absent."""
    return attrs.field(default=None, validator=v.optional(_check_int_or_string))
