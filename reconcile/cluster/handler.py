"""
Event handlers: how an informer tells its users what changed.

An :class:`EventHandler` has three synchronous callbacks. The informer calls
them in its own task after its store reflects the change, one call at a
time, so a handler may read the store and must not block: the usual handler
only puts a key into a work queue. :func:`handler` adapts plain functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar, final, runtime_checkable

import attrs

from reconcile.model.kinds import Resource

__all__ = ["EventHandler", "FunctionHandler", "handler"]

R = TypeVar("R", bound=Resource)
R_contra = TypeVar("R_contra", bound=Resource, contravariant=True)


@runtime_checkable
class EventHandler(Protocol[R_contra]):
    """
    **Protocol:** receives an informer's notifications, synchronously.

    Handlers must be quick and must not block: the usual one only puts a key
    into a work queue.
    """

    def on_add(self, obj: R_contra) -> None:
        """``obj`` appeared in the cache."""
        ...

    def on_update(self, old: R_contra, new: R_contra) -> None:
        """``old`` was replaced by ``new`` (both the same object on a resync)."""
        ...

    def on_delete(self, obj: R_contra) -> None:
        """``obj`` (its last known state) left the cache."""
        ...


def _ignore(*_objects: object) -> None:
    return None


@final
@attrs.frozen(kw_only=True)
class FunctionHandler(Generic[R]):
    """An :class:`EventHandler` made of plain functions; missing ones do nothing."""

    on_add: Callable[[R], None] = _ignore
    on_update: Callable[[R, R], None] = _ignore
    on_delete: Callable[[R], None] = _ignore


def handler(
    *,
    on_add: Callable[[R], None] | None = None,
    on_update: Callable[[R, R], None] | None = None,
    on_delete: Callable[[R], None] | None = None,
) -> FunctionHandler[R]:
    """Adapt plain functions into an :class:`EventHandler`."""
    return FunctionHandler(
        on_add=on_add or _ignore, on_update=on_update or _ignore, on_delete=on_delete or _ignore
    )
