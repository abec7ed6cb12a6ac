"""
``kubectl rollout undo``: put an earlier revision's pod template back.

Since ``apps/v1`` the rollback happens in kubectl, not in the controller:
kubectl finds the ReplicaSet of the wanted revision, writes its pod
template (without the ``pod-template-hash`` label) into the Deployment and
replaces the Deployment's annotations with the ReplicaSet's, keeping only
the Deployment's own bookkeeping ones (:data:`ROLLBACK_KEEPS`). The
Deployment controller then sees a template it already has a ReplicaSet
for, gives that ReplicaSet the next revision number and rolls it out: undo
to revision ``k`` of ``{1, 2, 3}`` leaves revisions ``{2, 3, 4}``.

:func:`plan_rollback` is the pure decision; ``controllers.kubectl.undo``
reads the objects, calls it and writes the result.

Differences from kubectl: "skipped rollback" names the revision found,
where kubectl names the ``--to-revision`` argument (``0`` when omitted).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controllers.api.apps import Deployment, ReplicaSet
from controllers.kubectl.annotations import ROLLBACK_KEEPS, revision_of
from controllers.kubectl.errors import KubectlError
from controllers.kubectl.history import (
    equal_ignore_hash,
    new_replica_set,
    owned_replica_sets,
    without_hash,
)
from reconcile import FrozenDict

__all__ = ["ROLLBACK_KEEPS", "Rollback", "plan_rollback", "revision_to_restore"]

_instance = attrs.validators.instance_of


@attrs.frozen(kw_only=True)
class Rollback:
    """
    What an undo does.

    Attributes:
        revision: The revision rolled back to.
        deployment: The Deployment to write (or, once written, as stored);
            ``None`` when the rollback is skipped.
        message: kubectl's report: ``rolled back`` or ``skipped rollback
            (current template already matches revision N)``.
    """

    revision: int = attrs.field(validator=_instance(int))
    deployment: Deployment | None = attrs.field(
        validator=attrs.validators.optional(_instance(Deployment))
    )
    message: str = attrs.field(validator=_instance(str))

    @property
    def skipped(self) -> bool:
        """Whether nothing is to be written."""
        return self.deployment is None


def revision_to_restore(
    deployment: Deployment, replica_sets: Iterable[ReplicaSet], to_revision: int | None = None
) -> tuple[int, ReplicaSet]:
    """
    The ReplicaSet holding ``to_revision``, or the previous revision when ``None`` (or ``0``).

    The previous revision is the second highest among the Deployment's
    ReplicaSets (ReplicaSets whose revision is not a number are ignored).

    Raises:
        KubectlError: ``unable to find specified revision N in history``, or
            ``no rollout history found for deployment "x"`` when there is no
            previous revision.
    """
    wanted = to_revision or 0
    if wanted < 0:
        raise KubectlError(f"unable to find specified revision {wanted} in history")
    owned = owned_replica_sets(deployment, replica_sets)
    current = new_replica_set(deployment, owned)
    ordered = [rs for rs in owned if rs is not current] + ([current] if current else [])
    latest: tuple[int, ReplicaSet] | None = None
    previous: tuple[int, ReplicaSet] | None = None
    for rs in ordered:
        try:
            revision = revision_of(rs.metadata.annotations)
        except ValueError:
            continue
        if wanted:
            if revision == wanted:
                return revision, rs
        elif latest is None or latest[0] < revision:
            previous, latest = latest, (revision, rs)
        elif previous is None or previous[0] < revision:
            previous = (revision, rs)
    if wanted:
        raise KubectlError(f"unable to find specified revision {wanted} in history")
    if previous is None:
        raise KubectlError(f'no rollout history found for deployment "{deployment.metadata.name}"')
    return previous


def plan_rollback(
    deployment: Deployment, replica_sets: Iterable[ReplicaSet], *, to_revision: int | None = None
) -> Rollback:
    """
    The undo of ``deployment`` to ``to_revision`` (the previous revision when ``None``).

    Args:
        deployment: The Deployment as read from the API.
        replica_sets: Candidate ReplicaSets; those it does not own are ignored.
        to_revision: The revision to go back to.

    Returns:
        A :class:`Rollback` whose ``deployment`` has the revision's pod template
        and annotations, or a skipped one when the template is already current.

    Raises:
        KubectlError: the revision is not found (see :func:`revision_to_restore`)
            or the Deployment is paused.
    """
    revision, rs = revision_to_restore(deployment, replica_sets, to_revision)
    name = deployment.metadata.name
    if deployment.spec.paused:
        raise KubectlError(
            "you cannot rollback a paused deployment; resume it first with "
            f"'kubectl rollout resume deployment/{name}' and try again"
        )
    if equal_ignore_hash(rs.spec.template, deployment.spec.template):
        return Rollback(
            revision=revision,
            deployment=None,
            message=f"skipped rollback (current template already matches revision {revision})",
        )
    own = deployment.metadata.annotations
    annotations = {k: v for k, v in own.items() if k in ROLLBACK_KEEPS}
    annotations.update(
        (k, v) for k, v in rs.metadata.annotations.items() if k not in ROLLBACK_KEEPS
    )
    restored = attrs.evolve(
        deployment.with_meta(annotations=FrozenDict(annotations)),
        spec=attrs.evolve(deployment.spec, template=without_hash(rs.spec.template)),
    )
    return Rollback(revision=revision, deployment=restored, message="rolled back")
