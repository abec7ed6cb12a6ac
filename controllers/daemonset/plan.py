"""
The DaemonSet controller's pure decisions: claim pods, manage nodes, plan a sync.

No I/O, no clock: every function takes the DaemonSet, nodes and pods from
the caches and ``now``, and returns frozen values that
:mod:`controllers.daemonset.reconciler` applies. One sync, as Kubernetes'
``syncDaemonSet`` (pkg/controller/daemon/daemon_controller.go) runs it:

1. :func:`claim`: keep the pods the DaemonSet controls that match its
   selector, adopt matching orphans, release controlled pods that stopped
   matching; pods another controller owns are never touched. Unlike a
   ReplicaSet, finished and terminating pods are claimed too: they still
   occupy their node.
2. :func:`judge_nodes` (:func:`~controllers.daemonset.nodes.node_should_run_daemon_pod`
   per node) and :func:`pods_by_node` (by the node each pod is for).
3. :func:`manage` (only when expectations are satisfied): create a pod on
   every node that should run one and has none; delete failed pods (with a
   per-node back-off), succeeded pods, surplus pods and pods on nodes that
   must not keep them; at most :data:`BURST_REPLICAS` of each per sync.
4. When :func:`manage` had nothing to do and the strategy is
   ``RollingUpdate``: :func:`~controllers.daemonset.rolling.rolling_update`.
5. :func:`~controllers.daemonset.status.calculate_status`.

:func:`plan` composes them for one snapshot, for property tests; the
reconciler calls them one at a time because writes happen in between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import attrs

from controllers.api.apps import DaemonSet, DaemonSetStatus
from controllers.api.core import Node, Pod
from controllers.daemonset.backoff import FailureBackoff, backoff_remaining, next_backoff
from controllers.daemonset.nodes import Eligibility, eligibility, target_node
from controllers.daemonset.revisions import HASH_LABEL, template_hash
from controllers.daemonset.rolling import Rollout, allows_surge, is_rolling_update, rolling_update
from controllers.daemonset.status import by_age, calculate_status, next_available_in
from controllers.planted import DAEMONSET_TWO_PODS_PER_NODE
from controllers.podcontrol.claims import Claim, claim_pods
from controllers.replicaset.pods import is_pod_available, is_pod_ready
from reconcile import FrozenDict, planted

__all__ = [
    "BURST_REPLICAS",
    "Claim",
    "Manage",
    "Plan",
    "claim",
    "judge_nodes",
    "manage",
    "plan",
    "pods_by_node",
    "settled_pods",
]

BURST_REPLICAS = 250
"""Most pods one sync creates, and most it deletes (Kubernetes' ``BurstReplicas``)."""


def claim(ds: DaemonSet, pods: Iterable[Pod]) -> Claim:
    """
    Sort ``pods`` into kept, adopted and released ones (:func:`~controllers.podcontrol.claim_pods`).

    Kubernetes: ``ClaimPods`` as ``getDaemonPods`` calls it, with no filter.
    """
    return claim_pods(ds.metadata, ds.spec.selector, pods)


def judge_nodes(ds: DaemonSet, nodes: Iterable[Node]) -> dict[str, Eligibility]:
    """:func:`~controllers.daemonset.nodes.node_should_run_daemon_pod` for every node, by name."""
    judge = eligibility(ds)
    return {node.metadata.name: judge(node) for node in nodes}


def pods_by_node(pods: Iterable[Pod]) -> dict[str, list[Pod]]:
    """
    ``pods`` grouped by the node each is for (``spec.nodeName``, else its affinity).

    Each group is sorted by :func:`~controllers.daemonset.status.by_age`.
    Pods for no node at all are grouped under ``""``.
    Kubernetes: ``getNodesToDaemonPods``.
    """
    groups: dict[str, list[Pod]] = {}
    for pod in pods:
        groups.setdefault(target_node(pod), []).append(pod)
    for group in groups.values():
        if len(group) > 1:
            group.sort(key=by_age)
    return groups


def settled_pods(groups: Mapping[str, Sequence[Pod]]) -> dict[str, Sequence[Pod]]:
    """
    ``groups`` without pods that are both finished and being deleted.

    Such pods wait only for their finalizers or the kubelet; the manage
    step, the rolling update and the status ignore them (a node whose only
    pod is one gets a new pod at once), as Kubernetes' ``getNodesToDaemonPods``
    does without ``includeDeletedTerminal``. Groups with nothing to drop are
    passed on as they are.
    """
    kept: dict[str, Sequence[Pod]] = {}
    for name, pods in groups.items():
        if all(p.metadata.deletion_timestamp is None for p in pods):
            kept[name] = pods
            continue
        alive = [
            p
            for p in pods
            if p.metadata.deletion_timestamp is None
            or p.status.phase not in ("Succeeded", "Failed")
        ]
        if alive:
            kept[name] = alive
    return kept


@attrs.frozen(kw_only=True)
class Manage:
    """
    What the manage step of one sync does.

    Attributes:
        create: Nodes to create a daemon pod on, in name order.
        delete: Pods to delete (including ``failed`` and ``succeeded``).
        failed: Failed pods among ``delete``, each with its node (for the
            ``FailedDaemonPod`` event).
        succeeded: Succeeded pods among ``delete``, each with its node.
        backoff: The back-off entries after this step, by node (only those
            that changed).
        retry_after: Seconds until a failed pod kept by its back-off may be
            deleted (the earliest), or ``None``.
    """

    create: tuple[str, ...] = ()
    delete: tuple[Pod, ...] = ()
    failed: tuple[tuple[Pod, str], ...] = ()
    succeeded: tuple[tuple[Pod, str], ...] = ()
    backoff: FrozenDict[str, FailureBackoff] = attrs.field(factory=FrozenDict)
    retry_after: float | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing is created or deleted."""
        return not self.create and not self.delete


def manage(
    ds: DaemonSet,
    verdicts: Mapping[str, Eligibility],
    groups: Mapping[str, Sequence[Pod]],
    *,
    hash_: str,
    now: dt.datetime,
    backoff: Mapping[str, FailureBackoff] = FrozenDict(),
    burst: int = BURST_REPLICAS,
) -> Manage:
    """
    Create and delete daemon pods so that each node runs what it should.

    Args:
        ds: The DaemonSet.
        verdicts: Every existing node's eligibility, by name.
        groups: The DaemonSet's pods by node, as :func:`settled_pods` gives
            them (terminating pods included, finished ones being deleted not:
            they no longer occupy their node).
        hash_: The current revision's hash (which pod is new when surging).
        now: The current instant (availability, back-off).
        backoff: The failed-pod back-off of each node.
        burst: Most pods created, and most deleted, by this step.

    Per node (Kubernetes' ``podsShouldBeOnNode``):

    * should run and has no pod at all: create one.
    * may keep its pods: failed pods are deleted unless the node's back-off
      holds them (a ``FailedDaemonPod`` event each), succeeded pods are
      deleted; of the rest, without surge the first (bound, oldest) is kept
      and the others deleted; with surge the oldest new and oldest old pod
      are kept, the old one deleted when it is not ready or the new one is
      available; a node left with no pod gets one (when it should run).
    * must not keep its pods: all of them that are not being deleted go.

    Unbound pods for a node that no longer exists are deleted too.
    """
    surge = allows_surge(ds)
    min_ready = ds.spec.min_ready_seconds
    create: list[str] = []
    delete: list[Pod] = []
    failed: list[tuple[Pod, str]] = []
    succeeded: list[tuple[Pod, str]] = []
    changed: dict[str, FailureBackoff] = {}
    retry: float | None = None
    # The planted mistake: a node "has" its daemon pod only once that pod runs, and a
    # second pod is tolerated (``keep`` pods are kept without surge).
    twins = planted(DAEMONSET_TWO_PODS_PER_NODE)
    keep = 2 if twins else 1
    for name, (should_run, may_stay) in sorted(verdicts.items()):
        pods = groups.get(name, ())
        starting = twins and len(pods) == 1 and pods[0].status.phase == "Pending"
        if should_run and (not pods or starting):
            create.append(name)
        elif may_stay:
            running: list[Pod] = []
            for pod in pods:
                if pod.metadata.deletion_timestamp is not None:
                    continue
                if pod.status.phase == "Failed":
                    # A deletion earlier in this step already holds the node's back-off.
                    entry = changed.get(name, backoff.get(name))
                    wait = backoff_remaining(entry, now)
                    if wait > 0:
                        retry = wait if retry is None else min(retry, wait)
                        continue
                    changed[name] = next_backoff(entry, now)
                    failed.append((pod, name))
                    delete.append(pod)
                elif pod.status.phase == "Succeeded":
                    succeeded.append((pod, name))
                    delete.append(pod)
                else:
                    running.append(pod)  # already in by_age order
            if not surge:
                delete.extend(running[keep:])
            elif not running:
                if should_run:
                    create.append(name)
            else:
                delete.extend(_prune_surge(running, hash_, min_ready, now))
        elif pods:
            delete.extend(p for p in pods if p.metadata.deletion_timestamp is None)
    for name, pods in sorted(groups.items()):
        if name not in verdicts:  # the node is gone (or was never named)
            delete.extend(
                p for p in pods if not p.spec.node_name and p.metadata.deletion_timestamp is None
            )
    return Manage(
        create=tuple(create[:burst]),
        delete=tuple(delete[:burst]),
        failed=tuple(failed),
        succeeded=tuple(succeeded),
        backoff=FrozenDict(changed),
        retry_after=retry,
    )


def _prune_surge(running: Sequence[Pod], hash_: str, min_ready: int, now: dt.datetime) -> list[Pod]:
    """With surge: keep the oldest new and oldest old pod; the old one while it is still needed."""
    newest: Pod | None = None
    oldest: Pod | None = None
    victims: list[Pod] = []
    for pod in running:
        if pod.metadata.labels.get(HASH_LABEL) == hash_:
            if newest is None:
                newest = pod
                continue
        elif oldest is None:
            oldest = pod
            continue
        victims.append(pod)
    if (
        newest is not None
        and oldest is not None
        and (not is_pod_ready(oldest) or is_pod_available(newest, min_ready, now))
    ):
        victims.append(oldest)
    return victims


@attrs.frozen(kw_only=True)
class Plan:
    """
    Everything one sync of a DaemonSet would do, assuming every write succeeds.

    Attributes:
        claim: Pods kept, adopted and released.
        manage: Pods created and deleted per node (empty when not managing).
        rollout: The rolling-update step (empty unless ``manage`` was).
        status: The status of the snapshot, before any write takes effect.
        requeue_after: Seconds until the sync should run again by itself
            (a pod becoming available, a failed pod's back-off ending).
    """

    claim: Claim
    manage: Manage
    rollout: Rollout
    status: DaemonSetStatus
    requeue_after: float | None

    @property
    def writes_pods(self) -> bool:
        """Whether any pod would be adopted, released, created or deleted."""
        return bool(
            self.claim.adopt
            or self.claim.release
            or not self.manage.empty
            or self.rollout.delete
            or self.rollout.create
        )


def plan(
    ds: DaemonSet,
    nodes: Iterable[Node],
    pods: Iterable[Pod],
    *,
    now: dt.datetime,
    manage_pods: bool = True,
    backoff: Mapping[str, FailureBackoff] = FrozenDict(),
) -> Plan:
    """
    One sync of ``ds`` over a snapshot of ``nodes`` and candidate ``pods``.

    Args:
        ds: The DaemonSet.
        nodes: Every node of the cluster.
        pods: Pods it controls and orphans in its namespace (others are ignored).
        now: The current instant.
        manage_pods: Whether creating and deleting is allowed (expectations
            are satisfied). A DaemonSet being deleted never manages pods.
        backoff: The failed-pod back-off of each node.

    Raises:
        ValueError: an invalid rolling-update bound (the API server refuses those).
    """
    claimed = claim(ds, pods)
    mine = (*claimed.owned, *claimed.adopt)
    hash_ = template_hash(ds)
    verdicts = judge_nodes(ds, nodes)
    groups = pods_by_node(mine)
    settled = settled_pods(groups)
    should_run = {name: verdict.should_run for name, verdict in verdicts.items()}
    step = Manage()
    rollout = Rollout()
    if manage_pods and ds.spec.selector is not None and ds.metadata.deletion_timestamp is None:
        step = manage(ds, verdicts, settled, hash_=hash_, now=now, backoff=backoff)
        if step.empty and is_rolling_update(ds):
            rollout = rolling_update(ds, settled, should_run, hash_=hash_, now=now)
    status = calculate_status(ds, settled, should_run, hash_=hash_, now=now, observe=manage_pods)
    delays = [d for d in (step.retry_after, next_available_in(ds, settled, now=now)) if d]
    return Plan(
        claim=claimed,
        manage=step,
        rollout=rollout,
        status=status,
        requeue_after=min(delays) if delays else None,
    )
