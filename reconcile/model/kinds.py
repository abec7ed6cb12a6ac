"""
Declaring resource kinds.

A kind is a frozen ``attrs`` class that derives from :class:`Resource` (so it
has ``metadata``) and is registered with the :func:`kind` decorator, which
records its API coordinates as a :class:`Kind`. Built-in Kubernetes kinds and
users' own kinds are declared the same way::

    @reconcile.kind(group="example.com", version="v1", kind="Widget")
    @attrs.frozen(kw_only=True)
    class Widget(reconcile.Resource):
        spec: WidgetSpec = WidgetSpec()
        status: WidgetStatus = WidgetStatus()

Contract for cluster backends: the field named ``status`` (if any) is the
status; every other field except ``metadata`` is the spec. A kind with a
status subresource only changes status through ``update_status`` and never
through ``update``; ``metadata.generation`` counts spec changes.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from reconcile.model.frozen import FrozenDict
from reconcile.model.meta import ObjectKey, ObjectMeta

__all__ = ["Kind", "KindRegistry", "Resource", "kind", "kind_of", "registry"]

R = TypeVar("R", bound="Resource")

FieldGetter = Callable[[Any], str]


def _default_plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


@attrs.frozen(kw_only=True)
class Kind:
    """API coordinates and capabilities of one resource kind."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    status_subresource: bool = False
    field_selectors: FrozenDict[str, FieldGetter] = attrs.field(
        factory=FrozenDict, converter=FrozenDict, eq=False, repr=False
    )
    """Extra fields usable in field selectors (``metadata.name``/``namespace`` always are)."""
    grace_period: Callable[[Any], int] | None = attrs.field(default=None, eq=False, repr=False)
    """
    For kinds deleted gracefully (Kubernetes: Pods), the default grace period in
    seconds of an object; ``None`` for kinds whose deletion is immediate.
    """
    initial_status: Callable[[Any], Any] | None = attrs.field(default=None, eq=False, repr=False)
    """
    For kinds with a status subresource, the status ``create`` stores for an
    object (Kubernetes: a new Pod is ``Pending``); ``None``: the field's default.
    """
    status_on_update: Callable[[Any, Any, dt.datetime], Any] | None = attrs.field(
        default=None, eq=False, repr=False
    )
    """
    For kinds with a status subresource, the status an update of the main
    resource stores, given the new object, the stored one and the time
    (Kubernetes: binding a Pod to a node also marks it ``PodScheduled``);
    ``None``: the stored status, unchanged.
    """

    @property
    def api_version(self) -> str:
        """``group/version``, or ``version`` alone for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """``plural.group`` (``plural`` for the core group), as RBAC and kubectl name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def selectable_fields(self) -> frozenset[str]:
        """Every field name usable in a field selector for this kind."""
        base = {"metadata.name", "metadata.namespace"} if self.namespaced else {"metadata.name"}
        return frozenset(base | set(self.field_selectors))

    def fields_of(self, obj: Resource) -> dict[str, str]:
        """The selectable field values of ``obj`` (for field selectors)."""
        meta = obj.metadata
        fields = {"metadata.name": meta.name}
        if self.namespaced:
            fields["metadata.namespace"] = meta.namespace
        for name, getter in self.field_selectors.items():
            fields[name] = getter(obj)
        return fields

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


@attrs.frozen(kw_only=True)
class Resource:
    """
    Base class of every kind: an immutable object with :class:`ObjectMeta`.

    Change an object with ``attrs.evolve``; never mutate one read from a store.
    """

    __kind__: ClassVar[Kind]

    metadata: ObjectMeta = attrs.field(factory=ObjectMeta)

    @property
    def key(self) -> ObjectKey:
        """``namespace/name`` of this object."""
        return self.metadata.key

    def with_meta(self: R, **changes: Any) -> R:
        """A copy with ``metadata`` fields replaced (``obj.with_meta(labels=...)``)."""
        return attrs.evolve(self, metadata=attrs.evolve(self.metadata, **changes))


