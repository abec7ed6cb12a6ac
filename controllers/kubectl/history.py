"""
``kubectl rollout history``: a Deployment's revisions, read from its ReplicaSets.

A Deployment keeps no history of its own. Each ReplicaSet it controls
(controller owner reference, matching its selector) is one revision: the
annotation ``deployment.kubernetes.io/revision`` numbers it, and
``kubernetes.io/change-cause``, copied from the Deployment when the
ReplicaSet was made or last adopted as the new one, says why. Everything
here is pure over objects the caller read.

As in kubectl, a ReplicaSet whose revision annotation is not a number is
left out, one without the annotation counts as revision ``0``, and when two
ReplicaSets claim the same revision the Deployment's current one wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

from controllers.api.apps import Deployment, ReplicaSet
from controllers.api.pod import PodTemplateSpec
from controllers.deployment.util import equal_ignore_hash, without_hash
from controllers.kubectl.annotations import CHANGE_CAUSE, revision_of
from controllers.kubectl.errors import KubectlError
from reconcile import FrozenDict, is_controlled_by

__all__ = [
    "HistoryEntry",
    "equal_ignore_hash",
    "find_revision",
    "new_replica_set",
    "owned_replica_sets",
    "rollout_history",
    "without_hash",
]

_instance = attrs.validators.instance_of
_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


@attrs.frozen(kw_only=True)
class HistoryEntry:
    """
    One revision of a Deployment.

    Attributes:
        revision: Its number (``deployment.kubernetes.io/revision``).
        change_cause: Its ``kubernetes.io/change-cause`` annotation, or ``None``.
        replica_set: The name of the ReplicaSet that holds it.
        template: The ReplicaSet's pod template (``pod-template-hash`` label
            included), with the change cause among its annotations, as
            ``rollout history --revision=N`` shows it.
    """

    revision: int = attrs.field(validator=_instance(int))
    change_cause: str | None = attrs.field(validator=attrs.validators.optional(_instance(str)))
    replica_set: str = attrs.field(validator=_instance(str))
    template: PodTemplateSpec = attrs.field(validator=_instance(PodTemplateSpec))


def owned_replica_sets(
    deployment: Deployment, replica_sets: Iterable[ReplicaSet]
) -> list[ReplicaSet]:
    """
    The ReplicaSets of ``deployment``: in its namespace, selected by its
    selector and controlled by it (owner reference to its uid).
    """
    meta = deployment.metadata
    selector = deployment.spec.selector
    return [
        rs
        for rs in replica_sets
        if rs.metadata.namespace == meta.namespace
        and is_controlled_by(rs.metadata, meta.uid)
        and selector is not None
        and selector.matches(rs.metadata.labels)
    ]


def new_replica_set(
    deployment: Deployment, replica_sets: Iterable[ReplicaSet]
) -> ReplicaSet | None:
    """
    The Deployment's current ReplicaSet: the oldest of ``replica_sets`` whose
    template equals the Deployment's but for the hash label; ``None`` if none does.
    """
    matching = [
        rs for rs in replica_sets if equal_ignore_hash(rs.spec.template, deployment.spec.template)
    ]
    matching.sort(key=lambda rs: (rs.metadata.creation_timestamp or _EPOCH, rs.metadata.name))
    return matching[0] if matching else None


def rollout_history(
    deployment: Deployment, replica_sets: Iterable[ReplicaSet]
) -> list[HistoryEntry]:
    """
    The revisions of ``deployment``, oldest first.

    Args:
        deployment: The Deployment.
        replica_sets: Candidate ReplicaSets (for example every ReplicaSet of
            its namespace); those it does not own are ignored.
    """
    owned = owned_replica_sets(deployment, replica_sets)
    current = new_replica_set(deployment, owned)
    ordered = [rs for rs in owned if rs is not current]
    if current is not None:
        ordered.append(current)
    entries: dict[int, HistoryEntry] = {}
    for rs in ordered:
        try:
            revision = revision_of(rs.metadata.annotations)
        except ValueError:
            continue
        cause = rs.metadata.annotations.get(CHANGE_CAUSE) or None
        template = rs.spec.template
        if cause is not None:
            annotations = FrozenDict[str, str](
                {**template.metadata.annotations, CHANGE_CAUSE: cause}
            )
            meta = attrs.evolve(template.metadata, annotations=annotations)
            template = attrs.evolve(template, metadata=meta)
        entries[revision] = HistoryEntry(
            revision=revision, change_cause=cause, replica_set=rs.metadata.name, template=template
        )
    return [entries[r] for r in sorted(entries)]


def find_revision(history: Sequence[HistoryEntry], revision: int) -> HistoryEntry:
    """
    The entry of ``revision`` (``rollout history --revision=N``).

    Raises:
        KubectlError: there is no such revision.
    """
    for entry in history:
        if entry.revision == revision:
            return entry
    raise KubectlError("unable to find the specified revision")
