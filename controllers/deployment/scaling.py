"""
Proportional scaling: resizing a Deployment that is paused or mid-rollout.

When ``spec.replicas`` changes while several ReplicaSets have pods, each
keeps its share: a ReplicaSet of ``r`` replicas of an old maximum ``m``
(its ``max-replicas`` annotation) becomes ``round(r * m' / m)``, where ``m'``
is the new ``replicas + maxSurge``. Rounding is Go's (half away from zero);
ReplicaSets are visited largest first (newer first on ties when growing,
older first when shrinking), each bounded by what is left to hand out, and
the remainder goes to the first (largest), never below zero.

Counterparts: ``scale``, ``isScalingEvent`` (``sync.go``) and
``FindActiveOrLatest``, ``IsSaturated``, ``GetReplicaSetProportion``,
``getReplicaSetFraction`` (``deployment_util.go``).
"""

from __future__ import annotations

from collections.abc import Sequence

from controllers.api.apps import Deployment, ReplicaSet
from controllers.deployment.actions import Scale
from controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    by_creation,
    go_round,
    is_rolling,
    max_surge,
    parse_int,
    replicas_of,
    spec_replicas,
)

__all__ = [
    "find_active_or_latest",
    "is_saturated",
    "is_scaling_event",
    "proportional_scale",
    "replica_set_fraction",
    "replica_set_proportion",
]

_MAX_INT32 = 2**31 - 1


def _int32_annotation(rs: ReplicaSet, key: str) -> int | None:
    text = rs.metadata.annotations.get(key)
    value = None if text is None else parse_int(text)
    return value if value is not None and 0 <= value <= _MAX_INT32 else None


def is_scaling_event(deployment: Deployment, replica_sets: Sequence[ReplicaSet]) -> bool:
    """
    ``isScalingEvent``: an active ReplicaSet records a desired size other than ``spec.replicas``.

    That means the Deployment was resized since the ReplicaSets were last
    scaled for it, which calls for proportional scaling, not a rollout step.
    """
    replicas = spec_replicas(deployment)
    for rs in replica_sets:
        if replicas_of(rs) == 0:
            continue
        text = rs.metadata.annotations.get(DESIRED_REPLICAS)
        desired = None if text is None else parse_int(text)
        if desired is not None and desired != replicas:
            return True
    return False


def find_active_or_latest(
    new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]
) -> ReplicaSet | None:
    """
    ``FindActiveOrLatest``: the only ReplicaSet with replicas, or the newest if none has any.

    ``None`` when two or more have replicas (or there are no ReplicaSets).
    """
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=by_creation, reverse=True)
    candidates = [*newest_first, *([new_rs] if new_rs is not None else [])]
    active = [rs for rs in candidates if replicas_of(rs) > 0]
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def is_saturated(deployment: Deployment, rs: ReplicaSet | None) -> bool:
    """``IsSaturated``: ``rs`` asks for, was sized for, and has ``replicas`` available pods."""
    if rs is None:
        return False
    desired = _int32_annotation(rs, DESIRED_REPLICAS)
    replicas = spec_replicas(deployment)
    return (
        desired == replicas
        and replicas_of(rs) == replicas
        and rs.status.available_replicas == replicas
    )


def replica_set_fraction(rs: ReplicaSet, deployment: Deployment) -> int:
    """
    ``getReplicaSetFraction``: how many replicas ``rs`` gains (or loses) in proportion.

    A Deployment scaled to zero takes everything. The old maximum is the
    ``max-replicas`` annotation, or ``status.replicas`` when that is missing
    or zero (and then ``0`` if that is zero too). The quotient is computed
    in floating point, as Go does, and rounded half away from zero.
    """
    replicas = spec_replicas(deployment)
    if replicas == 0:
        return -replicas_of(rs)
    new_max = replicas + max_surge(deployment)
    old_max = _int32_annotation(rs, MAX_REPLICAS)
    if not old_max:
        old_max = deployment.status.replicas
        if old_max == 0:
            return 0
    return go_round(replicas_of(rs) * new_max / old_max) - replicas_of(rs)


def replica_set_proportion(rs: ReplicaSet, deployment: Deployment, to_add: int, added: int) -> int:
    """
    ``GetReplicaSetProportion``: ``rs``'s fraction, capped by what is left of ``to_add``.

    ``added`` is what earlier (larger) ReplicaSets already took.
    """
    if replicas_of(rs) == 0 or to_add in (0, added):
        return 0
    fraction = replica_set_fraction(rs, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_scale(
    deployment: Deployment, new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]
) -> tuple[Scale, ...]:
    """
    ``scale``: the steps that resize the Deployment's ReplicaSets to its new ``replicas``.

    * One active ReplicaSet (or none: the latest): it alone takes ``replicas``.
      Its step is given even when it has that size already, so that stale
      ``desired-replicas`` annotations get rewritten: Kubernetes returns
      nothing then, and a Deployment whose only active ReplicaSet kept an old
      annotation stays a "scaling event" forever and never rolls out again
      (kubernetes/kubernetes#138036 and #138840 propose the same fix).
    * A saturated new ReplicaSet: every active old one goes to zero.
    * RollingUpdate with several active: each takes its proportion of
      ``replicas + maxSurge - Σ replicas`` (see the module docstring). Every
      active ReplicaSet gets a step, even an unchanged one (``old == new``),
      because Kubernetes rewrites their annotations; the planner drops those
      whose annotations are already current.
    * Recreate with several active: nothing (the rollout sorts it out).
    """
    replicas = spec_replicas(deployment)
    single = find_active_or_latest(new_rs, old_rss)
    if single is not None:
        return (Scale.of(single, replicas),)
    if is_saturated(deployment, new_rs):
        return tuple(Scale.of(rs, 0) for rs in old_rss if replicas_of(rs) > 0)
    if not is_rolling(deployment):
        return ()
    active = [rs for rs in [*old_rss, *([new_rs] if new_rs else [])] if replicas_of(rs) > 0]
    allowed = replicas + max_surge(deployment) if replicas > 0 else 0
    to_add = allowed - sum(replicas_of(rs) for rs in active)
    if to_add > 0:
        # ReplicaSetsBySizeNewer: larger, then newer, then later name first.
        active.sort(key=lambda rs: (replicas_of(rs), *by_creation(rs)), reverse=True)
    elif to_add < 0:
        # ReplicaSetsBySizeOlder: larger, then older, then earlier name first.
        active.sort(key=lambda rs: (-replicas_of(rs), *by_creation(rs)))
    sizes: list[int] = []
    added = 0
    for rs in active:
        share = replica_set_proportion(rs, deployment, to_add, added) if to_add else 0
        sizes.append(replicas_of(rs) + share)
        added += share
    if to_add and active:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return tuple(Scale.of(rs, size) for rs, size in zip(active, sizes, strict=True))
