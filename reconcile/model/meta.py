"""
Object identity and metadata: the part every resource kind shares.

These mirror Kubernetes' ``metav1.ObjectMeta`` and ``metav1.OwnerReference``
field for field, with snake_case attribute names; :mod:`reconcile.model.convert`
maps them to the camelCase JSON shape. ``resource_version`` is an opaque
string: compare it only for equality, never order it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple, NewType

import attrs

from reconcile.model.frozen import FrozenDict, frozen_str_dict

__all__ = ["ObjectKey", "ObjectMeta", "OwnerReference", "ResourceVersion", "Uid"]

Uid = NewType("Uid", str)
ResourceVersion = NewType("ResourceVersion", str)


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        raise TypeError("expected a sequence of strings, got a single string")
    return tuple(value)


def _owner_tuple(value: Iterable[OwnerReference]) -> tuple[OwnerReference, ...]:
    return value if isinstance(value, tuple) else tuple(value)


class ObjectKey(NamedTuple):
    """
    The name of one object within a kind: ``namespace/name``, or ``name`` alone
    for cluster-scoped kinds (``namespace == ""``).

    This is what work queues carry and what reconcilers receive. It is the
    hottest value in the system (every event, queue operation and cache look-up
    builds or hashes one), so unlike the other values it is an immutable
    ``NamedTuple``: built, hashed and compared in C, several times faster
    than an ``attrs`` class. Pass its fields by keyword.
    """

    namespace: str = ""
    name: str = ""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @classmethod
    def parse(cls, text: str) -> ObjectKey:
        """Parse ``"namespace/name"`` or ``"name"``."""
        namespace, sep, name = text.rpartition("/")
        if not name or (sep and not namespace) or "/" in namespace:
            raise ValueError(f"invalid object key {text!r}: expected 'namespace/name' or 'name'")
        return cls(namespace=namespace, name=name)


_new_tuple = tuple.__new__


@attrs.frozen(kw_only=True)
class OwnerReference:
    """A pointer from a dependent to its owner (same namespace, or cluster-scoped)."""

    api_version: str
    kind: str
    name: str
    uid: Uid
    controller: bool | None = None
    block_owner_deletion: bool | None = None


@attrs.frozen(kw_only=True)
class ObjectMeta:
    """
    Metadata that the API server (here, a cluster backend) maintains.

    The server owns ``uid``, ``resource_version``, ``generation``,
    ``creation_timestamp`` and ``deletion_timestamp``; clients set the rest.
    Timestamps are aware UTC datetimes.
    """

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: Uid = Uid("")
    resource_version: ResourceVersion = ResourceVersion("")
    generation: int = 0
    creation_timestamp: dt.datetime | None = None
    deletion_timestamp: dt.datetime | None = None
    deletion_grace_period_seconds: int | None = None
    labels: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=frozen_str_dict)
    annotations: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=frozen_str_dict)
    owner_references: tuple[OwnerReference, ...] = attrs.field(default=(), converter=_owner_tuple)
    finalizers: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @property
    def key(self) -> ObjectKey:
        """This object's :class:`ObjectKey`."""
        # ``tuple.__new__`` skips the NamedTuple's keyword-parsing constructor.
        return _new_tuple(ObjectKey, (self.namespace, self.name))

    @property
    def deleting(self) -> bool:
        """Whether deletion has been requested (finalizers are holding the object)."""
        return self.deletion_timestamp is not None
