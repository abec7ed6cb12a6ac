"""
The namespace lifecycle controller, like kube-controller-manager's.

Deleting a namespace empties it: the controller marks it ``Terminating``,
deletes every object of the given namespaced kinds in it (background
propagation), waits for objects held by their own finalizers, then removes
``kubernetes`` from its ``spec.finalizers`` (see :mod:`controllers.namespace.plan`
for the decisions, :mod:`controllers.namespace.reconciler` for their application).

:func:`install_admission` provides what Kubernetes' API server does for
namespaces:

* a mutator adding ``kubernetes`` to ``spec.finalizers`` on create only
  (admission defaulters also run on update, which would undo the
  controller's removal of it). The
  memory cluster only keeps objects for their ``metadata.finalizers``, so the
  hooks mirror that spec finalizer there, and drop the mirror on the update
  that removes it from the spec (the API server's namespace strategy);
* with a ``read`` function (:func:`reader` for a MemoryCluster), a validator
  refusing to create objects of the given kinds in a namespace being
  terminated (the ``NamespaceLifecycle`` admission plugin).

Expected flow::

    cluster = reconcile.MemoryCluster(clock=clock)
    namespace.install_admission(cluster.admission, KINDS, read=namespace.reader(cluster))
    manager = reconcile.Manager(cluster, clock=clock)
    namespace.setup(manager, KINDS)
    async with manager: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

import reconcile
from controllers.api import Namespace
from controllers.namespace.plan import (
    FINALIZER_KUBERNETES,
    PHASE_ACTIVE,
    PHASE_TERMINATING,
    Delete,
    Plan,
    plan,
)
from controllers.namespace.reconciler import Terminator, apply

__all__ = [
    "FINALIZER_KUBERNETES",
    "PHASE_ACTIVE",
    "PHASE_TERMINATING",
    "Delete",
    "Plan",
    "Terminator",
    "apply",
    "install_admission",
    "is_terminating_refusal",
    "plan",
    "reader",
    "setup",
]

NamespaceReader = Callable[[str], Namespace | None]


def _namespaced(kinds: Sequence[type[reconcile.Resource]]) -> list[type[reconcile.Resource]]:
    return [k for k in dict.fromkeys(kinds) if reconcile.kind_of(k).namespaced]


def _deleted(old: reconcile.Resource | None, new: reconcile.Resource | None) -> bool:
    return new is None


def setup(
    manager: reconcile.Manager, kinds: Sequence[type[reconcile.Resource]], *, delay: float = 2.0
) -> reconcile.Controller[Namespace]:
    """Add the namespace controller, emptying namespaces of ``kinds``, to ``manager``."""
    kinds = _namespaced(kinds)
    namespaces = manager.store(Namespace)

    def namespace_of(obj: reconcile.Resource) -> list[reconcile.ObjectKey]:
        """
        The object's namespace, when that namespace is being deleted.

        Only a terminating namespace waits for its content; every other one
        has nothing to do with the (very many) writes made inside it.
        """
        key = reconcile.ObjectKey(namespace="", name=obj.metadata.namespace)
        ns = namespaces.get(key)
        return [key] if ns is not None and ns.metadata.deleting else []

    # A terminating namespace waits for deletions (and looks again every
    # ``delay`` seconds): creates and updates of its content cannot finish it.
    watches = [
        reconcile.Watch(
            kind=k, mapper=reconcile.enqueue_mapped(namespace_of), predicates=(_deleted,)
        )
        for k in kinds
    ]
    terminator = Terminator(manager.client, namespaces, kinds, delay=delay)
    controller: reconcile.Controller[Namespace] = reconcile.Controller(
        name="namespace", reconciler=terminator, for_=Namespace, watches=watches
    )
    return manager.add(controller)


def _mirror(new: Namespace, old: Namespace | None, op: reconcile.Operation) -> Namespace:
    """Add ``kubernetes`` on create; keep it in ``metadata.finalizers`` while the spec has it."""
    if op is reconcile.Operation.CREATE and FINALIZER_KUBERNETES not in new.spec.finalizers:
        spec = attrs.evolve(new.spec, finalizers=(*new.spec.finalizers, FINALIZER_KUBERNETES))
        new = attrs.evolve(new, spec=spec)
    meta = new.metadata
    if FINALIZER_KUBERNETES in new.spec.finalizers:
        if not meta.deleting and (old is None or not old.metadata.deleting):
            meta = reconcile.add_finalizer(meta, FINALIZER_KUBERNETES)
    else:
        meta = reconcile.remove_finalizer(meta, FINALIZER_KUBERNETES)
    return new if meta is new.metadata else attrs.evolve(new, metadata=meta)


def reader(cluster: reconcile.MemoryCluster) -> NamespaceReader:
    """A synchronous read of ``cluster``'s current namespace by name (``None`` if absent)."""

    def read(name: str) -> Namespace | None:
        try:
            return cluster.get_nowait(Namespace, name)
        except reconcile.NotFoundError:
            return None

    return read


def _lifecycle(
    read: NamespaceReader,
) -> Callable[
    [reconcile.Resource, reconcile.Resource | None, reconcile.Operation],
    list[reconcile.FieldError],
]:
    def validate(
        new: reconcile.Resource, old: reconcile.Resource | None, op: reconcile.Operation
    ) -> list[reconcile.FieldError]:
        if op is not reconcile.Operation.CREATE:
            return []
        name = new.metadata.namespace
        ns = read(name) if name else None
        if ns is None or not (ns.metadata.deleting or ns.status.phase == PHASE_TERMINATING):
            return []
        detail = f"unable to create new content in namespace {name} because {_TERMINATING}"
        return [reconcile.FieldError(field="metadata.namespace", type="Forbidden", detail=detail)]

    return validate


_TERMINATING = "it is being terminated"


def is_terminating_refusal(exc: reconcile.ApiError) -> bool:
    """
    Whether a create was refused because its namespace is being deleted.

    Controllers that create objects (pods, Jobs) treat this refusal as
    expected rather than as a failure: the namespace and all in it are going.
    """
    return isinstance(exc, reconcile.InvalidError) and any(
        cause.field == "metadata.namespace" and _TERMINATING in cause.detail for cause in exc.causes
    )


def install_admission(
    admission: reconcile.Admission,
    kinds: Sequence[type[reconcile.Resource]] = (),
    *,
    read: NamespaceReader | None = None,
) -> None:
    """
    Register the namespace mutator, and with ``read`` the lifecycle validator for ``kinds``.

    Raises:
        ValueError: if ``kinds`` has namespaced kinds but ``read`` is missing.
    """
    admission.register(Namespace, mutator=_mirror)
    kinds = _namespaced(kinds)
    if not kinds:
        return
    if read is None:
        raise ValueError("read: needed to refuse content in terminating namespaces")
    validate = _lifecycle(read)
    for kind in kinds:
        admission.register(kind, validator=validate)
