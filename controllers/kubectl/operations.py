"""
kubectl's workload verbs as async functions over a :class:`reconcile.Client`.

Every write is a read-edit-write with the read's ``resourceVersion`` as
precondition: a concurrent writer makes the update fail with
``ConflictError``, and the function reads again and reapplies its edit (up
to five times). Edits are the pure functions of
:mod:`controllers.kubectl.edits` and :mod:`controllers.kubectl.rollback`;
an edit that changes nothing writes nothing.

``change_cause`` records ``kubernetes.io/change-cause`` on the object in
the same write, as ``kubectl annotate`` (or the former ``--record``) would;
the Deployment controller copies it to the ReplicaSet of the revision, so
``rollout history`` shows it. It is recorded only when the edit changes
something.

*Errors*: ``NotFoundError`` when the object is absent, ``ConflictError``
when every attempt lost a race, ``InvalidError`` when the server refuses the
result, :class:`~controllers.kubectl.errors.KubectlError` when kubectl
would refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TypeVar

from controllers.api.apps import DaemonSet, Deployment, ReplicaSet
from controllers.kubectl.edits import (
    with_change_cause,
    with_images,
    with_paused,
    with_replicas,
    with_restart,
)
from controllers.kubectl.errors import KubectlError
from controllers.kubectl.history import HistoryEntry, rollout_history
from controllers.kubectl.rollback import Rollback, plan_rollback
from controllers.kubectl.status import RolloutStatus, rollout_status
from reconcile import (
    Client,
    ConflictError,
    EventType,
    ExpiredError,
    FieldSelector,
    ObjectKey,
    Reader,
    Resource,
)

__all__ = [
    "history",
    "pause",
    "restart",
    "resume",
    "scale",
    "set_image",
    "status",
    "undo",
    "watch_rollout",
]

R = TypeVar("R", bound=Resource)

_ATTEMPTS = 5


async def _edit(
    client: Client, kind: type[R], namespace: str, name: str, edit: Callable[[R], R]
) -> R:
    """Read, edit and write back with the read's resourceVersion; retry on conflict."""
    key = ObjectKey(namespace=namespace, name=name)
    for attempt in range(_ATTEMPTS):
        current = await client.get(kind, key)
        changed = edit(current)
        if changed == current:
            return current
        try:
            return await client.update(changed)
        except ConflictError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _recorded(edit: Callable[[R], R], change_cause: str | None) -> Callable[[R], R]:
    def recorded(obj: R) -> R:
        changed = edit(obj)
        return changed if changed == obj else with_change_cause(changed, change_cause)

    return recorded


async def scale(
    client: Client,
    kind: type[R],
    namespace: str,
    name: str,
    replicas: int,
    *,
    current_replicas: int | None = None,
    change_cause: str | None = None,
) -> R:
    """
    Set ``spec.replicas`` of a Deployment or ReplicaSet (``kubectl scale``); returns it as stored.

    ``current_replicas`` is kubectl's ``--current-replicas`` precondition.
    """
    return await _edit(
        client,
        kind,
        namespace,
        name,
        _recorded(lambda obj: with_replicas(obj, replicas, current=current_replicas), change_cause),
    )


async def set_image(
    client: Client,
    kind: type[R],
    namespace: str,
    name: str,
    images: Mapping[str, str],
    *,
    change_cause: str | None = None,
) -> R:
    """
    Replace container images by container name (``kubectl set image``); returns the object.

    See :func:`~controllers.kubectl.edits.with_images` for the kinds and the
    ``*`` wildcard; nothing is written when a container is unknown.
    """
    return await _edit(
        client, kind, namespace, name, _recorded(lambda obj: with_images(obj, images), change_cause)
    )


async def pause(client: Client, namespace: str, name: str) -> Deployment:
    """Pause a Deployment's rollouts (``rollout pause``); an error if already paused."""
    return await _edit(client, Deployment, namespace, name, lambda d: with_paused(d, True))


