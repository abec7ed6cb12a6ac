"""
The reconciler contract: one idempotent function of a key.

A reconciler receives a :class:`Request` (the object's key, nothing more:
*why* it was queued is deliberately hidden) and returns a :class:`Result`
saying whether to look again later. It reads the current state itself,
makes the world match the spec, and must be safe to call any number of
times, in any order relative to events: that is what level-triggered means.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, final, runtime_checkable

import attrs

from reconcile.model.meta import ObjectKey

__all__ = ["Reconciler", "Request", "Result", "reconciler"]

Request = ObjectKey
"""What a reconciler is asked to reconcile: ``namespace/name`` of one object."""


@attrs.frozen(kw_only=True)
class Result:
    """
    The outcome of a successful reconcile.

    ``requeue_after`` is ``None`` when nothing more is needed until the next
    change, or the number of seconds after which to reconcile again. There is
    deliberately no boolean "requeue": a delay says what is meant.
    """

    requeue_after: float | None = attrs.field(default=None)

    @requeue_after.validator
    def _check(self, _attribute: object, value: float | None) -> None:
        if value is not None and value < 0:
            raise ValueError(f"requeue_after: must be >= 0, got {value}")

    @classmethod
    def done(cls) -> Result:
        """Nothing more to do until something changes."""
        return _DONE

    @classmethod
    def after(cls, seconds: float) -> Result:
        """Reconcile again after ``seconds`` (of the controller's clock)."""
        return cls(requeue_after=seconds)


_DONE = Result()


@runtime_checkable
class Reconciler(Protocol):
    """**Protocol:** make one object's world match its spec."""

    async def reconcile(self, request: Request) -> Result:
        """Reconcile ``request``; raise an error from :mod:`reconcile.errors` to retry."""
        ...


@final
@attrs.frozen
class _FunctionReconciler:
    fn: Callable[[Request], Awaitable[Result | None]]

    async def reconcile(self, request: Request) -> Result:
        result = await self.fn(request)
        return _DONE if result is None else result

    def __repr__(self) -> str:
        return f"reconciler({getattr(self.fn, '__qualname__', self.fn)!r})"


def reconciler(fn: Callable[[Request], Awaitable[Result | None]]) -> Reconciler:
    """Adapt a plain ``async def fn(request)`` (returning a Result or ``None``) to a Reconciler."""
    return _FunctionReconciler(fn)
