"""
Every planted bug of :mod:`controllers.planted` changes what a small cluster does.

Each scenario runs twice on a fresh :class:`controllers.Cluster` (or on the
pure planner, where the mistake is a planning one): once as shipped, where it
shows the correct outcome, and once with the bug planted, where it shows the
wrong one. A bug that needs a fault to show gets it here by hand: a stale or
coalescing watch (:class:`WatchGate`), a write refused once, a plan made from
a stale read.

The catalogue itself is checked too: enough entries, unique names, each one
switched by ``reconcile.planted`` somewhere in the controllers, none on by
default.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

import controllers
import reconcile
from controllers import Cluster, planted, run
from controllers.api.apps import DaemonSet, ReplicaSet
from controllers.api.batch import Job
from controllers.api.core import ConfigMap, Endpoints, Pod, Service
from controllers.daemonset.nodes import target_node
from controllers.deployment.util import resolve_fenceposts
from controllers.endpoints.plan import plan as endpoints_plan
from controllers.gc.plan import Delete, Plan
from controllers.gc.reconciler import apply
from controllers.job import COMPLETE, FAILED, JOB_TRACKING_FINALIZER, find_job_condition
from reconcile.testing import catalogue, plant
from tests.controllers.job.builders import job

T = TypeVar("T")

SAMPLE = 0.1
"""Seconds between two looks at a cluster while something is moving."""


def outcome(bug: str | None, body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 3) -> T:
    """What ``body`` observes on a fresh cluster, with ``bug`` planted (none: as shipped)."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=7) as cluster:
            return await body(cluster)

    with plant(bug) if bug is not None else contextlib.nullcontext():
        return run(main)


# -- the catalogue -------------------------------------------------------------------------


def declared() -> dict[str, str]:
    """The bug constants of :mod:`controllers.planted`, by constant name."""
    found = {name: getattr(planted, name) for name in planted.__all__}
    return {name: value for name, value in found.items() if isinstance(value, str)}


def test_the_catalogue_has_at_least_fifteen_bugs_with_unique_names() -> None:
    names = list(declared().values())
    assert len(names) >= 15
    assert len(set(names)) == len(names)
    known = {bug.name: bug for bug in catalogue()}
    for name in names:
        assert name in known
        controller, _, what = name.partition(".")
        assert controller
        assert what
        assert name == name.lower()
        assert " " not in name
        assert known[name].description
        assert known[name].component


def test_every_planted_bug_is_switched_somewhere_in_the_controllers() -> None:
    root = Path(controllers.__file__).parent
    switched: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
                == "planted"
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                switched.add(node.args[0].id)
    assert set(declared()) <= switched, set(declared()) - switched


def test_every_fault_named_belongs_to_a_declared_bug() -> None:
    assert set(planted.FAULTS) <= set(declared().values())
    assert all(planted.FAULTS.values())


def test_nothing_is_planted_by_default() -> None:
    assert not [name for name in declared().values() if reconcile.planted(name)]
    with plant(planted.JOB_IGNORES_BACKOFF_LIMIT):
        assert reconcile.planted(planted.JOB_IGNORES_BACKOFF_LIMIT)
    assert not reconcile.planted(planted.JOB_IGNORES_BACKOFF_LIMIT)


# -- faults by hand ------------------------------------------------------------------------


