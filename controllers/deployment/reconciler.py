"""
The Deployment controller's I/O half: claim ReplicaSets, plan, apply the plan.

Expected flow of one reconcile:

1. read the Deployment from the cache (gone: done);
2. claim ReplicaSets (``ClaimReplicaSets``): adopt orphans its selector
   matches, release the ones it controls that no longer match, ignore
   those controlled by others;
3. plan, then apply the plan's writes in order, recording each write's
   event once it succeeded; then the Deployment's annotations, then its
   status; requeue for the progress deadline.

Errors
    A ``ConflictError`` (a stale cached object) propagates: the engine
    retries at once with fresh caches. Creating the new ReplicaSet may hit
    ``AlreadyExistsError``: if the existing one is ours with our template the
    cache merely lags (its add event enqueues us again); otherwise it is a
    hash collision and ``status.collisionCount`` is bumped, which changes the
    next name. Another create failure sets ``Progressing=False``
    (``ReplicaSetCreateError``) and a warning event, then propagates.

Writes to the same ReplicaSet within one plan carry the resource version
returned by the previous write, since the plan already accounts for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import attrs

from controllers.api.apps import Deployment, ReplicaSet
from controllers.api.core import Pod
from controllers.deployment.plan import (
    CreateReplicaSet,
    DeleteReplicaSet,
    Note,
    Plan,
    UpdateReplicaSet,
    plan,
)
from controllers.deployment.progress import (
    PROGRESSING,
    Reason,
    has_progress_deadline,
    new_condition,
    set_condition,
)
from controllers.deployment.util import equal_ignore_hash, is_rolling
from reconcile import (
    INDEX_CONTROLLER,
    AlreadyExistsError,
    ApiError,
    Client,
    Clock,
    ConditionStatus,
    ConflictError,
    EventRecorder,
    NotFoundError,
    ObjectKey,
    OwnWrites,
    Request,
    Resource,
    Result,
    Store,
    Uid,
    controller_of,
    delete_by_uid,
    is_controlled_by,
    owner_reference_to,
    remove_owner_reference,
    set_controller_reference,
)

__all__ = ["DeploymentReconciler", "pod_changed"]

_TERMINAL = frozenset({"Succeeded", "Failed"})


@attrs.frozen
class _PodsByOwner(Mapping[Uid, Sequence[Pod]]):
    """
    The Pod cache seen as ``{ReplicaSet uid: its pods}``, looked up on demand.

    Only Recreate reads it, and only for old ReplicaSets, so a rolling
    Deployment of 10,000 pods never walks its pods.
    """

    pods: Store[Pod]

    def __getitem__(self, uid: Uid) -> Sequence[Pod]:
        return self.pods.by_index(INDEX_CONTROLLER, uid)

    def __iter__(self) -> Iterator[Uid]:
        return (Uid(v) for v in self.pods.index_values(INDEX_CONTROLLER))

    def __len__(self) -> int:
        return len(self.pods.index_values(INDEX_CONTROLLER))


def pod_changed(old: Resource | None, new: Resource | None) -> bool:
    """
    Pod events Recreate can be waiting on: a pod gone, being deleted, or finished.

    Pending and Running count alike as "running" for Recreate, so the
    frequent transitions between them are filtered out here; every other
    pod change reaches the Deployment through its ReplicaSets' status.
    """
    if new is None:
        return True
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        return False
    if old.metadata.deletion_timestamp != new.metadata.deletion_timestamp:
        return True
    return new.status.phase in _TERMINAL and old.status.phase != new.status.phase


class DeploymentReconciler:
    """Reconciles one Deployment per call (see the module docstring)."""

    def __init__(
        self,
        client: Client,
        *,
        deployments: Store[Deployment],
        replica_sets: Store[ReplicaSet],
        pods: Store[Pod],
        clock: Clock,
        recorder: EventRecorder | None = None,
    ) -> None:
        self._client = client
        self._deployments = deployments
        self._replica_sets = replica_sets
        self._pods = pods
        self._clock = clock
        self._recorder = recorder
        # ReplicaSets as our writes left them: a sync right after a write (on a
        # Deployment event) must not count a ReplicaSet at its replaced size.
        self._own: OwnWrites[ReplicaSet] = OwnWrites()

    # -- mappers ---------------------------------------------------------------------------

    def orphan_deployments(self, obj: Resource) -> list[ObjectKey]:
        """For an orphan ReplicaSet: the Deployments whose selector matches it (to adopt it)."""
        if controller_of(obj.metadata) is not None:
            return []
        labels = obj.metadata.labels
        return [
            d.metadata.key
            for d in self._deployments.list(namespace=obj.metadata.namespace)
            if d.spec.selector is not None
            and not d.spec.selector.is_empty
            and d.spec.selector.matches(labels)
        ]

    def recreate_deployment_of(self, obj: Resource) -> list[ObjectKey]:
        """For a pod: its Deployment (through its ReplicaSet), if that rolls out by Recreate."""
        ref = controller_of(obj.metadata)
        if ref is None or ref.kind != "ReplicaSet":
            return []
        namespace = obj.metadata.namespace
        rs = self._replica_sets.get(ObjectKey(namespace=namespace, name=ref.name))
        owner = controller_of(rs.metadata) if rs is not None else None
        if owner is None or owner.kind != "Deployment":
            return []
        key = ObjectKey(namespace=namespace, name=owner.name)
        d = self._deployments.get(key)
        return [key] if d is not None and not is_rolling(d) else []

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        deployment = self._deployments.get(request)
        if deployment is None:
            return Result.done()
        replica_sets = [self._own.fresher(rs) for rs in await self._claim(deployment)]
        decided = plan(deployment, replica_sets, _PodsByOwner(self._pods), now=self._clock.now())
        await self._apply(deployment, decided)
        if decided.requeue_after is None:
            return Result.done()
        return Result.after(decided.requeue_after)

    async def _claim(self, deployment: Deployment) -> list[ReplicaSet]:
        """``ClaimReplicaSets``: what ``deployment`` controls, after adoption and release."""
        meta = deployment.metadata
        selector = deployment.spec.selector
        owned = {
            rs.metadata.name: rs for rs in self._replica_sets.by_index(INDEX_CONTROLLER, meta.uid)
        }
        if selector is None or selector.is_empty:
            return list(owned.values())
        claimed: list[ReplicaSet] = []
        for rs in owned.values():
            if selector.matches(rs.metadata.labels):
                claimed.append(rs)
            elif meta.deletion_timestamp is None:
                released = attrs.evolve(rs, metadata=remove_owner_reference(rs.metadata, meta.uid))
                with contextlib.suppress(NotFoundError):
                    await self._client.update(released)
        if meta.deletion_timestamp is not None:
            return claimed
        for rs in self._replica_sets.list(namespace=meta.namespace, labels=selector):
            if controller_of(rs.metadata) is not None or rs.metadata.deletion_timestamp:
                continue
            adopted = attrs.evolve(
                rs,
                metadata=set_controller_reference(rs.metadata, owner_reference_to(deployment)),
            )
            with contextlib.suppress(NotFoundError):
                claimed.append(await self._client.update(adopted))
        return claimed

    async def _apply(self, deployment: Deployment, decided: Plan) -> None:
        written: dict[str, ReplicaSet] = {}
        for write in decided.writes:
            match write:
                case CreateReplicaSet(replica_set=rs, event=event):
                    try:
                        written[rs.metadata.name] = await self._client.create(rs)
                    except AlreadyExistsError:
                        await self._collision(deployment, rs)
                        return
                    except ConflictError:
                        raise
                    except ApiError as exc:
                        await self._create_failed(deployment, rs, exc)
                        raise
                    await self._record(deployment, event)
                case UpdateReplicaSet(replica_set=rs, event=event):
                    previous = written.get(rs.metadata.name)
                    if previous is not None:
                        rs = attrs.evolve(
                            rs,
                            metadata=attrs.evolve(
                                rs.metadata,
                                uid=previous.metadata.uid,
                                resource_version=previous.metadata.resource_version,
                            ),
                        )
                    written[rs.metadata.name] = await self._client.update(rs)
                    self._own.record(rs, written[rs.metadata.name])
                    await self._record(deployment, event)
                case DeleteReplicaSet(replica_set=rs):
                    await delete_by_uid(self._client, ReplicaSet, rs.metadata.key, rs.metadata.uid)
                    self._own.forget(rs.metadata.key)
        for note in decided.events:
            await self._record(deployment, note)
        current = deployment
        if decided.annotations is not None:
            meta = attrs.evolve(current.metadata, annotations=decided.annotations)
            current = await self._client.update(attrs.evolve(current, metadata=meta))
        if decided.status is not None:
            await self._client.update_status(attrs.evolve(current, status=decided.status))

    async def _collision(self, deployment: Deployment, rs: ReplicaSet) -> None:
        """The new ReplicaSet's name is taken: ours lagging in the cache, or a hash collision."""
        try:
            existing = await self._client.get(ReplicaSet, rs.metadata.key)
        except NotFoundError:
            return  # deleted meanwhile: the next sync creates it
        if is_controlled_by(existing.metadata, deployment.metadata.uid) and equal_ignore_hash(
            existing.spec.template, deployment.spec.template
        ):
            return  # ours: its add event enqueues the Deployment again
        count = (deployment.status.collision_count or 0) + 1
        status = attrs.evolve(deployment.status, collision_count=count)
        await self._client.update_status(attrs.evolve(deployment, status=status))

    async def _create_failed(self, deployment: Deployment, rs: ReplicaSet, exc: ApiError) -> None:
        message = f'Failed to create new replica set "{rs.metadata.name}": {exc}'
        if has_progress_deadline(deployment):
            condition = new_condition(
                PROGRESSING,
                ConditionStatus.FALSE,
                Reason.RS_CREATE_ERROR,
                message,
                now=self._clock.now(),
            )
            status = set_condition(deployment.status, condition)
            with contextlib.suppress(ApiError):
                await self._client.update_status(attrs.evolve(deployment, status=status))
        await self._record(
            deployment, Note(reason=Reason.RS_CREATE_ERROR, message=message, warning=True)
        )

    async def _record(self, deployment: Deployment, note: Note | None) -> None:
        if note is None or self._recorder is None:
            return
        if note.warning:
            await self._recorder.warning(deployment, reason=note.reason, message=note.message)
        else:
            await self._recorder.normal(deployment, reason=note.reason, message=note.message)
