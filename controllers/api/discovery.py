"""
The ``discovery.k8s.io/v1`` ``EndpointSlice`` kind.

An EndpointSlice has top-level fields and no spec/status. Go writes
``endpoints`` and ``ports`` even when they are nil (``ports: null``), so both
are ``tuple | None`` and always written; nearly every other field is a pointer
and is written only when set.
"""

from __future__ import annotations

# ``always`` returns an ``attrs.field`` declaration, not a shared mutable default,
# which RUF009 cannot tell apart.
# ruff: noqa: RUF009
import attrs

from controllers.api.common import always
from reconcile import JSON, FrozenDict, ObjectReference, Resource, kind

__all__ = ["Endpoint", "EndpointConditions", "EndpointSlice", "EndpointSlicePort"]


@attrs.frozen(kw_only=True)
class EndpointConditions:
    """``ready``, ``serving`` and ``terminating``; unset means unknown."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@attrs.frozen(kw_only=True)
class Endpoint:
    """One backend: its addresses (all of one ``addressType``) and its state."""

    addresses: tuple[str, ...] = always(())
    conditions: EndpointConditions = always(factory=EndpointConditions)
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    deprecated_topology: FrozenDict[str, str] = attrs.field(factory=FrozenDict)
    node_name: str | None = None
    zone: str | None = None
    hints: JSON = None


@attrs.frozen(kw_only=True)
class EndpointSlicePort:
    """A port of every endpoint in the slice."""

    name: str | None = None
    protocol: str | None = None
    port: int | None = None
    app_protocol: str | None = None


@kind(group="discovery.k8s.io", version="v1", kind="EndpointSlice", status_subresource=False)
@attrs.frozen(kw_only=True)
class EndpointSlice(Resource):
    """A ``discovery.k8s.io/v1`` EndpointSlice: a slice of one Service's backends."""

    address_type: str = always("")
    endpoints: tuple[Endpoint, ...] | None = always()
    ports: tuple[EndpointSlicePort, ...] | None = always()
