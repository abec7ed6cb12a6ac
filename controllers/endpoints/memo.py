"""
A per-Service cache of what each pod contributes, for syncs over thousands of pods.

A Service with 1,000 pods is synced once per readiness flap, and each sync
would rebuild 1,000 addresses (or endpoints) of which one changed. Pods are
immutable and the cache hands out the same object until it changes, so a
contribution is reused while its pod *is* the same object and its context
(the Service, a zone) is equal. Equal port sets are interned, so that the
rows of most pods share one tuple and can be grouped by identity.

The planners stay pure: given a memo or not, they return equal results;
the memo only saves work.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Generic, TypeVar, cast, final

from controllers.api.core import Pod

__all__ = ["MISSING", "PodMemo"]

V = TypeVar("V")
T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
"""What :meth:`PodMemo.lookup` returns when it holds nothing usable."""


@final
class PodMemo(Generic[V]):
    """What each pod contributed last time, by uid, with the context it was computed in."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Pod, tuple[object, ...], V]] = {}
        self._interned: dict[object, object] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, pod: Pod, context: tuple[object, ...]) -> V | _Missing:
        """The value stored for this very ``pod`` object in an equal ``context``, or MISSING."""
        hit = self._entries.get(pod.metadata.uid)
        if hit is not None and hit[0] is pod and hit[1] == context:
            return hit[2]
        return MISSING

    def store(self, pod: Pod, context: tuple[object, ...], value: V) -> V:
        """Remember ``value`` for ``pod`` in ``context``; returns it."""
        self._entries[pod.metadata.uid] = (pod, context, value)
        return value

    def intern(self, value: T) -> T:
        """The first stored value equal to ``value`` (``value`` itself the first time)."""
        return cast("T", self._interned.setdefault(value, value))

    def retain(self, pods: Collection[Pod]) -> None:
        """Forget pods other than ``pods`` once they are about as many (amortized O(1) per call)."""
        if len(self._entries) <= 2 * len(pods) + 16:
            return
        live = {p.metadata.uid for p in pods}
        self._entries = {u: e for u, e in self._entries.items() if u in live}
        self._interned.clear()
