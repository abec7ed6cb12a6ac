"""
The ReplicaSet controller's I/O half: read the caches, decide (pure), write.

One reconcile of a ReplicaSet (Kubernetes' ``syncReplicaSet``):

1. Candidates come from two Pod cache indexes, never a namespace scan: the
   pods it controls (``INDEX_CONTROLLER`` by uid) and the orphans of its
   namespace (:data:`~controllers.replicaset.watches.INDEX_ORPHANS`).
2. Claims are written first with ``update`` on the cached resource version
   (a ``ConflictError`` makes the engine retry at once with a fresh cache).
   Before the first adoption the ReplicaSet is re-read live, so one that was
   just deleted adopts nothing (upstream's ``RecheckDeletionTimestamp``).
3. If :class:`reconcile.Expectations` are satisfied (every pod this
   controller created or deleted has been seen in the cache, or 5 minutes
   passed), pods are created in slow-start batches or deleted concurrently
   by :class:`~controllers.podcontrol.PodControl` (a uid precondition
   leaves a pod replaced under the same name alone). Creations are expected
   before they are issued; creations never issued and deletions that failed
   are taken back at once.
4. The status is written (``update_status``) only when it changed. A
   create or delete failure is then raised, so the engine retries with
   backoff, after the status has recorded ``ReplicaFailure``.
5. With ``minReadySeconds``, the result asks to be run again when the next
   ready pod becomes available.

:class:`~controllers.replicaset.watches.ExpectationsObserver` lowers the
expectations as pods appear, get a deletion timestamp or vanish.

Events on the ReplicaSet, with Kubernetes' reasons and messages:
``SuccessfulCreate`` "Created pod: NAME", ``FailedCreate`` "Error creating:
ERROR", ``SuccessfulDelete`` "Deleted pod: NAME", ``FailedDelete`` "Error
deleting: ERROR".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.namespace import is_terminating_refusal
from controllers.planted import (
    REPLICASET_ADOPTS_OWNED_PODS,
    REPLICASET_DROPS_STATUS_CONFLICT,
    REPLICASET_IGNORES_EXPECTATIONS,
    REPLICASET_NO_MIN_READY_REQUEUE,
)
from controllers.podcontrol import PodControl, StatusWrites, adopt, release
from controllers.replicaset.plan import (
    BURST_REPLICAS,
    claim,
    pod_from_template,
    scale,
    slow_start_batches,
)
from controllers.replicaset.status import calculate_status, next_available_in
from controllers.replicaset.watches import INDEX_ORPHANS
from reconcile import (
    INDEX_CONTROLLER,
    Client,
    Clock,
    ConflictError,
    EventRecorder,
    Expectations,
    ObjectKey,
    Request,
    Result,
    Store,
    controller_of,
    planted,
)

__all__ = ["MIN_SYNC_INTERVAL", "ManageReplicasError", "ReplicaSetReconciler"]

_SLACK = 0.001
"""Seconds added to a requeue so the wake-up lands just after the instant, not on it."""

MIN_SYNC_INTERVAL = 0.001
"""
Seconds between two syncs of one ReplicaSet; a sync asked for sooner is deferred.

