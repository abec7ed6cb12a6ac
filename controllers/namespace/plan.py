"""
The namespace controller's pure planner: a namespace and its content in, frozen ``Plan`` out.

No I/O and no clock. For a namespace that is not being deleted nothing is
planned. For one being deleted (``deletionTimestamp`` set), as
kube-controller-manager's namespace controller does:

* its ``status.phase`` becomes ``Terminating``;
* every object in it that is not already being deleted is deleted, in the
  background, with the uid precondition of the object it was planned for;
* objects already being deleted (held by their own finalizers) are waited for;
* once nothing is left in it, ``kubernetes`` is removed from its
  ``spec.finalizers``, which lets the API server remove it. A namespace
  without that finalizer (created without :func:`~controllers.namespace.install_admission`)
  is emptied all the same, and nothing is finalized.

Objects outside the namespace, and cluster-scoped ones, are never touched,
whatever the caller passes in as content.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controllers.api import Namespace
from reconcile import ObjectKey, Resource, Uid, kind_of

__all__ = ["FINALIZER_KUBERNETES", "PHASE_ACTIVE", "PHASE_TERMINATING", "Delete", "Plan", "plan"]

FINALIZER_KUBERNETES = "kubernetes"
PHASE_ACTIVE = "Active"
PHASE_TERMINATING = "Terminating"


@attrs.frozen(kw_only=True)
class Delete:
    """Delete one object in the background, only if it still has ``uid``."""

    kind: type[Resource]
    key: ObjectKey
    uid: Uid


@attrs.frozen(kw_only=True)
class Plan:
    """What to do for one namespace, applied in field order."""

    phase: str | None = None
    """The ``status.phase`` to write, or ``None`` to leave it."""
    deletes: tuple[Delete, ...] = ()
    waiting: bool = False
    """Content remains: check again later."""
    finalize: bool = False
    """Remove ``kubernetes`` from ``spec.finalizers``."""

    def __bool__(self) -> bool:
        return self.phase is not None or bool(self.deletes) or self.waiting or self.finalize


def contained(namespace: Namespace, obj: Resource) -> bool:
    """Whether ``obj`` is a namespaced object living in ``namespace``."""
    return (
        kind_of(type(obj)).namespaced
        and obj.metadata.namespace == namespace.metadata.name
        and bool(namespace.metadata.name)
    )


def plan(namespace: Namespace, content: Iterable[Resource]) -> Plan:
    """What the controller does for ``namespace``, given (at least) the objects in it."""
    if not namespace.metadata.deleting:
        return Plan()
    inside = [obj for obj in content if contained(namespace, obj)]
    inside.sort(key=lambda o: (kind_of(type(o)).kind, o.metadata.name))
    deletes = tuple(
        Delete(kind=type(obj), key=obj.metadata.key, uid=obj.metadata.uid)
        for obj in inside
        if not obj.metadata.deleting
    )
    phase = None if namespace.status.phase == PHASE_TERMINATING else PHASE_TERMINATING
    finalize = not inside and FINALIZER_KUBERNETES in namespace.spec.finalizers
    return Plan(phase=phase, deletes=deletes, waiting=bool(inside), finalize=finalize)