class WatchGate:
    """
    Holds back the watch events of one kind on streams opened after it is installed.

    :meth:`hold` stops delivery; :meth:`release` delivers what was held: every
    event (an informer that lagged) or, with ``coalesce``, only each object's
    last state (a watch that coalesced). Install it, then restart the
    component whose informers should see it.
    """

    def __init__(
        self, api: reconcile.MemoryCluster, kind: type[reconcile.Resource], mp: pytest.MonkeyPatch
    ) -> None:
        self._inner = api.watch
        self._kind = kind
        self._holding = False
        self._coalesce = False
        self._released = asyncio.Event()
        mp.setattr(api, "watch", self._watch)

    def hold(self) -> None:
        self._holding = True
        self._released.clear()

    def release(self, *, coalesce: bool = False) -> None:
        self._holding = False
        self._coalesce = coalesce
        self._released.set()

    def _watch(self, kind: type[reconcile.Resource], *args: Any, **kwargs: Any) -> Any:
        stream = self._inner(kind, *args, **kwargs)
        return self._gated(stream) if kind is self._kind else stream

    async def _gated(
        self, stream: AsyncIterator[reconcile.WatchEvent[Any]]
    ) -> AsyncIterator[reconcile.WatchEvent[Any]]:
        events = aiter(stream)
        held: list[reconcile.WatchEvent[Any]] = []
        pending: asyncio.Future[reconcile.WatchEvent[Any]] | None = None
        try:
            while True:
                if held and not self._holding:
                    batch, held = (last_states(held) if self._coalesce else held), []
                    for event in batch:
                        yield event
                    continue
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                if self._holding:
                    released = asyncio.ensure_future(self._released.wait())
                    either: set[asyncio.Future[Any]] = {pending, released}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                    released.cancel()
                    if not pending.done():
                        continue
                event = await pending
                pending = None
                if self._holding:
                    held.append(event)
                else:
                    yield event
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, reconcile.ApiError):
                    await pending
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


def last_states(events: list[reconcile.WatchEvent[Any]]) -> list[reconcile.WatchEvent[Any]]:
    """Each object's last event, in order of last change (added-then-deleted: nothing)."""
    merged: dict[tuple[reconcile.ObjectKey, str], reconcile.WatchEvent[Any]] = {}
    for event in events:
        if event.object is None:
            continue
        ident = (event.object.metadata.key, event.object.metadata.uid)
        before = merged.pop(ident, None)
        last = event
        if before is not None and before.type is reconcile.EventType.ADDED:
            if event.type is reconcile.EventType.DELETED:
                continue
            last = attrs.evolve(event, type=reconcile.EventType.ADDED)
        merged[ident] = last
    return list(merged.values())


def refuse_once(
    mp: pytest.MonkeyPatch,
    api: reconcile.MemoryCluster,
    method: str,
    when: Callable[[Any], bool],
    error: reconcile.ApiError,
) -> list[Any]:
    """Make ``api.<method>`` raise ``error`` the first time ``when(obj)`` holds; the refused."""
    inner = getattr(api, method)
    refused: list[Any] = []

    async def write(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not refused and when(obj):
            refused.append(obj)
            raise error
        return await inner(obj, *args, **kwargs)

    mp.setattr(api, method, write)
    return refused


# -- helpers -------------------------------------------------------------------------------


def deployment_yaml(
    image: str, *, replicas: int = 3, extra: str = "", labels: str = "{app: web}"
) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        f"spec:\n  replicas: {replicas}\n{extra}"
        f"  selector: {{matchLabels: {labels}}}\n"
        f"  template:\n    metadata: {{labels: {labels}}}\n"
        f"    spec:\n      containers: [{{name: web, image: '{image}'}}]\n"
    )


def replicaset_yaml(name: str, *, replicas: int, extra: str = "") -> str:
    return (
        f"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: {name}}}\n"
        f"spec:\n  replicas: {replicas}\n{extra}"
        "  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers: [{name: web, image: nginx}]\n"
    )


def daemonset_yaml() -> str:
    return (
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\n"
        "spec:\n  selector: {matchLabels: {app: agent}}\n"
        "  template:\n    metadata: {labels: {app: agent}}\n"
        "    spec:\n      containers: [{name: agent, image: agent}]\n"
    )


PROBE = "readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1, failureThreshold: 1}"

SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    "spec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: http}]\n"
)


def pod_yaml(name: str, *, script: str = "") -> str:
    notes = f"  annotations: {{script.sim.reconcile.dev/app: '{script}'}}\n" if script else ""
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: web}}\n{notes}"
        "spec:\n  containers:\n  - name: app\n    image: app\n"
        f"    ports: [{{name: http, containerPort: 8080}}]\n    {PROBE}\n"
    )


def pods(cluster: Cluster, labels: str = "app=web") -> list[Pod]:
    return list(cluster.list("pods", namespace="default", labels=labels))