A sync reads every pod of the set, and a burst of pod events (10,000 pods
turning ready in one virtual instant) would otherwise run one sync per
handful of events: quadratic work for one up-to-date status. Deferring
coalesces them, as if each sync took a millisecond; nothing is lost, since
the deferred sync reads the cache as it is then.
"""


class ManageReplicasError(Exception):
    """Creating or deleting pods failed; raised once the status is written, for a backoff."""


class ReplicaSetReconciler:
    """
    Keeps each ReplicaSet's pods at ``spec.replicas`` (see the module docstring).

    Args:
        client: Where pods and statuses are written.
        replicasets: The ReplicaSet cache.
        pods: The Pod cache, with the
            :data:`~controllers.replicaset.watches.INDEX_ORPHANS` index.
        expectations: Shared with the
            :class:`~controllers.replicaset.watches.ExpectationsObserver` of the Pod informer.
        clock: The source of ``now``.
        recorder: Receives the pod events; none are recorded without one.
        burst: Most pods created or deleted per sync.
    """

    def __init__(
        self,
        client: Client,
        *,
        replicasets: Store[ReplicaSet],
        pods: Store[Pod],
        expectations: Expectations,
        clock: Clock,
        recorder: EventRecorder | None = None,
        burst: int = BURST_REPLICAS,
    ) -> None:
        self._client = client
        self._replicasets = replicasets
        self._pods = pods
        self._expectations = expectations
        self._clock = clock
        self._recorder = recorder
        self._burst = burst
        self._control = PodControl(client, expectations, recorder)
        self._written = StatusWrites[ReplicaSet]()
        self._synced_at: dict[ObjectKey, float] = {}

    def wrote(self, rs: ReplicaSet) -> bool:
        """Whether ``rs`` (as the cache delivers it) is this reconciler's own last status write."""
        return self._written.wrote(rs)

    async def reconcile(self, request: Request) -> Result:
        rs = self._replicasets.get(request)
        if rs is None:
            self._expectations.forget(request)
            self._written.forget(request)
            self._synced_at.pop(request, None)
            return Result.done()
        if self._expectations.observe_owner(request, rs.metadata.uid):
            self._written.forget(request)  # another ReplicaSet of that name
        started = self._clock.time()
        previous = self._synced_at.get(request)
        # Half an interval of tolerance: a float clock may wake us a hair early.
        if previous is not None and started - previous < MIN_SYNC_INTERVAL / 2:
            return Result.after(MIN_SYNC_INTERVAL)
        self._synced_at[request] = started
        rs = self._written.fresher(request, rs)
        if rs.spec.selector is None:
            return Result.done()  # nothing can match; the API server refuses such sets anyway
        satisfied = self._expectations.satisfied(request)
        if planted(REPLICASET_IGNORES_EXPECTATIONS):
            satisfied = True  # acts on a cache that may not show its last writes yet
        manage = satisfied and rs.metadata.deletion_timestamp is None
        claimed = claim(rs, self._candidates(rs))
        mine = [*claimed.owned]
        if claimed.adopt:
            mine += await adopt(self._client, rs, claimed.adopt, error=ManageReplicasError)
        for pod in claimed.release:
            await release(self._client, rs, pod)
        error: ManageReplicasError | None = None
        if manage:
            change = scale(
                rs, mine, related=self._related(rs), now=self._clock.now(), burst=self._burst
            )
            try:
                if change.create:
                    await self._create(rs, request, change.create)
                elif change.delete:
                    await self._delete(rs, request, change.delete)
            except ManageReplicasError as exc:
                error = exc
        now = self._clock.now()
        status = calculate_status(rs, mine, now=now, error=None if error is None else str(error))
        if status != rs.status:
            try:
                written = await self._client.update_status(attrs.evolve(rs, status=status))
            except ConflictError:
                if not planted(REPLICASET_DROPS_STATUS_CONFLICT):
                    raise
            else:
                self._written.record(request, rs.metadata.resource_version, written)
        if error is not None:
            raise error
        delay = next_available_in(rs, mine, now=now)
        if planted(REPLICASET_NO_MIN_READY_REQUEUE):
            delay = None
        return Result.done() if delay is None else Result.after(delay + _SLACK)

    # -- reading ---------------------------------------------------------------------------

    def _candidates(self, rs: ReplicaSet) -> list[Pod]:
        """The pods ``rs`` controls and the orphans of its namespace: two index look-ups."""
        if planted(REPLICASET_ADOPTS_OWNED_PODS):
            return list(self._pods.list(namespace=rs.metadata.namespace))
        return [
            *self._pods.by_index(INDEX_CONTROLLER, rs.metadata.uid),
            *self._pods.by_index(INDEX_ORPHANS, rs.metadata.namespace),
        ]

    def _related(self, rs: ReplicaSet) -> Iterator[Pod]:
        """
        Pods selected by any ReplicaSet with the same controller as ``rs`` (none without one).

        A generator: only a partial scale-down (the deletion rank) reads it.
        """
        owner = controller_of(rs.metadata)
        if owner is None:
            return
        seen: set[str] = set()
        for sibling in self._replicasets.by_index(INDEX_CONTROLLER, owner.uid):
            selector = sibling.spec.selector
            if selector is None or sibling.metadata.namespace != rs.metadata.namespace:
                continue
            for pod in self._pods.list(namespace=rs.metadata.namespace, labels=selector):
                if pod.metadata.uid not in seen:
                    seen.add(pod.metadata.uid)
                    yield pod

    # -- scaling ---------------------------------------------------------------------------

    async def _create(self, rs: ReplicaSet, key: ObjectKey, count: int) -> None:
        self._expectations.expect_creations(key, count)
        pod = pod_from_template(rs)  # one immutable value serves every create
        # A namespace being deleted refuses every create; it takes the set away anyway.
        _, errors = await self._control.create(
            rs, key, [pod] * count, batches=slow_start_batches(count), ignore=is_terminating_refusal
        )
        if errors:
            raise ManageReplicasError(str(errors[0])) from errors[0]

    async def _delete(self, rs: ReplicaSet, key: ObjectKey, victims: Sequence[Pod]) -> None:
        self._expectations.expect_deletions(key, [p.metadata.uid for p in victims])
        errors = await self._control.delete(rs, key, victims)
        if errors:
            raise ManageReplicasError(str(errors[0])) from errors[0]
