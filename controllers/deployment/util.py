"""
Rollout arithmetic and bookkeeping shared by every Deployment strategy.

The counterparts of ``pkg/controller/deployment/util/deployment_util.go``
and of the orderings in ``pkg/controller/controller_utils.go``: int-or-percent
fenceposts, the new ReplicaSet's next size, revision annotations, the
``pod-template-hash`` and ``<deployment>-<hash>`` names, and which ReplicaSet
is the new one. Everything here is pure: it reads the typed objects it is
given and returns values.

Rounding follows Go, not Python: surge rounds up, unavailability down, and
:func:`go_round` is ``math.Round`` (half away from zero), because Python's
``round`` rounds half to even.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from controllers.api.apps import Deployment, DeploymentStrategyType, ReplicaSet
from controllers.api.common import IntOrString
from controllers.api.core import Pod
from controllers.api.pod import PodTemplateSpec
from controllers.planted import DEPLOYMENT_SURGE_ROUNDED_DOWN, DEPLOYMENT_UNAVAILABLE_ROUNDED_UP
from reconcile import FrozenDict, ObjectMeta, planted, to_json

__all__ = [
    "DESIRED_REPLICAS",
    "MAX_REPLICAS",
    "MAX_REVISION_HISTORY_CHARS",
    "POD_TEMPLATE_HASH",
    "REVISION",
    "REVISION_HISTORY",
    "by_creation",
    "equal_ignore_hash",
    "find_new_replica_set",
    "find_old_replica_sets",
    "go_round",
    "is_rolling",
    "max_surge",
    "max_unavailable",
    "min_available",
    "new_rs_new_replicas",
    "parse_int",
    "pod_template_hash",
    "replicas_of",
    "resolve_fenceposts",
    "scaled_value",
    "spec_replicas",
    "with_annotations",
    "without_hash",
]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"
MAX_REVISION_HISTORY_CHARS = 2000
"""Longest ``revision-history`` annotation kept; the oldest entries are dropped first."""

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # no vowels: no words in generated names


def go_round(x: float) -> int:
    """Go's ``math.Round``: to the nearest integer, halves away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def parse_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``: optional sign and ASCII digits, else ``None``."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return int(text)


def scaled_value(value: IntOrString, total: int, *, round_up: bool) -> int:
    """
    ``intstr.GetScaledValueFromIntOrPercent``: an int as is, ``"p%"`` of ``total``.

    Raises:
        ValueError: a string that is not an integer followed by ``%``.
    """
    if isinstance(value, int):
        return value
    percent = parse_int(value[:-1]) if value.endswith("%") else None
    if percent is None:
        raise ValueError(
            f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}"
        )
    # Exact integer floor/ceil: Go's float64 arithmetic agrees for int32 inputs.
    numerator = percent * total
    return -(-numerator // 100) if round_up else numerator // 100


def resolve_fenceposts(
    surge: IntOrString | None, unavailable: IntOrString | None, desired: int
) -> tuple[int, int]:
    """
    ``ResolveFenceposts``: absolute ``(max surge, max unavailable)`` for ``desired`` replicas.

    Surge rounds up and unavailability down; when both come out ``0`` the
    rollout could never move, so unavailability becomes ``1``.
    """
    surge_up = not planted(DEPLOYMENT_SURGE_ROUNDED_DOWN)
    unavailable_up = planted(DEPLOYMENT_UNAVAILABLE_ROUNDED_UP)
    s = scaled_value(0 if surge is None else surge, desired, round_up=surge_up)
    u = scaled_value(0 if unavailable is None else unavailable, desired, round_up=unavailable_up)
    if s == 0 and u == 0:
        u = 1
    return s, u


def is_rolling(deployment: Deployment) -> bool:
    """Whether the strategy is RollingUpdate (the defaulted, hence unset, strategy is)."""
    return deployment.spec.strategy.type is not DeploymentStrategyType.RECREATE


def spec_replicas(deployment: Deployment) -> int:
    """``spec.replicas``, ``1`` when unset (the API default)."""
    replicas = deployment.spec.replicas
    return 1 if replicas is None else replicas


def replicas_of(rs: ReplicaSet) -> int:
    """A ReplicaSet's ``spec.replicas``, ``1`` when unset (the API default)."""
    replicas = rs.spec.replicas
    return 1 if replicas is None else replicas


def _fenceposts(deployment: Deployment) -> tuple[int, int]:
    rolling = deployment.spec.strategy.rolling_update
    surge = "25%" if rolling is None or rolling.max_surge is None else rolling.max_surge
    unavailable = (
        "25%" if rolling is None or rolling.max_unavailable is None else rolling.max_unavailable
    )
    return resolve_fenceposts(surge, unavailable, spec_replicas(deployment))


def max_surge(deployment: Deployment) -> int:
    """``MaxSurge``: the resolved surge for RollingUpdate (not clamped), else ``0``."""
    return _fenceposts(deployment)[0] if is_rolling(deployment) else 0


def max_unavailable(deployment: Deployment) -> int:
    """
    ``MaxUnavailable``: the resolved unavailability clamped to ``spec.replicas``.

    ``0`` for Recreate and for a Deployment scaled to zero.
    """
    replicas = spec_replicas(deployment)
    if not is_rolling(deployment) or replicas == 0:
        return 0
    return min(_fenceposts(deployment)[1], replicas)


def min_available(deployment: Deployment) -> int:
    """``MinAvailable``: ``replicas - max_unavailable`` for RollingUpdate, else ``0``."""
    return spec_replicas(deployment) - max_unavailable(deployment) if is_rolling(deployment) else 0


def new_rs_new_replicas(
    deployment: Deployment, all_rss: Iterable[ReplicaSet], new_rs: ReplicaSet
) -> int:
    """
    ``NewRSNewReplicas``: how far the new ReplicaSet may grow now.

    RollingUpdate: up to ``replicas + maxSurge`` pods in total over
    ``all_rss`` (which includes ``new_rs``), and never past ``replicas``.
    Recreate: ``replicas`` at once.
    """
    replicas = spec_replicas(deployment)
    if not is_rolling(deployment):
        return replicas
    rolling = deployment.spec.strategy.rolling_update
    surge_field = "25%" if rolling is None or rolling.max_surge is None else rolling.max_surge
    surge_up = not planted(DEPLOYMENT_SURGE_ROUNDED_DOWN)
    max_total = replicas + scaled_value(surge_field, replicas, round_up=surge_up)
    current = sum(replicas_of(rs) for rs in all_rss)
    if current >= max_total:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(max_total - current, replicas - replicas_of(new_rs))


# -- templates, hashes and names -------------------------------------------------------


def without_hash(template: PodTemplateSpec) -> PodTemplateSpec:
    """``template`` without its ``pod-template-hash`` label."""
    labels = template.metadata.labels
    if POD_TEMPLATE_HASH not in labels:
        return template
    kept: FrozenDict[str, str] = FrozenDict(
        {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH}
    )
    return attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=kept))