def live(cluster: Cluster, labels: str = "app=web") -> list[Pod]:
    """Pods that are not being deleted and have not finished."""
    return [
        p
        for p in pods(cluster, labels)
        if p.metadata.deletion_timestamp is None and p.status.phase not in ("Succeeded", "Failed")
    ]


def is_ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def addresses(cluster: Cluster) -> list[str]:
    """The pod names in the ``web`` Endpoints' ready addresses."""
    ep: Endpoints | None = cluster.get("endpoints", "web")
    if ep is None:
        return []
    return sorted(a.target_ref.name for s in ep.subsets for a in s.addresses if a.target_ref)


def creations(cluster: Cluster, obj: reconcile.Resource) -> int:
    return len(cluster.events(obj, reason="SuccessfulCreate"))


# -- Deployment ----------------------------------------------------------------------------


async def rollout_extremes(cluster: Cluster) -> tuple[int, int]:
    """
    Roll 3 replicas (25% surge, 25% unavailable: 1 and 0) from v1 to v2.

    Returns the fewest ready and the most live pods seen during the rollout.
    """
    await cluster.apply(deployment_yaml("nginx:1"))
    await cluster.settle()
    await cluster.apply(deployment_yaml("nginx:2"))
    fewest_ready, most = 3, 0
    for _ in range(300):
        await cluster.advance(SAMPLE)
        current = live(cluster)
        fewest_ready = min(fewest_ready, sum(1 for p in current if is_ready(p)))
        most = max(most, len(current))
    current = live(cluster)
    assert ["nginx:2"] * 3 == [p.spec.containers[0].image for p in current]
    return fewest_ready, most


def test_fenceposts_of_three_replicas_at_25_percent_follow_the_planted_rounding() -> None:
    """The planner half of the two rounding bugs: ``resolve_fenceposts`` itself."""

    assert (1, 0) == resolve_fenceposts("25%", "25%", 3)
    with plant(planted.DEPLOYMENT_SURGE_ROUNDED_DOWN):
        assert (0, 1) == resolve_fenceposts("25%", "25%", 3)  # 0/0 would never move: 0/1
    with plant(planted.DEPLOYMENT_UNAVAILABLE_ROUNDED_UP):
        assert (1, 1) == resolve_fenceposts("25%", "25%", 3)


def test_surge_rounded_down_lets_a_rollout_of_three_replicas_lose_availability() -> None:
    """Surge 0 instead of 1: the rollout deletes before it creates (2 ready, never 4 pods)."""

    assert (3, 4) == outcome(None, rollout_extremes)
    assert (2, 3) == outcome(planted.DEPLOYMENT_SURGE_ROUNDED_DOWN, rollout_extremes)


def test_unavailable_rounded_up_lets_a_rollout_of_three_replicas_lose_availability() -> None:
    """Unavailable 1 instead of 0: a ready pod goes before its replacement is ready."""

    assert (3, 4) == outcome(None, rollout_extremes)
    assert (2, 4) == outcome(planted.DEPLOYMENT_UNAVAILABLE_ROUNDED_UP, rollout_extremes)


def test_counting_replicas_as_available_scales_old_pods_down_too_early() -> None:
    """New pods count as available as soon as they exist, ready or not."""

    assert (3, 4) == outcome(None, rollout_extremes)
    # Every old pod goes as soon as the new ones exist: none is ready for a while.
    assert (0, 3) == outcome(planted.DEPLOYMENT_COUNTS_REPLICAS_AS_AVAILABLE, rollout_extremes)


def test_ignoring_revision_history_limit_keeps_every_old_replica_set() -> None:
    """revisionHistoryLimit 1 over four rollouts: one old ReplicaSet stays, not three."""

    async def body(cluster: Cluster) -> int:
        for version in range(1, 5):
            await cluster.apply(deployment_yaml(f"nginx:{version}", extra=LIMIT))
            await cluster.settle()
        return len(cluster.list("rs", namespace="default"))

    assert 2 == outcome(None, body)  # the current one and one old one
    assert 4 == outcome(planted.DEPLOYMENT_IGNORES_REVISION_HISTORY_LIMIT, body)


LIMIT = "  revisionHistoryLimit: 1\n"


