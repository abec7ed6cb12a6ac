"""
Creating and deleting an owner's pods, with events and expectations.

Kubernetes: ``RealPodControl`` and ``slowStartBatch`` in
pkg/controller/controller_utils.go and pkg/controller/replicaset/replica_set.go.
The caller expects the creations or deletions on its
:class:`reconcile.Expectations` before calling (each controller raises its
record in its own way); :class:`PodControl` takes back what the informer
will never see: creations never issued or refused, and deletions that
failed or were moot.

Events on the owner, with Kubernetes' reasons and messages:
``SuccessfulCreate`` "Created pod: NAME", ``FailedCreate`` "Error creating:
ERROR", ``SuccessfulDelete`` "Deleted pod: NAME", ``FailedDelete`` "Error
deleting: ERROR".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Sequence

import attrs

from controllers.api.core import Pod
from reconcile import (
    ApiError,
    Client,
    EventRecorder,
    Expectations,
    ObjectKey,
    Resource,
    delete_by_uid,
)

__all__ = ["PodControl", "concurrently"]


def _never(exc: ApiError) -> bool:
    return False


@attrs.frozen
class PodControl:
    """
    Creates and deletes the pods of owners keyed in one :class:`reconcile.Expectations`.

    Args:
        client: Where pods are written.
        expectations: The owners' expectations, shared with their
            :class:`~controllers.podcontrol.expectations.PodExpectationsObserver`.
        recorder: Receives the events on the owner; none are recorded without one.
    """

    client: Client
    expectations: Expectations
    recorder: EventRecorder | None = None

    async def create(
        self,
        owner: Resource,
        key: ObjectKey,
        pods: Sequence[Pod],
        *,
        batches: Iterable[int],
        ignore: Callable[[ApiError], bool] = _never,
    ) -> tuple[int, list[Exception]]:
        """
        Create ``pods`` in ``batches`` (each concurrently), stopping after a batch with a failure.

        The caller has expected ``len(pods)`` creations of ``key``; those
        never issued or refused are lowered here. An error ``ignore``
        accepts counts as a creation and records no event (the caller knows
        why it is harmless). ``batches`` must sum to ``len(pods)``.

        Returns:
            How many pods were not created, and the errors of the failed batch.
        """
        created = 0
        errors: list[Exception] = []
        for size in batches:
            batch = pods[created : created + size]
            errors = await concurrently([self.create_one(owner, pod, ignore) for pod in batch])
            created += size - len(errors)
            if errors:
                break
        missing = len(pods) - created
        if missing:
            # Never issued or refused: the informer will not see these.
            self.expectations.lower_expectations(key, creations=missing)
        return missing, errors

    async def create_one(
        self, owner: Resource, pod: Pod, ignore: Callable[[ApiError], bool] = _never
    ) -> Exception | None:
        """Create ``pod`` and record the event; the error, unless ``ignore`` accepts it."""
        try:
            new = await self.client.create(pod)
        except ApiError as exc:
            if ignore(exc):
                return None
            if self.recorder is not None:
                await self.recorder.warning(
                    owner, reason="FailedCreate", message=f"Error creating: {exc}"
                )
            return exc
        if self.recorder is not None:
            await self.recorder.normal(
                owner, reason="SuccessfulCreate", message=f"Created pod: {new.metadata.name}"
            )
        return None

    async def delete(self, owner: Resource, key: ObjectKey, pods: Sequence[Pod]) -> list[Exception]:
        """Delete ``pods`` concurrently (see :meth:`delete_one`); the errors, in order."""
        return await concurrently([self.delete_one(owner, key, pod) for pod in pods])

    async def delete_one(
        self, owner: Resource, key: ObjectKey, pod: Pod, *, failure_event: bool = True
    ) -> Exception | None:
        """
        Delete ``pod`` if it still has its uid; the error, if the deletion failed.

        A pod already gone, or replaced by one of the same name, is no error; a
        conflict that leaves it in place is one (the caller's sync is retried).
        Unless the deletion succeeded, its expected deletion is taken back.
        ``failure_event=False`` records no ``FailedDelete`` (the Job controller's way).
        """
        uid = pod.metadata.uid
        try:
            deleted = await delete_by_uid(self.client, Pod, pod.metadata.key, uid)
        except ApiError as exc:
            self.expectations.deletion_observed(key, uid)
            if failure_event and self.recorder is not None:
                await self.recorder.warning(
                    owner, reason="FailedDelete", message=f"Error deleting: {exc}"
                )
            return exc
        if not deleted:
            # Gone, or replaced by a pod of the same name: the planned deletion is moot.
            self.expectations.deletion_observed(key, uid)
        elif self.recorder is not None:
            await self.recorder.normal(
                owner, reason="SuccessfulDelete", message=f"Deleted pod: {pod.metadata.name}"
            )
        return None


async def concurrently(calls: list[Coroutine[None, None, Exception | None]]) -> list[Exception]:
    """Await ``calls`` concurrently; the errors they returned, in call order."""
    if not calls:
        return []
    if len(calls) == 1:  # the first slow-start batch: no task needed
        error = await calls[0]
        return [] if error is None else [error]
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(call) for call in calls]
    return [e for e in (t.result() for t in tasks) if e is not None]