async def resume(client: Client, namespace: str, name: str) -> Deployment:
    """Resume a paused Deployment (``rollout resume``); an error if it is not paused."""
    return await _edit(client, Deployment, namespace, name, lambda d: with_paused(d, False))


async def restart(
    client: Client, kind: type[R], namespace: str, name: str, *, now: dt.datetime
) -> R:
    """
    Replace every pod of a Deployment or DaemonSet (``rollout restart``).

    ``now`` (from the caller's clock) becomes the pod template's
    ``kubectl.kubernetes.io/restartedAt`` annotation.
    """
    return await _edit(client, kind, namespace, name, lambda obj: with_restart(obj, now))


async def _replica_sets(client: Reader, deployment: Deployment) -> list[ReplicaSet]:
    if deployment.spec.selector is None:
        return []
    listed = await client.list(
        ReplicaSet, namespace=deployment.metadata.namespace, labels=deployment.spec.selector
    )
    return list(listed.items)


async def history(client: Reader, namespace: str, name: str) -> list[HistoryEntry]:
    """The revisions of a Deployment, oldest first (``rollout history``)."""
    deployment = await client.get(Deployment, ObjectKey(namespace=namespace, name=name))
    return rollout_history(deployment, await _replica_sets(client, deployment))


async def undo(
    client: Client, namespace: str, name: str, *, to_revision: int | None = None
) -> Rollback:
    """
    Roll a Deployment back to ``to_revision``, or to the previous revision (``rollout undo``).

    Returns the :class:`~controllers.kubectl.rollback.Rollback`, its
    ``deployment`` as stored (``None`` when skipped). See
    :func:`~controllers.kubectl.rollback.plan_rollback` for the errors.
    """
    key = ObjectKey(namespace=namespace, name=name)
    for attempt in range(_ATTEMPTS):
        deployment = await client.get(Deployment, key)
        plan = plan_rollback(
            deployment, await _replica_sets(client, deployment), to_revision=to_revision
        )
        if plan.deployment is None:
            return plan
        try:
            stored = await client.update(plan.deployment)
        except ConflictError:
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return Rollback(revision=plan.revision, deployment=stored, message=plan.message)
    raise AssertionError("unreachable")  # pragma: no cover


async def status(
    client: Reader,
    namespace: str,
    name: str,
    *,
    kind: type[Deployment] | type[DaemonSet] = Deployment,
    revision: int | None = None,
) -> RolloutStatus:
    """The rollout status of a Deployment or DaemonSet now (``rollout status --watch=false``)."""
    obj = await client.get(kind, ObjectKey(namespace=namespace, name=name))
    return rollout_status(obj, revision=revision)


async def watch_rollout(
    client: Client,
    namespace: str,
    name: str,
    *,
    kind: type[Deployment] | type[DaemonSet] = Deployment,
    revision: int | None = None,
) -> AsyncGenerator[RolloutStatus, None]:
    """
    Yield the rollout status on every change of the object, as ``rollout status`` prints it.

    *Expected flow*: the first status describes the object as it is now;
    one more follows each write to it (so messages repeat); iteration ends
    after a status that is ``done`` or ``failed`` (or if the server ends the
    watch). There is no timeout: wrap the loop in ``asyncio.timeout``.

    *Errors*: ``NotFoundError`` if the object does not exist at the start;
    :class:`KubectlError` (``object has been deleted``) if it goes away;
    whatever :func:`~controllers.kubectl.status.rollout_status` raises.
    An expired watch is restarted.
    """
    await client.get(kind, ObjectKey(namespace=namespace, name=name))
    fields = FieldSelector.parse(f"metadata.name={name}")
    while True:
        events = client.watch(kind, namespace=namespace, fields=fields)
        try:
            async for event in events:
                if event.type is EventType.DELETED:
                    raise KubectlError("object has been deleted")
                if event.object is None or event.type is EventType.BOOKMARK:
                    continue
                current = rollout_status(event.object, revision=revision)
                yield current
                if current.finished:
                    return
        except ExpiredError:
            continue
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        return