# -- ReplicaSet ----------------------------------------------------------------------------


def test_ignoring_expectations_creates_pods_twice_while_the_pod_cache_lags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second sync before the cache shows the first sync's pods creates them again."""

    lagging = True

    async def body(cluster: Cluster) -> tuple[int, int]:
        gate = WatchGate(cluster.api, Pod, monkeypatch)
        await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        if lagging:
            gate.hold()  # the controller manager's pod cache stops here
        await cluster.apply(replicaset_yaml("web", replicas=3))
        await cluster.advance(1)
        rs: ReplicaSet = cluster.get("rs", "web")
        # Any event makes the ReplicaSet sync again on the lagging cache.
        labelled = attrs.evolve(rs.metadata, labels={"touched": "yes"})
        await cluster.api.update(attrs.evolve(rs, metadata=labelled))
        await cluster.advance(1)
        gate.release()
        await cluster.settle()
        return creations(cluster, rs), len(live(cluster))

    assert (3, 3) == outcome(None, body)
    assert (6, 3) == outcome(planted.REPLICASET_IGNORES_EXPECTATIONS, body)
    lagging = False  # without the fault the bug stays hidden
    assert (3, 3) == outcome(planted.REPLICASET_IGNORES_EXPECTATIONS, body)


def test_no_min_ready_requeue_leaves_available_replicas_behind() -> None:
    """minReadySeconds 10: nothing wakes the ReplicaSet when its ready pods become available."""

    async def body(cluster: Cluster) -> int:
        await cluster.apply(replicaset_yaml("web", replicas=2, extra="  minReadySeconds: 10\n"))
        await cluster.advance(30)
        rs: ReplicaSet = cluster.get("rs", "web")
        assert 2 == rs.status.ready_replicas
        return rs.status.available_replicas

    assert 2 == outcome(None, body)
    assert 0 == outcome(planted.REPLICASET_NO_MIN_READY_REQUEUE, body)


def test_dropping_a_status_conflict_leaves_the_replica_set_status_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The status write that reports 3 ready pods meets one 409; no later event repairs it."""

    conflict = True

    async def body(cluster: Cluster) -> int:
        def final(obj: Any) -> bool:
            return conflict and isinstance(obj, ReplicaSet) and obj.status.ready_replicas == 3

        refused = refuse_once(
            monkeypatch, cluster.api, "update_status", final, reconcile.ConflictError("stale")
        )
        await cluster.apply(replicaset_yaml("web", replicas=3))
        await cluster.settle()
        assert bool(refused) == conflict
        assert 3 == sum(1 for p in live(cluster) if is_ready(p))
        rs: ReplicaSet = cluster.get("rs", "web")
        return rs.status.ready_replicas

    assert 3 == outcome(None, body)
    assert 0 == outcome(planted.REPLICASET_DROPS_STATUS_CONFLICT, body)  # the last write was lost
    conflict = False  # without the fault the bug stays hidden
    assert 3 == outcome(planted.REPLICASET_DROPS_STATUS_CONFLICT, body)


def test_adopting_owned_pods_takes_a_jobs_pod_away_from_it() -> None:
    """A Job's pods carry ``app=web`` too: the ReplicaSet ``web`` must leave them alone."""

    async def body(cluster: Cluster) -> tuple[bool, int]:
        await cluster.apply(replicaset_yaml("web", replicas=2))
        await cluster.settle()
        await cluster.api.create(job("web", script="exit=0@5s"))  # its pods: app=web
        await cluster.advance(30)
        stored: Job = cluster.get("job", "web")
        done = find_job_condition(stored.status.conditions, COMPLETE) is not None
        return done, creations(cluster, stored)

    assert (True, 1) == outcome(None, body)
    done, created = outcome(planted.REPLICASET_ADOPTS_OWNED_PODS, body)
    assert not done
    assert created > 1


# -- garbage collector ---------------------------------------------------------------------


