"""
The decisions the rollout helpers return instead of writing.

Kubernetes' ``reconcileOldReplicaSets`` and friends update ReplicaSets as
they go. Here they return :class:`Scale` steps, in the order Kubernetes would
issue its updates; :func:`apply_scales` plays them onto the objects (pure),
so the next helper in a chain sees the sizes it would have seen after the
writes, and :mod:`controllers.deployment.reconciler` issues the writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from controllers.api.apps import ReplicaSet
from controllers.deployment.util import replicas_of

__all__ = ["Scale", "apply_scales", "scaled_down", "scaled_up"]

_non_negative = [attrs.validators.instance_of(int), attrs.validators.ge(0)]


@attrs.frozen(kw_only=True)
class Scale:
    """
    Set ReplicaSet ``name``'s ``spec.replicas`` from ``old`` to ``new``.

    ``old == new`` is a write that only refreshes the desired-replicas and
    max-replicas annotations (proportional scaling issues those).
    """

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    old: int = attrs.field(validator=_non_negative)
    new: int = attrs.field(validator=_non_negative)

    @property
    def delta(self) -> int:
        """``new - old``: positive for a scale-up."""
        return self.new - self.old

    @property
    def direction(self) -> str:
        """``"up"`` or ``"down"``, as Kubernetes' ``ScalingReplicaSet`` events word it."""
        return "up" if self.new > self.old else "down"

    @classmethod
    def of(cls, rs: ReplicaSet, new: int) -> Scale:
        """A step taking ``rs`` from its current size to ``new``."""
        return cls(name=rs.metadata.name, old=replicas_of(rs), new=new)


def apply_scales(replica_sets: Sequence[ReplicaSet], scales: Iterable[Scale]) -> list[ReplicaSet]:
    """``replica_sets`` (same order) with every step's new size in ``spec.replicas``."""
    sizes = {s.name: s.new for s in scales}
    if not sizes:
        return list(replica_sets)
    return [
        attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=sizes[rs.metadata.name]))
        if rs.metadata.name in sizes and sizes[rs.metadata.name] != replicas_of(rs)
        else rs
        for rs in replica_sets
    ]


def scaled_down(scales: Iterable[Scale]) -> int:
    """Replicas removed by ``scales``."""
    return sum(max(-s.delta, 0) for s in scales)


def scaled_up(scales: Iterable[Scale]) -> int:
    """Replicas added by ``scales``."""
    return sum(max(s.delta, 0) for s in scales)
