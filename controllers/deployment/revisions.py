"""
Revisions: numbering, the annotations ReplicaSets carry, and history cleanup.

Every ReplicaSet of a Deployment records the rollout it belongs to in
``deployment.kubernetes.io/revision``. The new ReplicaSet always holds the
highest number: when a template change brings back an old ReplicaSet (an
undo), that ReplicaSet is renumbered to ``max + 1`` and its former number is
appended to ``deployment.kubernetes.io/revision-history``.

Counterparts in ``deployment_util.go``: ``Revision``, ``MaxRevision``,
``SetNewReplicaSetAnnotations``, ``SetReplicasAnnotations``,
``ReplicasAnnotationsNeedUpdate``, ``SetDeploymentRevision``; and
``cleanupDeployment`` in ``sync.go``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from controllers.api.apps import Deployment, ReplicaSet
from controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    MAX_REVISION_HISTORY_CHARS,
    REVISION,
    REVISION_HISTORY,
    by_creation,
    max_surge,
    parse_int,
    replicas_of,
    spec_replicas,
    with_annotations,
)
from controllers.planted import DEPLOYMENT_IGNORES_REVISION_HISTORY_LIMIT
from reconcile import ObjectMeta, planted

__all__ = [
    "SKIP_COPY",
    "cleanup_deployment",
    "max_revision",
    "replicas_annotations",
    "revision",
    "set_new_replica_set_annotations",
    "with_replicas_annotations",
]

SKIP_COPY = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)
"""Deployment annotations that are never copied onto its ReplicaSets."""

_MAX_INT32 = 2**31 - 1


def revision(meta: ObjectMeta) -> int | None:
    """``Revision``: the revision annotation; ``0`` when absent, ``None`` when unparsable."""
    text = meta.annotations.get(REVISION)
    return 0 if text is None else parse_int(text)


def max_revision(replica_sets: Iterable[ReplicaSet]) -> int:
    """``MaxRevision``: the highest parsable revision (``0`` for none)."""
    return max((r for rs in replica_sets if (r := revision(rs.metadata)) is not None), default=0)


def replicas_annotations(deployment: Deployment) -> dict[str, str]:
    """The desired-replicas and max-replicas annotations a scaled ReplicaSet gets."""
    replicas = spec_replicas(deployment)
    return {
        DESIRED_REPLICAS: str(replicas),
        MAX_REPLICAS: str(replicas + max_surge(deployment)),
    }


def with_replicas_annotations(rs: ReplicaSet, deployment: Deployment) -> ReplicaSet:
    """``SetReplicasAnnotations``: ``rs`` with both annotations current (``rs`` if they are)."""
    meta = with_annotations(rs.metadata, replicas_annotations(deployment))
    return rs if meta is rs.metadata else attrs.evolve(rs, metadata=meta)


def _append_history(history: str, old: str) -> str | None:
    """``history`` with ``old`` appended, oldest entries dropped to stay within the limit."""
    if not history:
        return old
    entries = history.split(",")
    total = len(history) + len(old) + 1
    start = 0
    while total > MAX_REVISION_HISTORY_CHARS and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total > MAX_REVISION_HISTORY_CHARS:
        return None  # Kubernetes logs and keeps the history as it was
    return ",".join([*entries[start:], old])


def set_new_replica_set_annotations(
    deployment: Deployment, rs: ReplicaSet, new_revision: int, *, exists: bool
) -> ReplicaSet:
    """
    ``SetNewReplicaSetAnnotations``: ``rs`` annotated as the new ReplicaSet.

    * Deployment annotations outside :data:`SKIP_COPY` are copied (none are removed).
    * A lower revision is raised to ``new_revision``; if it had one, that
      number is appended to the revision history (an undo brought it back).
    * A ReplicaSet about to be created (``exists=False``) also gets the
      desired-replicas and max-replicas annotations.

    Returns ``rs`` itself when nothing changes.
    """
    annotations = dict(rs.metadata.annotations)
    annotations.update(
        (k, v) for k, v in deployment.metadata.annotations.items() if k not in SKIP_COPY
    )
    old_text = annotations.get(REVISION)
    old = 0 if old_text is None else parse_int(old_text)
    if old is None:
        return rs  # Kubernetes refuses to touch a ReplicaSet with a garbled revision
    if old < new_revision:
        annotations[REVISION] = str(new_revision)
        if old_text is not None:
            history = _append_history(annotations.get(REVISION_HISTORY, ""), old_text)
            if history is not None:
                annotations[REVISION_HISTORY] = history
    if not exists:
        annotations.update(replicas_annotations(deployment))
    meta = with_annotations(rs.metadata, annotations)
    return rs if meta is rs.metadata else attrs.evolve(rs, metadata=meta)


def _by_revision(rs: ReplicaSet) -> tuple[int, object]:
    r = revision(rs.metadata)
    return (0 if r is None else r), by_creation(rs)


def cleanup_deployment(deployment: Deployment, old_rss: Sequence[ReplicaSet]) -> tuple[str, ...]:
    """
    ``cleanupDeployment``: names of the old ReplicaSets to delete for ``revisionHistoryLimit``.

    Only the ``len - limit`` lowest revisions are considered, and of those
    only the empty ones (no replicas in spec or status, status caught up) are
    deleted; a non-empty candidate is skipped, not replaced by a newer one.
    An unset limit (or ``MaxInt32``) keeps everything.
    """
    limit = deployment.spec.revision_history_limit
    if limit is None or limit == _MAX_INT32 or planted(DEPLOYMENT_IGNORES_REVISION_HISTORY_LIMIT):
        return ()
    cleanable = [rs for rs in old_rss if rs.metadata.deletion_timestamp is None]
    diff = len(cleanable) - limit
    if diff <= 0:
        return ()
    cleanable.sort(key=_by_revision)
    return tuple(
        rs.metadata.name
        for rs in cleanable[:diff]
        if rs.status.replicas == 0
        and replicas_of(rs) == 0
        and rs.metadata.generation <= rs.status.observed_generation
    )
