"""
Liveness oracles: what must hold once every fault is healed and the cluster settled.

* **Converged**: every Deployment runs ``replicas`` available pods of its
  template and keeps at most ``revisionHistoryLimit`` old ReplicaSets; every
  ReplicaSet runs ``replicas`` pods; every DaemonSet runs one pod on each
  node that qualifies and none where it must not; every Job has finished,
  failed if its pods fail and complete with ``completions`` otherwise.
* **Status matches** the objects it counts (ReplicaSet, DaemonSet and
  Deployment counters), and each Service's Endpoints list exactly its Ready
  pods under ``addresses`` and the others under ``notReadyAddresses``.
* **Nothing stuck**: no object is left terminating, and no object has an
  owner that is gone (:func:`reconcile.verify.orphans`).
* **Fixpoint**: a resync of every controller writes nothing (Leases, Node
  heartbeats and Events aside) and takes a bounded number of reconciles.

:func:`project` is the differential oracle's view of the end state: what
a fault-free run of the same user actions must also end with (counts,
images, outcomes; not names, uids, placements or times).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs

import reconcile
from controllers.api.apps import DaemonSet, Deployment, ReplicaSet
from controllers.api.batch import CronJob, Job
from controllers.api.core import Endpoints, Event, Node, Pod, Service
from controllers.daemonset.nodes import target_node
from controllers.verify.safety import active, available, controller_of, is_ready
from controllers.verify.steps import DEDICATED, ROLE
from reconcile import ConditionStatus
from reconcile.verify import State, further_pass, orphans

if TYPE_CHECKING:
    from controllers.verify.world import World

__all__ = ["QUIET", "Verdict", "judge", "project"]

QUIET = 30.0
"""Virtual seconds the healed cluster runs before it is judged (readiness, minReadySeconds)."""

BACKOFF_CAP = 1_100.0
"""Seconds ahead the final settle looks for work: past the longest retry back-off (1000 s)."""

SETTLE_LIMIT = 7_200.0
"""Simulated seconds the final settle may take before the run counts as not settling."""

HOT_LOOP_SLACK = 20
"""Reconciles a further pass may take beyond two per key before it counts as a hot loop."""

_TEMPLATE_HASH = "pod-template-hash"


@attrs.frozen(kw_only=True)
class Verdict:
    """What the oracles found (``failures`` empty when all held) and the end state's projection."""

    failures: tuple[str, ...]
    projection: tuple[str, ...]


def _image(template: Any) -> str:
    return str(template.spec.containers[0].image)


def _pods(api: reconcile.MemoryCluster) -> list[Pod]:
    return list(api.list_nowait(Pod).items)


def _controlled(pods: list[Pod], owner: reconcile.Resource) -> list[Pod]:
    return [p for p in pods if (r := controller_of(p)) is not None and r.uid == owner.metadata.uid]


def _converged(api: reconcile.MemoryCluster, now: dt.datetime) -> list[str]:
    out: list[str] = []
    pods = _pods(api)
    sets = list(api.list_nowait(ReplicaSet).items)
    for rs in sets:
        mine = [p for p in _controlled(pods, rs) if active(p)]
        wanted = rs.spec.replicas if rs.spec.replicas is not None else 1
        ready = sum(is_ready(p) for p in mine)
        avail = sum(available(p, rs.spec.min_ready_seconds, now) for p in mine)
        got = (
            len(mine),
            rs.status.replicas,
            rs.status.ready_replicas,
            rs.status.available_replicas,
        )
        if got != (wanted, wanted, ready, avail) or rs.status.observed_generation < (
            rs.metadata.generation
        ):
            out.append(
                f"ReplicaSet {rs.metadata.name}: wants {wanted}, runs {len(mine)} "
                f"({ready} ready, {avail} available); status says "
                f"{rs.status.replicas}/{rs.status.ready_replicas}/{rs.status.available_replicas}"
            )
    for d in api.list_nowait(Deployment).items:
        out.extend(_deployment(d, sets, pods, now))
    for ds in api.list_nowait(DaemonSet).items:
        out.extend(_daemon_set(api, ds, pods))
    for job in api.list_nowait(Job).items:
        if controller_of(job) is None:
            out.extend(_job(job, pods))
    for svc in api.list_nowait(Service).items:
        out.extend(_endpoints(api, svc, pods))
    return out