def equal_ignore_hash(a: PodTemplateSpec, b: PodTemplateSpec) -> bool:
    """``EqualIgnoreHash``: equal templates but for the ``pod-template-hash`` label."""
    return a == b or without_hash(a) == without_hash(b)


def pod_template_hash(template: PodTemplateSpec, collision_count: int | None) -> str:
    """
    ``ComputeHash``: a short name-safe hash of ``template`` and ``collision_count``.

    FNV-32a over the template's canonical JSON, then the collision count as
    four little-endian bytes, rendered as its decimal digits mapped onto a
    vowel-free alphabet (``rand.SafeEncodeString``). Go's bytes are not
    reproduced, only the contract: deterministic in both inputs, and a new
    collision count gives a new hash.
    """
    body = to_json(Pod(metadata=template.metadata, spec=template.spec))
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_HASH_ALPHABET[ord(c) % len(_HASH_ALPHABET)] for c in str(h))


def by_creation(rs: ReplicaSet) -> tuple[dt.datetime, str]:
    """Sort key of ``ReplicaSetsByCreationTimestamp``: oldest first, then by name."""
    return rs.metadata.creation_timestamp or _EPOCH, rs.metadata.name


def find_new_replica_set(
    deployment: Deployment, replica_sets: Sequence[ReplicaSet]
) -> ReplicaSet | None:
    """
    ``FindNewReplicaSet``: the oldest ReplicaSet whose template is the Deployment's.

    The oldest wins when several match (a hash collision in the past), so the
    choice is stable.
    """
    template = deployment.spec.template
    matching = [rs for rs in replica_sets if equal_ignore_hash(rs.spec.template, template)]
    return min(matching, key=by_creation) if matching else None


def find_old_replica_sets(
    new_rs: ReplicaSet | None, replica_sets: Sequence[ReplicaSet]
) -> list[ReplicaSet]:
    """``FindOldReplicaSets`` (all of them): every ReplicaSet but ``new_rs``."""
    if new_rs is None:
        return list(replica_sets)
    uid = new_rs.metadata.uid
    return [rs for rs in replica_sets if rs.metadata.uid != uid]


def with_annotations(meta: ObjectMeta, changes: Mapping[str, str]) -> ObjectMeta:
    """``meta`` with ``changes`` merged into its annotations (``meta`` itself if none differ)."""
    current = meta.annotations
    if all(current.get(k) == v for k, v in changes.items()):
        return meta
    return attrs.evolve(meta, annotations=FrozenDict({**current, **changes}))