def test_deleting_orphaned_dependents_loses_an_orphan_deleted_deployments_replica_set() -> None:
    """``propagationPolicy: Orphan`` must leave the ReplicaSet and its pods running."""

    async def body(cluster: Cluster) -> tuple[int, int]:
        await cluster.apply(deployment_yaml("nginx:1", replicas=2))
        await cluster.settle()
        await cluster.delete("deploy", "web", propagation=reconcile.Propagation.ORPHAN)
        await cluster.settle()
        assert cluster.get("deploy", "web") is None
        return len(cluster.list("rs", namespace="default")), len(live(cluster))

    assert (1, 2) == outcome(None, body)
    assert (0, 0) == outcome(planted.GC_DELETES_ORPHANED_DEPENDENTS, body)


def test_deleting_without_uid_precondition_deletes_an_object_recreated_under_its_name() -> None:
    """A delete planned for the old ConfigMap must not remove its same-named successor."""

    recreated = True

    async def body(cluster: Cluster) -> bool:
        meta = reconcile.ObjectMeta(name="settings", namespace="default")
        old = await cluster.api.create(ConfigMap(metadata=meta))
        new = old
        if recreated:
            await cluster.api.delete(ConfigMap, old.metadata.key)
            new = await cluster.api.create(ConfigMap(metadata=meta))
        # The collector planned from a stale read that still showed the old object.
        stale = Delete(
            kind=ConfigMap,
            key=old.metadata.key,
            uid=old.metadata.uid,
            propagation=reconcile.Propagation.BACKGROUND,
        )
        await apply(cluster.api, Plan(actions=(stale,)))
        survivor = cluster.get("configmap", "settings")
        return survivor is not None and survivor.metadata.uid == new.metadata.uid

    assert outcome(None, body, nodes=1)
    assert not outcome(planted.GC_DELETE_WITHOUT_UID_PRECONDITION, body, nodes=1)
    recreated = False  # the plan was right: the object it names is deleted either way
    assert not outcome(None, body, nodes=1)
    assert not outcome(planted.GC_DELETE_WITHOUT_UID_PRECONDITION, body, nodes=1)


def test_trusting_a_lagging_cache_deletes_the_dependent_of_a_just_created_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An owner the collector's cache has not seen yet is not gone: a live read says so."""

    lagging = True

    async def body(cluster: Cluster) -> bool:
        gate = WatchGate(cluster.api, Service, monkeypatch)
        await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        if lagging:
            gate.hold()  # the controller manager does not see the new Service yet
        await cluster.apply(SERVICE)
        owner: Service = cluster.get("service", "web")
        meta = reconcile.ObjectMeta(
            name="settings",
            namespace="default",
            owner_references=(reconcile.owner_reference_to(owner),),
        )
        await cluster.api.create(ConfigMap(metadata=meta))
        await cluster.advance(1)
        gate.release()
        await cluster.settle()
        return cluster.get("configmap", "settings") is not None

    assert outcome(None, body, nodes=1)
    assert not outcome(planted.GC_TRUSTS_LAGGING_CACHE, body, nodes=1)
    lagging = False  # without the fault the bug stays hidden
    assert outcome(planted.GC_TRUSTS_LAGGING_CACHE, body, nodes=1)


# -- Endpoints -----------------------------------------------------------------------------


def test_including_not_ready_pods_lists_an_unready_pod_under_addresses() -> None:
    """A pod failing its readiness probe belongs in notReadyAddresses only."""

    async def body(cluster: Cluster) -> list[str]:
        await cluster.apply(SERVICE)
        await cluster.apply(pod_yaml("steady"))
        await cluster.apply(pod_yaml("flaky", script="unready=2s.."))
        await cluster.advance(10)
        assert ["steady"] == [p.metadata.name for p in pods(cluster) if is_ready(p)]
        return addresses(cluster)

    assert ["steady"] == outcome(None, body)
    assert ["flaky", "steady"] == outcome(planted.ENDPOINTS_INCLUDES_NOT_READY_PODS, body)