def _deployment(
    d: Deployment, sets: list[ReplicaSet], pods: list[Pod], now: dt.datetime
) -> list[str]:
    name = f"Deployment {d.metadata.name}"
    if d.status.observed_generation < d.metadata.generation:
        return [f"{name}: generation {d.metadata.generation} never observed"]
    if d.spec.paused:
        return []
    replicas = d.spec.replicas if d.spec.replicas is not None else 1
    mine = [rs for rs in sets if (r := controller_of(rs)) is not None and r.uid == d.metadata.uid]
    running = [p for rs in mine for p in _controlled(pods, rs) if active(p)]
    images = sorted({_image(p) for p in running})
    avail = sum(available(p, d.spec.min_ready_seconds, now) for p in running)
    wanted = _image(d.spec.template)
    out = []
    if len(running) != replicas or avail != replicas or images not in ([], [wanted]):
        out.append(f"{name}: wants {replicas} of {_image(d.spec.template)}, runs {len(running)} "
                   f"({avail} available) of {images}")  # fmt: skip
    status = (d.status.replicas, d.status.updated_replicas, d.status.available_replicas)
    if status != (replicas, replicas, replicas):
        out.append(f"{name}: status replicas/updated/available {status}, expected {replicas}")
    limit = d.spec.revision_history_limit if d.spec.revision_history_limit is not None else 10
    old = [rs for rs in mine if not rs.spec.replicas and _image(rs.spec.template) != wanted]
    if len(old) > limit:
        out.append(f"{name}: keeps {len(old)} old ReplicaSets, revisionHistoryLimit is {limit}")
    return out


def _tolerates(pod_spec: Any, taint: Any) -> bool:
    return any(t.key == taint.key for t in pod_spec.tolerations)


def _daemon_set(api: reconcile.MemoryCluster, ds: DaemonSet, pods: list[Pod]) -> list[str]:
    mine = [p for p in _controlled(pods, ds) if active(p)]
    spec = ds.spec.template.spec
    out = []
    eligible: set[str] = set()  # nodes that should run it (a pod elsewhere is misscheduled)
    for node in api.list_nowait(Node).items:
        here = [p for p in mine if target_node(p) == node.metadata.name]
        selected = all(node.metadata.labels.get(k) == v for k, v in spec.node_selector.items())
        blocking = [t for t in node.spec.taints if t.key == DEDICATED and not _tolerates(spec, t)]
        evicting = any(t.effect == "NoExecute" for t in blocking)
        if selected and not blocking:
            eligible.add(node.metadata.name)
        if selected and not blocking and len(here) != 1:
            out.append(f"DaemonSet {ds.metadata.name}: {len(here)} pods on {node.metadata.name}")
        elif (not selected or evicting) and here:
            out.append(f"DaemonSet {ds.metadata.name}: a pod on {node.metadata.name}, excluded")
    counted = [p for p in mine if target_node(p) in eligible]
    ready = sum(is_ready(p) for p in counted)
    if ds.status.number_ready != ready or ds.status.current_number_scheduled != len(counted):
        out.append(
            f"DaemonSet {ds.metadata.name}: status ready/scheduled "
            f"{ds.status.number_ready}/{ds.status.current_number_scheduled}, "
            f"observed {ready}/{len(counted)}"
        )
    return out


def _outcome(job: Job) -> str | None:
    for c in job.status.conditions:
        if c.type in ("Complete", "Failed") and c.status is ConditionStatus.TRUE:
            return str(c.type)
    return None


def _job(job: Job, pods: list[Pod]) -> list[str]:
    name = f"Job {job.metadata.name}"
    script = job.spec.template.metadata.annotations
    fails = any("exit=1" in v for v in script.values())
    outcome = _outcome(job)
    running = [p for p in _controlled(pods, job) if active(p)]
    if outcome is None or running:
        return [f"{name}: not finished ({len(running)} pods running)"]
    if fails and outcome != "Failed":
        return [f"{name}: its pods always fail, yet it is {outcome}"]
    completions = job.spec.completions if job.spec.completions is not None else 1
    if not fails and (outcome != "Complete" or job.status.succeeded != completions):
        return [f"{name}: {outcome} with {job.status.succeeded} of {completions} succeeded"]
    return []


def _selected(api: reconcile.MemoryCluster, svc: Service, pods: list[Pod]) -> list[Pod]:
    selector = svc.spec.selector
    return [
        p
        for p in pods
        if p.metadata.namespace == svc.metadata.namespace
        and selector
        and all(p.metadata.labels.get(k) == v for k, v in selector.items())
        and active(p)
        and p.status.pod_ip
    ]


def _endpoints(api: reconcile.MemoryCluster, svc: Service, pods: list[Pod]) -> list[str]:
    if not svc.spec.selector:
        return []
    name = f"Endpoints {svc.metadata.name}"
    try:
        ep = api.get_nowait(Endpoints, svc.metadata.name, namespace=svc.metadata.namespace)
    except reconcile.NotFoundError:
        return [f"{name}: missing"]
    chosen = _selected(api, svc, pods)
    publish = svc.spec.publish_not_ready_addresses
    want_ready = sorted(p.metadata.name for p in chosen if publish or is_ready(p))
    want_not = sorted(p.metadata.name for p in chosen if not publish and not is_ready(p))
    ready = sorted(a.target_ref.name for s in ep.subsets for a in s.addresses if a.target_ref)
    not_ready = sorted(
        a.target_ref.name for s in ep.subsets for a in s.not_ready_addresses if a.target_ref
    )
    if (ready, not_ready) != (want_ready, want_not):
        return [f"{name}: lists {ready} / {not_ready}, pods are {want_ready} / {want_not}"]
    return []


