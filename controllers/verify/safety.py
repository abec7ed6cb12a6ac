"""
Safety invariants of the built-in controllers, checked at every commit of the API server.

:class:`Safety` is an ``on_commit`` hook: after each write it looks at the
object written and at what it implies, and records the first violation of
each invariant per object. It computes every bound itself, from the
Kubernetes rules, never with the controllers' own helpers, so a planted
rounding bug cannot hide from it.

* **Rollouts**: the ReplicaSets of a Deployment never ask for more than
  ``replicas + maxSurge`` pods, and once ``replicas - maxUnavailable`` pods
  were available they stay so during rollouts (outside user scales and
  disruptions, see :mod:`~controllers.verify.ledger`).
* **Ownership**: an object has at most one controller owner, and a pod is
  never taken from a live controller by another.
* **Nothing lost**: a pod whose ReplicaSet still wants it, a ReplicaSet
  whose Deployment still scales it, an object the user orphaned, and a
  top-level object the user did not delete are never deleted.
* **ReplicaSets** never run more pods than they were ever asked for.
* **DaemonSets** run at most one pod per node and put none on a node whose
  ``NoSchedule`` taint they do not tolerate.
* **Jobs**: active pods ``<= parallelism``, ``succeeded <= completions`` and
  never more than the pods seen succeeding (no pod counted twice); a
  ``Forbid`` CronJob never has two unfinished runs.
* **Endpoints** list under ``addresses`` only pods that have been Ready.
* **Leaders**: no write from a deposed leader lands (fencing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

import reconcile
from controllers.api.apps import DaemonSet, Deployment, DeploymentStrategyType, ReplicaSet
from controllers.api.batch import ConcurrencyPolicy, CronJob, Job
from controllers.api.core import ConfigMap, Endpoints, Node, Pod, Service
from controllers.daemonset.nodes import target_node
from controllers.verify.ledger import Ledger
from reconcile import ConditionStatus

__all__ = ["Safety", "active", "available", "controller_of", "fenceposts", "is_ready"]

_WORKLOADS = (Deployment, ReplicaSet, DaemonSet, Job, CronJob, Service)


def controller_of(obj: reconcile.Resource) -> reconcile.OwnerReference | None:
    return next((r for r in obj.metadata.owner_references if r.controller), None)


def active(pod: Pod) -> bool:
    """Not terminating and not finished (Kubernetes' ``IsPodActive``)."""
    return pod.metadata.deletion_timestamp is None and pod.status.phase not in (
        "Succeeded",
        "Failed",
    )


def is_ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def available(pod: Pod, min_ready: int, now: dt.datetime) -> bool:
    """Active and Ready for at least ``min_ready`` seconds at ``now``."""
    if not active(pod):
        return False
    for c in pod.status.conditions:
        if c.type == "Ready" and c.status == "True":
            if min_ready == 0:
                return True
            since = c.last_transition_time
            return since is not None and since + dt.timedelta(seconds=min_ready) <= now
    return False


def _scaled(value: Any, total: int, *, up: bool) -> int:
    if isinstance(value, int):
        return value
    percent = int(str(value).rstrip("%"))
    return (percent * total + 99) // 100 if up else percent * total // 100


def fenceposts(d: Deployment) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` by Kubernetes' rules: surge rounds up, unavailable down."""
    replicas = d.spec.replicas if d.spec.replicas is not None else 1
    strategy = d.spec.strategy
    if (
        strategy.type is not DeploymentStrategyType.ROLLING_UPDATE
        or strategy.rolling_update is None
    ):
        return 0, 0
    ru = strategy.rolling_update
    surge = _scaled(ru.max_surge if ru.max_surge is not None else "25%", replicas, up=True)
    unavailable = _scaled(
        ru.max_unavailable if ru.max_unavailable is not None else "25%", replicas, up=False
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


@attrs.define
class _Rollout:
    armed: bool = False
    surge_exempt: bool = True


class Safety:
    """The ``on_commit`` hook (see the module docstring); ``violations`` lists what broke."""

    def __init__(
        self, api: reconcile.MemoryCluster, ledger: Ledger, stale_writes: Callable[[], int]
    ) -> None:
        self.api = api
        self.ledger = ledger
        self._stale_writes = stale_writes
        self.violations: list[str] = []
        self._reported: set[tuple[str, str]] = set()
        self._pods: dict[str, Pod] = {}
        self._collected: set[str] = set()  # workloads marked for deletion while owned
        self._rs_max: dict[str, int] = {}
        # The fewest pods each ReplicaSet was asked for since it last caught up:
        # deletions it decided at a lower count may land after a scale back up.
        self._rs_low: dict[str, int] = {}
        self._ever_ready: set[str] = set()
        self._succeeded: dict[str, set[str]] = {}  # job uid -> pods seen succeeded
        self._rollouts: dict[str, _Rollout] = {}
        self.commits = 0

    # -- plumbing --------------------------------------------------------------------------

    def _violate(self, invariant: str, key: str, message: str) -> None:
        if (invariant, key) in self._reported:
            return
        self._reported.add((invariant, key))
        self.violations.append(f"{invariant}: {message} (t={self.api.clock.time():.3f}s)")

    def _now(self) -> dt.datetime:
        return self.api.clock.now()

    def _list(self, kind: type[Any], namespace: str) -> tuple[Any, ...]:
        return tuple(self.api.list_nowait(kind, namespace=namespace).items)

    def _owned(self, kind: type[Any], owner: reconcile.Resource) -> list[Any]:
        uid = owner.metadata.uid
        return [
            o
            for o in self._list(kind, owner.metadata.namespace)
            if (ref := controller_of(o)) is not None and ref.uid == uid
        ]

    def _owner(self, obj: reconcile.Resource, kind: type[Any]) -> Any | None:
        """The live controller owner of ``obj`` of ``kind`` (same uid), or ``None``."""
        ref = controller_of(obj)
        if ref is None or ref.kind != reconcile.kind_of(kind).kind:
            return None
        try:
            owner = self.api.get_nowait(kind, ref.name, namespace=obj.metadata.namespace)
        except reconcile.NotFoundError:
            return None
        return owner if owner.metadata.uid == ref.uid else None

    # -- the hook ----------------------------------------------------------------------------

    def __call__(self, event: reconcile.WatchEvent[reconcile.Resource]) -> None:
        obj = event.object
        if event.type is reconcile.EventType.BOOKMARK or obj is None:
            return
        self.commits += 1
        deleted = event.type is reconcile.EventType.DELETED
        if sum(1 for r in obj.metadata.owner_references if r.controller) > 1:
            self._violate("one-controller", obj.metadata.uid, f"{_name(obj)} has two controllers")
        if isinstance(obj, Pod):
            self._pod(obj, deleted)
        elif isinstance(obj, ReplicaSet):
            self._replica_set(obj, deleted)
        elif isinstance(obj, Deployment) and not deleted:
            self._rollout(obj)
        elif isinstance(obj, Job):
            self._job(obj)
        elif isinstance(obj, Endpoints) and not deleted:
            self._endpoints(obj)
        meta = obj.metadata
        if isinstance(obj, _WORKLOADS) and meta.deleting and meta.owner_references and not deleted:
            # Marked for deletion while owned: the collector asked, even if it
            # orphans the object before the deletion completes.
            self._collected.add(meta.uid)
        if deleted and isinstance(obj, _WORKLOADS):
            self._lost(obj)
            self._collected.discard(obj.metadata.uid)
        elif deleted and isinstance(obj, ConfigMap):
            self._dependent_lost(obj)
        if self._stale_writes():
            self._violate("fencing", "leader", "a deposed leader's write was committed")

    # -- objects -----------------------------------------------------------------------------

    def _lost(self, obj: reconcile.Resource) -> None:
        uid = obj.metadata.uid
        if uid in self.ledger.user_deleted:
            return
        if self.ledger.released(obj):
            self._violate("orphan-survives", uid, f"orphaned {_name(obj)} was deleted")
        elif not obj.metadata.owner_references and uid not in self._collected:
            self._violate("nothing-lost", uid, f"{_name(obj)} was deleted though nobody asked")

    def _dependent_lost(self, obj: reconcile.Resource) -> None:
        """A dependent whose owners all live (same uid, not terminating) is never collected."""
        if obj.metadata.uid in self.ledger.user_deleted or not obj.metadata.owner_references:
            return
        for ref in obj.metadata.owner_references:
            owner = self._owner_by_ref(obj, ref)
            if owner is None or owner.metadata.deletion_timestamp is not None:
                return
        self._violate("nothing-lost", obj.metadata.uid, f"{_name(obj)} was deleted, owners alive")

    def _owner_by_ref(
        self, obj: reconcile.Resource, ref: reconcile.OwnerReference
    ) -> reconcile.Resource | None:
        kind = {"Deployment": Deployment, "ReplicaSet": ReplicaSet}.get(ref.kind)
        if kind is None:
            return None
        try:
            owner: reconcile.Resource = self.api.get_nowait(
                kind, ref.name, namespace=obj.metadata.namespace
            )
        except reconcile.NotFoundError:
            return None
        return owner if owner.metadata.uid == ref.uid else None

    def _pod(self, pod: Pod, deleted: bool) -> None:
        uid = pod.metadata.uid
        before = self._pods.get(uid)
        if deleted:
            self._pods.pop(uid, None)
        else:
            self._pods[uid] = pod
        if is_ready(pod):
            self._ever_ready.add(uid)
        ref = controller_of(pod)
        old = controller_of(before) if before is not None else None
        if (
            before is not None
            and old is not None
            and ref is not None
            and old.uid != ref.uid
            and (self._owner(before, ReplicaSet) or self._owner(before, Job))
        ):
            self._violate("no-theft", uid, f"{_name(pod)} taken from {old.name} by {ref.name}")
        marked = deleted or pod.metadata.deletion_timestamp is not None
        if marked and (before is None or before.metadata.deletion_timestamp is None):
            self._pod_deleted(before or pod)
        if pod.status.phase == "Succeeded" and ref is not None and ref.kind == "Job":
            self._succeeded.setdefault(ref.uid, set()).add(uid)
        rs = self._owner(pod, ReplicaSet)
        if rs is not None:
            self._replica_set_pods(rs)
            deployment = self._owner(rs, Deployment)
            if deployment is not None:
                if marked and before is not None:
                    self._available_deleted(deployment, rs, before)
                self._rollout(deployment)
        ds = self._owner(pod, DaemonSet)
        if ds is not None:
            self._daemon_pods(ds, pod, added=before is None and not deleted)
        job = self._owner(pod, Job)
        if job is not None:
            self._job(job)

    def _pod_deleted(self, pod: Pod) -> None:
        """A pod is going: fine if its owner is gone, wants fewer, or its node is disrupted."""
        uid = pod.metadata.uid
        if uid in self.ledger.user_deleted or pod.spec.node_name in self.ledger.disrupted:
            return
        if self.ledger.kubelet_faults or "kube-controller-manager" in self.ledger.clock_faults:
            # Nodes may look down to the node lifecycle controller: taint evictions.
            return
        if self.ledger.released(pod):
            self._violate("orphan-survives", uid, f"orphaned {_name(pod)} was deleted")
            return
        rs = self._owner(pod, ReplicaSet)
        if rs is None or rs.metadata.deletion_timestamp is not None or not active(pod):
            return
        others = [p for p in self._owned(Pod, rs) if active(p) and p.metadata.uid != uid]
        wanted = min(rs.spec.replicas or 0, self._rs_low.get(rs.metadata.uid, 1 << 30))
        if len(others) + 1 <= wanted:
            self._violate(
                "nothing-lost",
                uid,
                f"{_name(pod)} was deleted while {rs.metadata.name} wants "
                f"{rs.spec.replicas} and has {len(others) + 1}",
            )

    def _replica_set(self, rs: ReplicaSet, deleted: bool) -> None:
        uid = rs.metadata.uid
        wanted = rs.spec.replicas if rs.spec.replicas is not None else 1
        self._rs_max[uid] = max(self._rs_max.get(uid, 0), wanted)
        caught_up = (
            rs.status.observed_generation >= rs.metadata.generation and rs.status.replicas == wanted
        )
        low = self._rs_low.get(uid, wanted)
        self._rs_low[uid] = wanted if caught_up else min(low, wanted)
        deployment = self._owner(rs, Deployment)
        if deployment is None:
            return
        if (
            deleted
            and deployment.metadata.deletion_timestamp is None
            and wanted > 0
            and uid not in self.ledger.user_deleted
        ):
            self._violate(
                "nothing-lost", uid, f"{_name(rs)} was deleted while its Deployment scales it"
            )
        if not deleted:
            now = self._now()
            actual = sum(
                available(p, deployment.spec.min_ready_seconds, now) for p in self._owned(Pod, rs)
            )
            if actual > rs.status.available_replicas:
                # It may be scaled down on a status that undercounts its available
                # pods, as in Kubernetes: the floor waits for the status.
                self._rollouts.setdefault(deployment.metadata.uid, _Rollout()).armed = False
        self._rollout(deployment)

    def _replica_set_pods(self, rs: ReplicaSet) -> None:
        pods = [p for p in self._owned(Pod, rs) if active(p)]
        if any(p.metadata.uid in self.ledger.freed for p in pods):
            return  # it adopted orphans: it deletes the extra ones next
        ceiling = self._rs_max.get(rs.metadata.uid, 0)
        if len(pods) > ceiling:
            self._violate(
                "replicaset-bound",
                rs.metadata.uid,
                f"{_name(rs)} runs {len(pods)} pods, more than it was ever asked for ({ceiling})",
            )

    # -- rollouts ----------------------------------------------------------------------------

    def _available_deleted(self, d: Deployment, rs: ReplicaSet, pod: Pod) -> None:
        """An available pod goes while a ready, unavailable sibling stays (as in Kubernetes)."""
        now, min_ready = self._now(), d.spec.min_ready_seconds
        if available(pod, min_ready, now) and any(
            active(p) and not available(p, min_ready, now)
            for p in self._owned(Pod, rs)
            if p.metadata.uid != pod.metadata.uid
        ):
            self._rollouts.setdefault(d.metadata.uid, _Rollout()).armed = False

    def _rollout(self, d: Deployment) -> None:
        state = self._rollouts.setdefault(d.metadata.uid, _Rollout())
        if self.ledger.consumed(d.metadata.name):
            state.armed, state.surge_exempt = False, True
        if d.metadata.deletion_timestamp is not None:
            return
        replicas = d.spec.replicas if d.spec.replicas is not None else 1
        surge, unavailable = fenceposts(d)
        sets = self._owned(ReplicaSet, d)
        total = sum(rs.spec.replicas or 0 for rs in sets)
        observed = d.status.observed_generation >= d.metadata.generation
        if state.surge_exempt:
            state.surge_exempt = not (observed and total <= replicas + surge)
        elif total > replicas + surge:
            self._violate(
                "rollout-surge",
                d.metadata.uid,
                f"{_name(d)}: its ReplicaSets ask for {total} > {replicas} + maxSurge {surge}",
            )
        if (
            d.spec.strategy.type is not DeploymentStrategyType.ROLLING_UPDATE
            or not self.ledger.quiet
        ):
            state.armed = False
            return
        now = self._now()
        pods = {rs.metadata.uid: [p for p in self._owned(Pod, rs) if active(p)] for rs in sets}
        count = sum(available(p, d.spec.min_ready_seconds, now) for ps in pods.values() for p in ps)
        floor = replicas - unavailable
        if state.armed:
            if count < floor:
                self._violate(
                    "rollout-availability",
                    d.metadata.uid,
                    f"{_name(d)}: {count} pods available < {replicas} - maxUnavailable "
                    f"{unavailable}",
                )
        elif count >= floor and observed:
            state.armed = all(
                rs.status.observed_generation >= rs.metadata.generation
                and len(pods[rs.metadata.uid]) == (rs.spec.replicas or 0)
                for rs in sets
            )

    # -- daemons, jobs, endpoints -------------------------------------------------------------

    def _daemon_pods(self, ds: DaemonSet, pod: Pod, *, added: bool) -> None:
        node_name = target_node(pod)
        same = [p for p in self._owned(Pod, ds) if active(p) and target_node(p) == node_name]
        if len(same) > 1:
            self._violate(
                "daemon-per-node", f"{ds.metadata.uid}/{node_name}",
                f"{_name(ds)} runs {len(same)} pods on {node_name}",
            )  # fmt: skip
        if not added or "kube-controller-manager" in self.ledger.stale_faults:
            return
        try:
            node = self.api.get_nowait(Node, node_name)
        except reconcile.NotFoundError:
            return
        tolerated = {t.key for t in pod.spec.tolerations}
        created = pod.metadata.creation_timestamp
        for taint in node.spec.taints:
            if (
                taint.effect in ("NoSchedule", "NoExecute")
                and taint.key not in tolerated
                and not taint.key.startswith("node.kubernetes.io/")
                and taint.time_added is not None
                and created is not None
                and taint.time_added + dt.timedelta(seconds=1) <= created
            ):
                self._violate(
                    "daemon-taints", pod.metadata.uid,
                    f"{_name(pod)} was created for {node_name}, tainted {taint.key}:{taint.effect}",
                )  # fmt: skip

    def _job(self, job: Job) -> None:
        uid = job.metadata.uid
        pods = [p for p in self._owned(Pod, job) if active(p)]
        parallelism = job.spec.parallelism if job.spec.parallelism is not None else 1
        if len(pods) > parallelism:
            self._violate(
                "job-parallelism", uid, f"{_name(job)} runs {len(pods)} pods > {parallelism}"
            )
        completions = job.spec.completions
        succeeded = job.status.succeeded
        if completions is not None and succeeded > completions:
            self._violate("job-completions", uid, f"{_name(job)}: {succeeded} > {completions}")
        seen = len(self._succeeded.get(uid, ()))
        if succeeded > seen:
            self._violate(
                "job-counted-once", uid, f"{_name(job)} counts {succeeded} of {seen} pods succeeded"
            )
        cron = self._owner(job, CronJob)
        if (
            cron is not None
            and cron.spec.concurrency_policy is ConcurrencyPolicy.FORBID
            and "kube-controller-manager" not in self.ledger.stale_faults
        ):
            running = [j for j in self._owned(Job, cron) if not _finished(j)]
            if len(running) > 1:
                self._violate(
                    "cronjob-forbid", cron.metadata.uid,
                    f"{_name(cron)} (Forbid) has {len(running)} runs at once",
                )  # fmt: skip

    def _endpoints(self, ep: Endpoints) -> None:
        try:
            svc = self.api.get_nowait(Service, ep.metadata.name, namespace=ep.metadata.namespace)
        except reconcile.NotFoundError:
            return
        if svc.spec.publish_not_ready_addresses:
            return
        for subset in ep.subsets:
            for address in subset.addresses:
                ref = address.target_ref
                if ref is not None and ref.uid and ref.uid not in self._ever_ready:
                    self._violate(
                        "endpoints-ready", f"{ep.metadata.uid}/{ref.uid}",
                        f"{_name(ep)} lists pod {ref.name}, never Ready, under addresses",
                    )  # fmt: skip


def _finished(job: Job) -> bool:
    return any(
        c.type in ("Complete", "Failed") and c.status is ConditionStatus.TRUE
        for c in job.status.conditions
    ) or (job.metadata.deletion_timestamp is not None)


def _name(obj: reconcile.Resource) -> str:
    return f"{reconcile.kind_of(type(obj)).kind} {obj.metadata.key}"