def test_edge_triggered_delete_keeps_the_address_of_a_pod_deleted_during_a_coalesced_watch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The watch delivers only the pod's last state (deleted, not ready): its address must go."""

    coalescing = True

    async def body(cluster: Cluster) -> list[str]:
        gate = WatchGate(cluster.api, Pod, monkeypatch)
        await cluster.restart_controller("kube-controller-manager")
        await cluster.apply(SERVICE)
        await cluster.apply(pod_yaml("steady"))
        await cluster.apply(pod_yaml("doomed"))
        await cluster.advance(10)
        assert ["doomed", "steady"] == addresses(cluster)
        if coalescing:
            gate.hold()
        await cluster.delete("pod", "doomed")
        await cluster.advance(60)  # terminated and removed while the watch held its events
        assert cluster.get("pod", "doomed") is None
        gate.release(coalesce=True)
        await cluster.settle()
        return addresses(cluster)

    assert ["steady"] == outcome(None, body)
    assert ["doomed", "steady"] == outcome(planted.ENDPOINTS_EDGE_TRIGGERED_DELETE, body)
    coalescing = False  # every event seen: the bug stays hidden
    assert ["steady"] == outcome(planted.ENDPOINTS_EDGE_TRIGGERED_DELETE, body)


def test_rewriting_unchanged_endpoints_writes_again_on_every_resync() -> None:
    """A restarted controller manager resyncs every Service: nothing changed, nothing to write."""

    async def body(cluster: Cluster) -> tuple[bool, bool]:
        await cluster.apply(SERVICE)
        await cluster.apply(pod_yaml("steady"))
        await cluster.advance(10)
        before: Endpoints = cluster.get("endpoints", "web")
        service: Service = cluster.get("service", "web")
        pod: Pod = cluster.get("pod", "steady")
        replanned = endpoints_plan(service, before, [pod]).empty
        await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        after: Endpoints = cluster.get("endpoints", "web")
        assert ["steady"] == addresses(cluster)
        return replanned, after.metadata.resource_version == before.metadata.resource_version

    assert (True, True) == outcome(None, body)
    assert (False, False) == outcome(planted.ENDPOINTS_REWRITES_UNCHANGED, body)


# -- Job -----------------------------------------------------------------------------------


def test_ignoring_the_backoff_limit_never_fails_a_job_whose_pods_keep_failing() -> None:
    """backoffLimit 1: the second failure fails the Job; with the bug pods keep coming."""

    async def body(cluster: Cluster) -> tuple[bool, int]:
        await cluster.api.create(job("work", script="exit=1@1s", backoff_limit=1))
        await cluster.advance(200)
        stored: Job = cluster.get("job", "work")
        failed = find_job_condition(stored.status.conditions, FAILED) is not None
        return failed, len(pods(cluster, "app=work"))

    assert (True, 2) == outcome(None, body)
    failed, created = outcome(planted.JOB_IGNORES_BACKOFF_LIMIT, body)
    assert not failed
    assert created > 2


def test_ignoring_parallelism_runs_every_remaining_completion_at_once() -> None:
    """completions 4, parallelism 2: never more than two pods at once."""

    async def body(cluster: Cluster) -> int:
        await cluster.api.create(job("work", completions=4, parallelism=2, script="exit=0@5s"))
        most = 0
        for _ in range(60):
            await cluster.advance(0.5)
            most = max(most, len(live(cluster, "app=work")))
        stored: Job = cluster.get("job", "work")
        assert find_job_condition(stored.status.conditions, COMPLETE) is not None
        return most

    assert 2 == outcome(None, body)
    assert 4 == outcome(planted.JOB_IGNORES_PARALLELISM, body)


def test_counting_a_finished_pod_twice_exceeds_completions_after_a_failed_finalizer_removal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tracking finalizer's removal fails once (500): the success is still counted once."""

    failing = True

    async def body(cluster: Cluster) -> int:
        def release(obj: Any) -> bool:
            return (
                failing
                and isinstance(obj, Pod)
                and obj.status.phase == "Succeeded"
                and JOB_TRACKING_FINALIZER not in obj.metadata.finalizers
            )

        refused = refuse_once(
            monkeypatch, cluster.api, "update", release, reconcile.ServerError("unavailable")
        )
        await cluster.api.create(job("work", completions=1, script="exit=0@1s"))
        await cluster.settle()
        assert bool(refused) == failing
        stored: Job = cluster.get("job", "work")
        assert find_job_condition(stored.status.conditions, COMPLETE) is not None
        return stored.status.succeeded

    assert 1 == outcome(None, body)
    assert 1 < outcome(planted.JOB_COUNTS_FINISHED_POD_TWICE, body)
    failing = False  # without the fault the bug stays hidden
    assert 1 == outcome(planted.JOB_COUNTS_FINISHED_POD_TWICE, body)


