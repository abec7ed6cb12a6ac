"""
Field declarations shared by the workload kinds (``apps``, ``batch``).

Each helper returns an ``attrs.field`` typed as the value it holds, so a class
body reads like the Go struct it mirrors::

    replicas: int | None = optional_count()      # *int32 `json:",omitempty"`
    min_ready_seconds: int = count()             # int32 `json:",omitempty"`
    strategy: DeploymentStrategy = nested(DeploymentStrategy)

The mapping from Go to Python is mechanical, and it is what makes round trips
lossless: a Go *pointer* (absent is not zero) becomes ``X | None = None``; a Go
*value* (absent means zero) becomes a field defaulting to its zero value, which
:func:`reconcile.to_json` omits again, unless Go always writes it (a scalar
without ``omitempty``, a ``metav1.Time`` value): those are declared
``always=True`` and written even when zero or ``null``, as the Kubernetes
controllers write them. Nested value structs (``spec.template``,
``spec.strategy``) are omitted while empty, so hand-written manifests keep
their shape. Validators only check types and
non-negative counts (so ``hypothesis.strategies.builds`` can infer values);
Kubernetes' cross-field validation comes later, with defaulting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import attrs
from attrs import validators as v

__all__ = [
    "count",
    "items",
    "nested",
    "optional",
    "optional_count",
    "optional_int_or_string",
    "optional_time",
    "required",
]

T = TypeVar("T")

_non_negative = [v.instance_of(int), v.ge(0)]


def _presence(always: bool) -> dict[str, Any]:
    return {"omitempty": False} if always else {}


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
