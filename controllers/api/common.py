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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from reconcile import FrozenDict

__all__ = ["IntOrString", "Quantity", "ResourceList", "always", "renamed"]

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
    metadata: dict[str, Any] = {"omitempty": False}
    if json is not None:
        metadata["json"] = json
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def renamed(json: str, default: Any = None) -> Any:
    """An ``omitempty`` field whose JSON key is not the camelCase of its name (``podIP``)."""
    return attrs.field(default=default, metadata={"json": json})