def test_leaving_the_tracking_finalizer_keeps_the_pods_of_a_deleted_job_terminating() -> None:
    """The running pod of a deleted Job must lose its finalizer and go."""

    async def body(cluster: Cluster) -> list[tuple[bool, bool]]:
        await cluster.api.create(job("work", script=None))
        await cluster.settle()
        assert 1 == len(live(cluster, "app=work"))
        await cluster.delete("job", "work")
        await cluster.settle()
        return [
            (
                p.metadata.deletion_timestamp is not None,
                JOB_TRACKING_FINALIZER in p.metadata.finalizers,
            )
            for p in pods(cluster, "app=work")
        ]

    assert [] == outcome(None, body)
    assert [(True, True)] == outcome(planted.JOB_LEAVES_TRACKING_FINALIZER, body)


# -- CronJob -------------------------------------------------------------------------------


def cron_yaml() -> str:
    return (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: tick}\n"
        'spec:\n  schedule: "*/1 * * * *"\n  concurrencyPolicy: Forbid\n'
        "  jobTemplate:\n    spec:\n      backoffLimit: 0\n      template:\n"
        "        metadata:\n          annotations: {script.sim.reconcile.dev/c: 'exit=0@150s'}\n"
        "        spec:\n          restartPolicy: Never\n"
        "          containers: [{name: c, image: busybox}]\n"
    )


def test_forbid_running_concurrently_starts_a_run_while_the_previous_one_is_active() -> None:
    """Every minute, each run lasting 150 s, Forbid: at most one active Job."""

    async def body(cluster: Cluster) -> int:
        await cluster.apply(cron_yaml())
        most = 0
        for _ in range(60):
            await cluster.advance(5)
            running = [
                j
                for j in cluster.list("jobs", namespace="default")
                if isinstance(j, Job)
                and find_job_condition(j.status.conditions, COMPLETE) is None
                and find_job_condition(j.status.conditions, FAILED) is None
            ]
            most = max(most, len(running))
        return most

    assert 1 == outcome(None, body, nodes=1)
    assert 1 < outcome(planted.CRONJOB_FORBID_RUNS_CONCURRENTLY, body, nodes=1)


# -- DaemonSet -----------------------------------------------------------------------------


def daemon_nodes(cluster: Cluster) -> list[str]:
    """The node of each live daemon pod, sorted."""
    return sorted(target_node(p) for p in live(cluster, "app=agent"))


def test_ignoring_noschedule_taints_puts_a_daemon_pod_on_a_tainted_node() -> None:
    """node-3 has an untolerated NoSchedule taint: no daemon pod belongs there."""

    async def body(cluster: Cluster) -> list[str]:
        await cluster.taint_node("node-3", "dedicated", "db", effect="NoSchedule")
        await cluster.apply(daemonset_yaml())
        await cluster.settle()
        return daemon_nodes(cluster)

    assert ["node-1", "node-2"] == outcome(None, body)
    assert ["node-1", "node-2", "node-3"] == outcome(
        planted.DAEMONSET_IGNORES_NOSCHEDULE_TAINTS, body
    )


def test_two_pods_per_node_gives_a_starting_daemon_pod_a_twin() -> None:
    """Each node gets one daemon pod, however long it takes to start."""

    async def body(cluster: Cluster) -> list[str]:
        await cluster.apply(daemonset_yaml())
        await cluster.settle()
        ds: DaemonSet = cluster.get("ds", "agent")
        assert ds.status.desired_number_scheduled == 3
        return daemon_nodes(cluster)

    assert ["node-1", "node-2", "node-3"] == outcome(None, body)
    assert ["node-1", "node-1", "node-2", "node-2", "node-3", "node-3"] == outcome(
        planted.DAEMONSET_TWO_PODS_PER_NODE, body
    )
