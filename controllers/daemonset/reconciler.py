"""
The DaemonSet controller's I/O half: read the caches, decide (pure), write.

One reconcile of a DaemonSet (Kubernetes' ``syncDaemonSet``):

1. A DaemonSet being deleted is left alone (the garbage collector removes
   its pods and revisions).
2. Candidate pods come from two Pod cache indexes (those it controls, the
   orphans of its namespace); claims are written first, as the ReplicaSet
   controller writes them (adoption re-reads the DaemonSet live first).
3. The revision history is brought up to date
   (:mod:`~controllers.daemonset.history`): the current revision exists
   and holds the highest number. Its hash labels the pods created now.
4. If :class:`reconcile.Expectations` are not satisfied, only the status is
   written (without ``observedGeneration``). Otherwise
   :func:`~controllers.daemonset.plan.manage` runs, and when it had nothing
   to do, the rolling update; :class:`~controllers.podcontrol.PodControl`
   issues their creates in slow-start batches (each batch concurrently,
   stopping after a batch with a failure) and their deletes concurrently,
   with a uid precondition. Then old revisions over the limit are deleted.
5. The status is written (``update_status``) when it changed; a failed
   write of pods is raised afterwards, for a backoff. The result asks to
   run again when a ready pod becomes available or a failed pod's back-off
   ends.

Events on the DaemonSet, with Kubernetes' reasons and messages:
``SuccessfulCreate`` "Created pod: NAME", ``FailedCreate`` "Error creating:
ERROR", ``SuccessfulDelete`` "Deleted pod: NAME", ``FailedDelete`` "Error
deleting: ERROR", ``FailedDaemonPod`` "Found failed daemon pod NS/NAME on
node NODE, will try to kill it", ``SucceededDaemonPod`` "Found succeeded
daemon pod NS/NAME on node NODE, will try to delete it", ``SelectingAll``
"This daemon set is selecting all pods. A non-empty selector is required.".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from controllers.api.apps import ControllerRevision, DaemonSet
from controllers.api.core import Node, Pod
from controllers.daemonset.backoff import FailureBackoff
from controllers.daemonset.history import HistoryKeeper
from controllers.daemonset.nodes import Eligibility, daemon_pod
from controllers.daemonset.plan import (
    BURST_REPLICAS,
    Manage,
    claim,
    judge_nodes,
    manage,
    pods_by_node,
    settled_pods,
)
from controllers.daemonset.revisions import history_to_delete
from controllers.daemonset.rolling import is_rolling_update, rolling_update
from controllers.daemonset.status import calculate_status, next_available_in
from controllers.podcontrol import PodControl, StatusWrites, adopt, release
from controllers.replicaset import INDEX_ORPHANS, slow_start_batches
from reconcile import (
    INDEX_CONTROLLER,
    AlreadyExistsError,
    Client,
    Clock,
    EventRecorder,
    Expectations,
    ObjectKey,
    Request,
    Result,
    Store,
)

__all__ = ["MIN_SYNC_INTERVAL", "DaemonSetReconciler", "SyncNodesError"]

_SLACK = 0.001
"""Seconds added to a requeue so the wake-up lands just after the instant, not on it."""

MIN_SYNC_INTERVAL = 0.001
"""
Seconds between two syncs of one DaemonSet; a sync asked for sooner is deferred.

