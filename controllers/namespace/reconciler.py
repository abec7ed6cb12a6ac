"""
The namespace controller's I/O half: read, call :func:`~controllers.namespace.plan.plan`, apply.

The namespace comes from the informer cache. Its content is listed live from
the API server (``client.list`` per kind): the caches of different kinds are
not synchronised with each other, and finalizing a namespace on a cache that
has not yet seen a fresh object would leave that object behind, as
kube-controller-manager's namespace controller avoids by listing too.

Applying is idempotent: deletes carry a uid precondition, and ``NotFound``
or a uid conflict means the object is already gone. The phase and the
finalizer are written from the namespace just read, with its resource
version; a ``ConflictError`` requeues the namespace after :attr:`Terminator.delay`.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

import reconcile
from controllers.api import Namespace
from controllers.namespace.plan import FINALIZER_KUBERNETES, Plan, plan
from reconcile import (
    Client,
    ConflictError,
    NotFoundError,
    Propagation,
    Resource,
    delete_by_uid,
)

__all__ = ["Terminator", "apply"]


async def apply(client: Client, namespace: Namespace, actions: Plan) -> Namespace:
    """Apply ``actions`` to ``namespace`` and its content; returns the namespace as written."""
    if actions.phase is not None:
        status = attrs.evolve(namespace.status, phase=actions.phase)
        namespace = await client.update_status(attrs.evolve(namespace, status=status))
    for delete in actions.deletes:
        # Gone already, or recreated under the same name: not ours to delete.
        await delete_by_uid(
            client, delete.kind, delete.key, delete.uid, propagation=Propagation.BACKGROUND
        )
    if actions.finalize:
        kept = tuple(f for f in namespace.spec.finalizers if f != FINALIZER_KUBERNETES)
        spec = attrs.evolve(namespace.spec, finalizers=kept)
        await client.update(attrs.evolve(namespace, spec=spec))
    return namespace


@attrs.frozen
class Terminator:
    """The :class:`~reconcile.Reconciler` that empties and finalizes deleted namespaces."""

    client: Client
    namespaces: reconcile.Store[Namespace]
    kinds: Sequence[type[Resource]]
    delay: float = 2.0
    """Seconds between checks while content with its own finalizers remains."""

    async def reconcile(self, request: reconcile.Request) -> reconcile.Result:
        namespace = self.namespaces.get(request)
        if namespace is None or not namespace.metadata.deleting:
            return reconcile.Result.done()
        content: list[Resource] = []
        for kind in self.kinds:
            listed = await self.client.list(kind, namespace=namespace.metadata.name)
            content.extend(listed.items)
        actions = plan(namespace, content)
        try:
            await apply(self.client, namespace, actions)
        except (ConflictError, NotFoundError):
            return reconcile.Result.after(self.delay)  # the cache lags: read it again
        if actions.waiting:
            return reconcile.Result.after(self.delay)
        return reconcile.Result.done()
