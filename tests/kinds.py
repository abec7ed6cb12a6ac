"""
Small resource kinds for tests, declared the way users declare theirs.

* ``Widget``: namespaced, with a spec and a status subresource.
* ``Gadget``: namespaced, owned by widgets (see :func:`gadget_for`).
* ``Gizmo``: cluster-scoped, spec only.

All live in the group ``test.reconcile.dev``, version ``v1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from reconcile.model.kinds import Resource, kind
from reconcile.model.meta import ObjectMeta, OwnerReference, ResourceVersion, Uid

__all__ = [
    "GROUP",
    "Gadget",
    "GadgetSpec",
    "Gizmo",
    "GizmoSpec",
    "Widget",
    "WidgetSpec",
    "WidgetStatus",
    "gadget_for",
    "owner_reference",
    "widget",
]

GROUP = "test.reconcile.dev"


@attrs.frozen(kw_only=True)
class WidgetSpec:
    """Desired state of a widget."""

    size: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    color: str = ""


@attrs.frozen(kw_only=True)
class WidgetStatus:
    """Observed state of a widget."""

    ready: int = 0
    observed_generation: int = 0


@kind(group=GROUP, version="v1")
@attrs.frozen(kw_only=True)
class Widget(Resource):
    """A namespaced kind with a spec and a status subresource."""

    spec: WidgetSpec = attrs.field(factory=WidgetSpec)
    status: WidgetStatus = attrs.field(factory=WidgetStatus)


@attrs.frozen(kw_only=True)
class GadgetSpec:
    """Desired state of a gadget."""

    part: str = ""


@kind(group=GROUP, version="v1")
@attrs.frozen(kw_only=True)
class Gadget(Resource):
    """A namespaced kind whose objects are usually owned by a :class:`Widget`."""

    spec: GadgetSpec = attrs.field(factory=GadgetSpec)


@attrs.frozen(kw_only=True)
class GizmoSpec:
    """Desired state of a gizmo."""

    level: int = 0


@kind(group=GROUP, version="v1", namespaced=False)
@attrs.frozen(kw_only=True)
class Gizmo(Resource):
    """A cluster-scoped kind without status."""

    spec: GizmoSpec = attrs.field(factory=GizmoSpec)


def owner_reference(owner: Resource, *, controller: bool = True) -> OwnerReference:
    """An owner reference pointing at ``owner`` (a controller reference by default)."""
    k = type(owner).__kind__
    return OwnerReference(
        api_version=k.api_version,
        kind=k.kind,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=controller or None,
        block_owner_deletion=controller or None,
    )


def gadget_for(owner: Widget, name: str, *, part: str = "") -> Gadget:
    """A new gadget in ``owner``'s namespace, controlled by ``owner``."""
    return Gadget(
        metadata=ObjectMeta(
            name=name,
            namespace=owner.metadata.namespace,
            owner_references=(owner_reference(owner),),
        ),
        spec=GadgetSpec(part=part),
    )


def widget(
    name: str,
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    owners: Sequence[OwnerReference] = (),
    uid: str = "",
    resource_version: str = "",
    size: int = 1,
    color: str = "",
) -> Widget:
    """A widget built directly (not through a cluster), for store-level tests."""
    return Widget(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            uid=Uid(uid or f"uid-{namespace}-{name}"),
            resource_version=ResourceVersion(resource_version),
            labels=labels or {},
            owner_references=tuple(owners),
        ),
        spec=WidgetSpec(size=size, color=color),
    )