A sync judges every node, and a burst of pod events in one virtual instant
(a thousand daemon pods turning ready) would otherwise cost a sync each.
"""


_SELECTING_ALL = "This daemon set is selecting all pods. A non-empty selector is required."


class SyncNodesError(Exception):
    """Creating or deleting daemon pods failed; raised once the status is written, for a backoff."""


class DaemonSetReconciler:
    """
    Keeps one daemon pod on every eligible node (see the module docstring).

    Args:
        client: Where pods, revisions and statuses are written.
        daemonsets: The DaemonSet cache.
        pods: The Pod cache, with the ``replicaset.orphans`` index.
        nodes: The Node cache.
        revisions: The ControllerRevision cache.
        expectations: Shared with the Pod informer's
            :class:`~controllers.daemonset.watches.ExpectationsObserver`.
        clock: The source of ``now``.
        recorder: Receives the events; none are recorded without one.
        burst: Most pods created, and most deleted, per sync.
    """

    def __init__(
        self,
        client: Client,
        *,
        daemonsets: Store[DaemonSet],
        pods: Store[Pod],
        nodes: Store[Node],
        revisions: Store[ControllerRevision],
        expectations: Expectations,
        clock: Clock,
        recorder: EventRecorder | None = None,
        burst: int = BURST_REPLICAS,
    ) -> None:
        self._client = client
        self._daemonsets = daemonsets
        self._pods = pods
        self._nodes = nodes
        self._expectations = expectations
        self._clock = clock
        self._recorder = recorder
        self._burst = burst
        self._control = PodControl(client, expectations, recorder)
        self._history = HistoryKeeper(client, revisions=revisions)
        # Per DaemonSet: the observed generation the entries belong to, and the
        # entries by node. Kubernetes keys its back-off by uid, observed
        # generation and node, so a new template starts every node afresh.
        self._backoff: dict[ObjectKey, tuple[int, dict[str, FailureBackoff]]] = {}
        self._written = StatusWrites[DaemonSet]()
        self._synced_at: dict[ObjectKey, float] = {}

    def wrote(self, ds: DaemonSet) -> bool:
        """Whether ``ds`` (as the cache delivers it) is this reconciler's own last status write."""
        return self._written.wrote(ds)

    def backoff(self, key: ObjectKey) -> dict[str, FailureBackoff]:
        """The failed-pod back-off of each node for the DaemonSet ``key`` (a copy)."""
        return dict(self._backoff.get(key, (0, {}))[1])

    async def reconcile(self, request: Request) -> Result:
        ds = self._daemonsets.get(request)
        if ds is None:
            self._expectations.forget(request)
            self._backoff.pop(request, None)
            self._written.forget(request)
            self._synced_at.pop(request, None)
            return Result.done()
        if self._expectations.observe_owner(request, ds.metadata.uid):
            self._written.forget(request)  # another DaemonSet of that name
        started = self._clock.time()
        previous = self._synced_at.get(request)
        if previous is not None and started - previous < MIN_SYNC_INTERVAL / 2:
            return Result.after(MIN_SYNC_INTERVAL)
        self._synced_at[request] = started
        ds = self._written.fresher(request, ds)
        if ds.spec.selector is None or ds.metadata.deletion_timestamp is not None:
            return Result.done()
        if ds.spec.selector.is_empty:  # the API server refuses these; a bare MemoryCluster may not
            await self._warn_selecting_all(ds)
            return Result.done()
        claimed = claim(ds, self._candidates(ds))
        mine = [*claimed.owned]
        if claimed.adopt:
            mine += await adopt(self._client, ds, claimed.adopt, error=SyncNodesError)
        for pod in claimed.release:
            await release(self._client, ds, pod)
        ds, hash_, old = await self._history.sync(ds)
        verdicts = judge_nodes(ds, self._nodes.list())
        should_run = {name: v.should_run for name, v in verdicts.items()}
        groups = pods_by_node(mine)
        error: SyncNodesError | None = None
        retry: float | None = None
        observe = self._expectations.satisfied(request)
        settled = settled_pods(groups)
        if observe:
            try:
                retry = await self._manage(ds, request, verdicts, settled, hash_=hash_)
            except SyncNodesError as exc:
                error = exc  # the history waits for a sync whose writes all succeed
            else:
                for revision in history_to_delete(ds, old, mine):
                    await self._history.delete(revision)
        now = self._clock.now()
        status = calculate_status(ds, settled, should_run, hash_=hash_, now=now, observe=observe)
        if status != ds.status:
            written = await self._client.update_status(attrs.evolve(ds, status=status))
            self._written.record(request, ds.metadata.resource_version, written)
        if error is not None:
            raise error
        delays = [d for d in (retry, next_available_in(ds, settled, now=now)) if d]
        return Result.after(min(delays) + _SLACK) if delays else Result.done()

    async def _warn_selecting_all(self, ds: DaemonSet) -> None:
        if self._recorder is not None:
            await self._recorder.warning(ds, reason="SelectingAll", message=_SELECTING_ALL)

    async def _manage(
        self,
        ds: DaemonSet,
        key: ObjectKey,
        verdicts: Mapping[str, Eligibility],
        settled: Mapping[str, Sequence[Pod]],
        *,
        hash_: str,
    ) -> float | None:
        """
        The manage step, then (when it had nothing to do) the rolling update.

        Both see ``settled``: a finished pod being deleted no longer occupies
        its node (Kubernetes' ``getNodesToDaemonPods`` without
        ``includeDeletedTerminal``).

        Returns when a failed pod's back-off ends, if one holds a pod.

        Raises:
            SyncNodesError: creating or deleting some pod failed.
        """
        now = self._clock.now()
        generation, backoff = self._backoff.get(key, (0, {}))
        if generation != ds.status.observed_generation:
            backoff = {}
        step = manage(
            ds, verdicts, settled, hash_=hash_, now=now, backoff=backoff, burst=self._burst
        )
        if step.backoff:
            self._backoff[key] = (ds.status.observed_generation, {**backoff, **step.backoff})
        await self._report_finished(ds, step)
        create, delete = step.create, step.delete
        if step.empty and is_rolling_update(ds):
            should_run = {name: v.should_run for name, v in verdicts.items()}
            rollout = rolling_update(ds, settled, should_run, hash_=hash_, now=now)
            create, delete = rollout.create[: self._burst], rollout.delete[: self._burst]
        await self._sync_nodes(ds, key, create, delete, hash_)
        return step.retry_after

    # -- reading ---------------------------------------------------------------------------

    def _candidates(self, ds: DaemonSet) -> list[Pod]:
        """The pods ``ds`` controls and the orphans of its namespace: two index look-ups."""
        return [
            *self._pods.by_index(INDEX_CONTROLLER, ds.metadata.uid),
            *self._pods.by_index(INDEX_ORPHANS, ds.metadata.namespace),
        ]

    # -- writing ---------------------------------------------------------------------------

    async def _report_finished(self, ds: DaemonSet, step: Manage) -> None:
        if self._recorder is None:
            return
        for pod, node in step.failed:
            await self._recorder.warning(
                ds,
                reason="FailedDaemonPod",
                message=f"Found failed daemon pod {pod.metadata.namespace}/{pod.metadata.name}"
                f" on node {node}, will try to kill it",
            )
        for pod, node in step.succeeded:
            await self._recorder.normal(
                ds,
                reason="SucceededDaemonPod",
                message=f"Found succeeded daemon pod {pod.metadata.namespace}/{pod.metadata.name}"
                f" on node {node}, will try to delete it",
            )

    async def _sync_nodes(
        self,
        ds: DaemonSet,
        key: ObjectKey,
        create: Sequence[str],
        delete: Sequence[Pod],
        hash_: str,
    ) -> None:
        """Create a pod on each node of ``create`` and delete ``delete`` (``syncNodes``)."""
        if not create and not delete:
            return
        self._expectations.expect_creations(key, len(create))
        self._expectations.raise_expectations(key, deletions=[p.metadata.uid for p in delete])
        pods = [daemon_pod(ds, node, hash_) for node in create]
        # A name taken meanwhile: Kubernetes skips these too.
        _, errors = await self._control.create(
            ds,
            key,
            pods,
            batches=slow_start_batches(len(pods)),
            ignore=lambda exc: isinstance(exc, AlreadyExistsError),
        )
        errors += await self._control.delete(ds, key, delete)
        if errors:
            raise SyncNodesError(str(errors[0])) from errors[0]