def _ignored(obj: reconcile.Resource) -> bool:
    """Writes a further pass may make: heartbeats, Events, and CronJobs' scheduled runs."""
    if isinstance(obj, reconcile.Lease | Event | Node | CronJob):
        return True
    owner = controller_of(obj)
    if owner is not None and owner.kind == "CronJob":
        return True
    # A scheduled run's pods: their Job is named after its CronJob and the run.
    return isinstance(obj, Pod) and owner is not None and owner.name.startswith("cron-")


async def judge(world: World) -> Verdict:
    """Apply the oracles to a healed, settled world (see the module docstring)."""
    cluster = world.cluster
    api = cluster.api
    failures = list(world.safety.violations)
    failures += [f"converged: {line}" for line in _converged(api, cluster.clock.now())]
    stuck = [
        f"{reconcile.kind_of(type(o)).kind} {o.metadata.key}"
        for o in State(api).all()
        if o.metadata.deletion_timestamp is not None
    ]
    if stuck:
        failures.append(f"stuck terminating: {', '.join(stuck[:5])}")
    left = orphans(State(api))
    if left:
        failures.append(f"orphans left behind: {', '.join(left[:5])}")
    managers = [m for name, m in cluster.managers().items() if not name[-1].isdigit()]
    extra = await further_pass(api, managers, cluster.settle, ignore=_ignored)
    if extra.writes:
        failures.append(f"not a fixpoint: a resync wrote {', '.join(extra.writes[:5])}")
    if extra.reconciles > 2 * extra.keys + HOT_LOOP_SLACK:
        failures.append(
            f"hot loop: a resync of {extra.keys} keys took {extra.reconciles} reconciles"
        )
    return Verdict(failures=tuple(failures), projection=project(api))


def project(api: reconcile.MemoryCluster) -> tuple[str, ...]:
    """
    The end state as the differential oracle compares it (see the module docstring).

    Only what the user's actions determine whatever the timing is kept: a
    paused Deployment, and the ReplicaSets an Orphan deletion released, keep
    whatever point their rollout had reached, so they show by name only.
    """
    lines: list[str] = []
    pods = _pods(api)
    paused: set[str] = set()
    for d in api.list_nowait(Deployment).items:
        if d.spec.paused:
            paused.add(d.metadata.uid)
            lines.append(f"Deployment {d.metadata.name} paused")
            continue
        s = d.status
        lines.append(
            f"Deployment {d.metadata.name} {d.spec.replicas} {_image(d.spec.template)} "
            f"ready={s.ready_replicas} available={s.available_replicas}"
        )
    shown: dict[str, str] = {}  # ReplicaSet uid -> how its pods are labelled
    for rs in api.list_nowait(ReplicaSet).items:
        owner = controller_of(rs)
        released = owner is None and _TEMPLATE_HASH in rs.metadata.labels
        if released or (owner is not None and owner.uid in paused):
            continue
        # A Deployment's ReplicaSet names carry a collision count: timing decides it.
        shown[rs.metadata.uid] = (
            f"ReplicaSet {rs.metadata.name}" if owner is None else f"Deployment {owner.name}"
        )
        if owner is None:
            ready = rs.status.ready_replicas
            lines.append(f"ReplicaSet {rs.metadata.name} {rs.spec.replicas} ready={ready}")
        elif rs.spec.replicas:
            image = _image(rs.spec.template)
            lines.append(f"ReplicaSet of {owner.name} {image} {rs.spec.replicas}")
    counts: Counter[str] = Counter()
    for p in pods:
        owner = controller_of(p)
        if owner is None or owner.uid not in shown or not active(p):
            continue
        counts[f"pods of {shown[owner.uid]} {_image(p)} ready={is_ready(p)}"] += 1
    lines += [f"{line} x{n}" for line, n in counts.items()]
    # Daemon pods are left out: one may or may not have started on a node
    # before it was tainted NoSchedule, depending on timing.
    for ds in api.list_nowait(DaemonSet).items:
        lines.append(f"DaemonSet {ds.metadata.name} {_image(ds.spec.template)}")
    # A Job's counts are left out: a drained or evicted pod that stops cleanly
    # on SIGTERM succeeds, and which pods a drain hits depends on placement.
    for job in api.list_nowait(Job).items:
        if controller_of(job) is None:
            lines.append(f"Job {job.metadata.name} {_outcome(job)}")
    lines += [f"CronJob {c.metadata.name}" for c in api.list_nowait(CronJob).items]
    lines += [f"Service {svc.metadata.name}" for svc in api.list_nowait(Service).items]
    for node in api.list_nowait(Node).items:
        taints = sorted(f"{t.key}:{t.effect}" for t in node.spec.taints if t.key == DEDICATED)
        lines.append(
            f"Node {node.metadata.name} {ROLE}={node.metadata.labels.get(ROLE)} {taints} "
            f"unschedulable={node.spec.unschedulable}"
        )
    return tuple(sorted(lines))