class KindRegistry:
    """Maps ``(apiVersion, kind)`` and plural names to the classes declared with :func:`kind`."""

    def __init__(self) -> None:
        self._by_gvk: dict[tuple[str, str], type[Resource]] = {}
        self._by_resource: dict[str, type[Resource]] = {}

    def register(self, cls: type[R]) -> type[R]:
        k = kind_of(cls)
        existing = self._by_gvk.get((k.api_version, k.kind))
        if (
            existing is not None
            and existing is not cls
            and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__)
        ):
            raise ValueError(
                f"kind {k.kind} in {k.api_version} is already declared by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        self._by_gvk[(k.api_version, k.kind)] = cls
        self._by_resource[k.resource] = cls
        return cls

    def lookup(self, api_version: str, kind: str) -> type[Resource]:
        """The class declared for ``apiVersion``/``kind``; ``LookupError`` if none."""
        try:
            return self._by_gvk[(api_version, kind)]
        except KeyError:
            raise LookupError(f"no kind {kind!r} is declared in {api_version!r}") from None

    def lookup_resource(self, resource: str) -> type[Resource]:
        """The class for ``plural.group`` (or a bare plural for the core group)."""
        try:
            return self._by_resource[resource]
        except KeyError:
            raise LookupError(f"no resource {resource!r} is declared") from None

    def __iter__(self) -> Iterator[type[Resource]]:
        return iter(self._by_gvk.values())


registry = KindRegistry()
"""The default registry, filled by :func:`kind`."""


def kind(
    *,
    group: str = "",
    version: str,
    kind: str | None = None,
    plural: str | None = None,
    namespaced: bool = True,
    status_subresource: bool | None = None,
    field_selectors: Mapping[str, FieldGetter] | None = None,
    grace_period: Callable[[Any], int] | None = None,
    initial_status: Callable[[Any], Any] | None = None,
    status_on_update: Callable[[Any, Any, dt.datetime], Any] | None = None,
    into: KindRegistry | None = None,
) -> Callable[[type[R]], type[R]]:
    """
    Declare an ``attrs`` class deriving from :class:`Resource` as a resource kind.

    Args:
        group: API group (``""`` for Kubernetes' core group).
        version: API version within the group (``v1``).
        kind: Kind name; defaults to the class name.
        plural: Resource name; defaults to the lower-cased English plural of ``kind``.
        namespaced: Whether objects live in namespaces.
        status_subresource: Whether ``status`` is written only through the status
            subresource; defaults to whether the class has a ``status`` field.
        field_selectors: Extra selectable fields, mapping a JSON path such as
            ``spec.nodeName`` to a function returning its string value.
        grace_period: Makes deletion graceful, as for Kubernetes Pods: returns an
            object's default grace period in seconds. A delete with a positive
            grace period only marks the object (``deletionTimestamp`` = now +
            grace); the agent running it deletes it again with grace 0.
        initial_status: The status ``create`` stores, given the object (see
            :attr:`Kind.initial_status`).
        status_on_update: The status an update of the main resource stores,
            given the new object, the stored one and the time (see
            :attr:`Kind.status_on_update`).
        into: Registry to add the kind to (the default :data:`registry`).
    """

    def decorate(cls: type[R]) -> type[R]:
        if not (
            isinstance(cls, type)
            and issubclass(cls, Resource)
            and attrs.has(typing.cast("type", cls))
            # Fixed: ``attrs.has`` sees inherited ``__attrs_attrs__``, so a Resource
            # subclass missing its own ``@attrs.frozen`` was accepted (its fields ignored).
            and "__attrs_attrs__" in vars(cls)
        ):
            raise TypeError(f"{cls!r}: a kind must be an attrs class deriving from Resource")
        names = {f.name for f in attrs.fields(cls)}
        name = kind or cls.__name__
        cls.__kind__ = Kind(
            group=group,
            version=version,
            kind=name,
            plural=plural or _default_plural(name),
            namespaced=namespaced,
            status_subresource=("status" in names)
            if status_subresource is None
            else status_subresource,
            field_selectors=FrozenDict(field_selectors or {}),
            grace_period=grace_period,
            initial_status=initial_status,
            status_on_update=status_on_update,
        )
        (into or registry).register(cls)
        return cls

    return decorate


def kind_of(obj: Resource | type[Resource]) -> Kind:
    """The :class:`Kind` of an object or of a kind class."""
    cls = obj if isinstance(obj, type) else type(obj)
    # Only the class's own declaration counts: an undeclared subclass of a kind
    # would otherwise be written to JSON under its parent's kind.
    declared: Kind | None = cls.__dict__.get("__kind__")
    if declared is None:
        raise TypeError(f"{cls.__qualname__} is not declared with @reconcile.kind")
    return declared


def spec_fields(cls: type[Resource]) -> tuple[str, ...]:
    """Names of the fields that make up the spec (all but ``metadata`` and ``status``)."""
    return tuple(f.name for f in attrs.fields(cls) if f.name not in ("metadata", "status"))
