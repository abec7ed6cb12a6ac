"""
Deployment behaviours end to end through :class:`controllers.Cluster`, in virtual time.

The ReplicaSet controller, scheduler and simulated kubelets run too, so these
check the Deployment controller against what the rest of the cluster does
(pods take ``STARTUP`` seconds to become ready).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

import reconcile
from controllers import Cluster, run
from controllers.api.apps import Deployment, ReplicaSet, ReplicaSetSpec
from controllers.api.core import Pod
from controllers.deployment.progress import PROGRESSING, Reason, get_condition
from controllers.deployment.util import REVISION, REVISION_HISTORY, pod_template_hash

T = TypeVar("T")

STARTUP = 1.5  # image pull (1 s) + container start (0.5 s)
SAMPLE = 0.1


def scenario(body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 3) -> T:
    """Run ``body`` with a fresh cluster of ``nodes`` nodes."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=7) as cluster:
            return await body(cluster)

    return run(main)


def manifest(
    replicas: int,
    image: str,
    *,
    strategy: str = "",
    extra: str = "",
) -> str:
    """Deployment ``web`` selecting ``app=web``."""
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
        f"spec:\n  replicas: {replicas}\n{strategy}{extra}"
        "  selector:\n    matchLabels: {app: web}\n"
        "  template:\n    metadata:\n      labels: {app: web}\n"
        f"    spec:\n      containers:\n      - name: web\n        image: {image}\n"
    )


def rolling(surge: Any, unavailable: Any) -> str:
    """A RollingUpdate strategy block."""
    return (
        "  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n"
        f"      maxSurge: {surge}\n      maxUnavailable: {unavailable}\n"
    )


RECREATE = "  strategy:\n    type: Recreate\n"


def deployment(cluster: Cluster) -> Deployment:
    found = cluster.get("deploy", "web")
    assert isinstance(found, Deployment)
    return found


def replica_sets(cluster: Cluster) -> list[ReplicaSet]:
    return [rs for rs in cluster.list("rs", namespace="default") if isinstance(rs, ReplicaSet)]


def pods(cluster: Cluster) -> list[Pod]:
    return [
        p for p in cluster.list("pods", namespace="default", labels="app=web") if isinstance(p, Pod)
    ]


def active(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is None and pod.status.phase not in (
        "Succeeded",
        "Failed",
    )


def ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def image_of(pod: Pod) -> str:
    return pod.spec.containers[0].image


async def sample_until_complete(
    cluster: Cluster, check: Callable[[], None], *, limit: float = 300
) -> None:
    """Advance in small steps, calling ``check`` at each, until the rollout completes."""
    start = cluster.clock.time()
    while cluster.clock.time() - start < limit:
        await cluster.advance(SAMPLE)
        check()
        d = deployment(cluster)
        c = get_condition(d.status, PROGRESSING)
        if (
            c is not None
            and c.reason == Reason.NEW_RS_AVAILABLE
            and d.status.observed_generation >= d.metadata.generation
            and d.status.replicas == d.status.updated_replicas
        ):
            return
    raise AssertionError("the rollout did not complete")


def test_rolling_update_respects_max_surge() -> None:
    """10 replicas, surge 3, unavailable 2: ≤ 13 pods and ≥ 8 ready at every instant."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(10, "nginx:1", strategy=rolling(3, 2)))
        await cluster.settle()
        assert 10 == sum(1 for p in pods(cluster) if ready(p))
        await cluster.apply(manifest(10, "nginx:2", strategy=rolling(3, 2)))
        seen = {"max_pods": 0, "min_ready": 10}

        def check() -> None:
            current = [p for p in pods(cluster) if active(p)]
            specs = sum(rs.spec.replicas or 0 for rs in replica_sets(cluster))
            assert specs <= 13
            seen["max_pods"] = max(seen["max_pods"], len(current))
            seen["min_ready"] = min(seen["min_ready"], sum(1 for p in current if ready(p)))

        await sample_until_complete(cluster, check)
        await cluster.settle()
        assert seen["max_pods"] <= 13
        assert seen["min_ready"] >= 8
        final = [p for p in pods(cluster) if active(p)]
        assert ["nginx:2"] * 10 == [image_of(p) for p in final]

    scenario(body)


def test_tutorial_event_sequence() -> None:
    """4 replicas v1 → v2 with 25%/25% records Kubernetes' ScalingReplicaSet sequence."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(4, "nginx:1"))
        await cluster.settle()
        (old,) = (rs.metadata.name for rs in replica_sets(cluster))
        await cluster.apply(manifest(4, "nginx:2"))
        await cluster.settle()
        new = next(n for rs in replica_sets(cluster) if (n := rs.metadata.name) != old)
        messages = [
            e.message for e in cluster.events(deployment(cluster), reason="ScalingReplicaSet")
        ]
        assert [
            f"Scaled up replica set {old} to 4",
            f"Scaled up replica set {new} to 1",
            f"Scaled down replica set {old} to 3 from 4",
            f"Scaled up replica set {new} to 2 from 1",
            f"Scaled down replica set {old} to 2 from 3",
            f"Scaled up replica set {new} to 3 from 2",
            f"Scaled down replica set {old} to 1 from 2",
            f"Scaled up replica set {new} to 4 from 3",
            f"Scaled down replica set {old} to 0 from 1",
        ] == messages

    scenario(body)


def test_recreate_waits_for_old_pods_to_be_gone() -> None:
    """Recreate: no v2 pod exists while any v1 pod (running or terminating) remains."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(3, "nginx:1", strategy=RECREATE))
        await cluster.settle()
        await cluster.apply(manifest(3, "nginx:2", strategy=RECREATE))
        overlap: list[float] = []

        def check() -> None:
            images = {image_of(p) for p in pods(cluster)}
            if {"nginx:1", "nginx:2"} <= images:
                overlap.append(cluster.clock.time())

        await sample_until_complete(cluster, check)
        assert [] == overlap
        await cluster.settle()
        assert ["nginx:2"] * 3 == [image_of(p) for p in pods(cluster) if active(p)]

    scenario(body)


def test_paused_deployment_scales_proportionally() -> None:
    """Paused mid-rollout, scaling 10 → 20 splits the new pods between both ReplicaSets."""

    async def body(cluster: Cluster) -> None:
        strategy = rolling(3, 2)
        await cluster.apply(manifest(10, "nginx:1", strategy=strategy))
        await cluster.settle()
        await cluster.apply(manifest(10, "busybox", strategy=strategy))  # never becomes ready
        await cluster.advance(5)
        await cluster.apply(manifest(10, "busybox", strategy=strategy, extra="  paused: true\n"))
        await cluster.advance(1)
        before = {
            rs.spec.template.spec.containers[0].image: rs.spec.replicas
            for rs in replica_sets(cluster)
        }
        assert 13 == sum(n or 0 for n in before.values())
        await cluster.apply(manifest(20, "busybox", strategy=strategy, extra="  paused: true\n"))
        await cluster.advance(5)
        after = {
            rs.spec.template.spec.containers[0].image: rs.spec.replicas
            for rs in replica_sets(cluster)
        }
        assert 23 == sum(n or 0 for n in after.values())  # 20 + surge 3
        for image, size in before.items():
            assert (after[image] or 0) > (size or 0)
        c = get_condition(deployment(cluster).status, PROGRESSING)
        assert c is not None
        assert Reason.PAUSED == c.reason

    scenario(body)


def test_never_ready_version_reports_progress_deadline_exceeded() -> None:
    """A v2 that never becomes ready: after progressDeadlineSeconds, ProgressDeadlineExceeded."""

    async def body(cluster: Cluster) -> None:
        deadline = "  progressDeadlineSeconds: 30\n"
        await cluster.apply(manifest(3, "nginx:1", extra=deadline))
        await cluster.settle()
        await cluster.apply(manifest(3, "busybox", extra=deadline))
        await cluster.advance(25)
        c = get_condition(deployment(cluster).status, PROGRESSING)
        assert c is not None
        assert c.reason in {Reason.RS_UPDATED, Reason.NEW_RS_CREATED}
        await cluster.advance(60)
        c = get_condition(deployment(cluster).status, PROGRESSING)
        assert c is not None
        assert (Reason.TIMED_OUT, "False") == (c.reason, c.status.value)
        assert 3 == sum(1 for p in pods(cluster) if active(p) and ready(p))

    scenario(body)


def test_rollback_reuses_old_replica_set_with_new_revision() -> None:
    """``rollout undo`` brings back the v1 ReplicaSet as revision 3; undoing twice returns to v2."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(3, "nginx:1"))
        await cluster.settle()
        (v1,) = (rs.metadata.name for rs in replica_sets(cluster))
        await cluster.apply(manifest(3, "nginx:2"))
        await cluster.settle()
        await cluster.rollout_undo("web")
        await cluster.settle()
        rss = {rs.metadata.name: rs for rs in replica_sets(cluster)}
        assert 2 == len(rss)
        assert ("3", "1", 3) == (
            rss[v1].metadata.annotations[REVISION],
            rss[v1].metadata.annotations[REVISION_HISTORY],
            rss[v1].spec.replicas,
        )
        assert "3" == deployment(cluster).metadata.annotations[REVISION]
        assert ["nginx:1"] * 3 == [image_of(p) for p in pods(cluster) if active(p)]
        await cluster.rollout_undo("web")
        await cluster.settle()
        assert ["nginx:2"] * 3 == [image_of(p) for p in pods(cluster) if active(p)]
        assert "4" == deployment(cluster).metadata.annotations[REVISION]

    scenario(body)


def test_history_limit_removes_old_replica_sets() -> None:
    """revisionHistoryLimit 1: after three rollouts, the current and one old ReplicaSet remain."""

    async def body(cluster: Cluster) -> None:
        limit = "  revisionHistoryLimit: 1\n"
        for image in ("nginx:1", "nginx:2", "nginx:3", "nginx:4"):
            await cluster.apply(manifest(2, image, extra=limit))
            await cluster.settle()
        images = sorted(rs.spec.template.spec.containers[0].image for rs in replica_sets(cluster))
        assert ["nginx:3", "nginx:4"] == images

    scenario(body)


def test_scaling_a_complete_deployment_updates_its_replica_set() -> None:
    """kubectl scale 3 → 5 scales the only ReplicaSet and records the event."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(3, "nginx:1"))
        await cluster.settle()
        (rs,) = replica_sets(cluster)
        await cluster.apply(manifest(5, "nginx:1"))
        await cluster.settle()
        (after,) = replica_sets(cluster)
        assert 5 == after.spec.replicas
        assert 5 == deployment(cluster).status.available_replicas
        messages = [
            e.message for e in cluster.events(deployment(cluster), reason="ScalingReplicaSet")
        ]
        assert f"Scaled up replica set {rs.metadata.name} to 5 from 3" == messages[-1]

    scenario(body)


def test_adopts_orphan_replica_set_and_releases_non_matching() -> None:
    """Deleting a Deployment with orphan propagation leaves its ReplicaSet; a new one adopts it."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(2, "nginx:1"))
        await cluster.settle()
        (rs,) = replica_sets(cluster)
        await cluster.delete("deploy", "web", propagation="Orphan")
        await cluster.settle()
        (orphan,) = replica_sets(cluster)
        assert () == orphan.metadata.owner_references
        await cluster.apply(manifest(2, "nginx:1"))
        await cluster.settle()
        (adopted,) = replica_sets(cluster)
        assert rs.metadata.uid == adopted.metadata.uid
        assert deployment(cluster).metadata.uid == adopted.metadata.owner_references[0].uid
        assert 2 == sum(1 for p in pods(cluster) if active(p))

    scenario(body)


def test_releases_replica_set_that_stops_matching() -> None:
    """A ReplicaSet relabelled out of the selector is released and replaced by a new one."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(2, "nginx:1"))
        await cluster.settle()
        (rs,) = replica_sets(cluster)
        await cluster.api.patch(
            ReplicaSet,
            rs.metadata.name,
            reconcile.MergePatch(patch=reconcile.freeze({"metadata": {"labels": {"app": "x"}}})),
            namespace="default",
        )
        await cluster.settle()
        by_uid = {r.metadata.uid: r for r in replica_sets(cluster)}
        assert () == by_uid[rs.metadata.uid].metadata.owner_references
        owned = [r for r in by_uid.values() if r.metadata.owner_references]
        assert [2] == [r.spec.replicas for r in owned]

    scenario(body)


def test_hash_collision_bumps_collision_count() -> None:
    """A foreign ReplicaSet holding the new ReplicaSet's name: collisionCount 1, another name."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(2, "nginx:1", extra="  paused: true\n"))
        await cluster.settle()
        template = deployment(cluster).spec.template
        taken = f"web-{pod_template_hash(template, None)}"
        foreign = ReplicaSet(
            metadata=reconcile.ObjectMeta(name=taken, namespace="default", labels={"app": "x"}),
            spec=ReplicaSetSpec(
                replicas=0,
                selector=reconcile.LabelSelector(match_labels={"app": "x"}),
                template=attrs.evolve(
                    template, metadata=attrs.evolve(template.metadata, labels={"app": "x"})
                ),
            ),
        )
        await cluster.api.create(foreign)
        await cluster.apply(manifest(2, "nginx:1"))
        await cluster.settle()
        d = deployment(cluster)
        assert 1 == d.status.collision_count
        owned = [r for r in replica_sets(cluster) if r.metadata.owner_references]
        assert [f"web-{pod_template_hash(template, 1)}"] == [r.metadata.name for r in owned]
        assert 2 == d.status.available_replicas

    scenario(body)


def test_does_nothing_when_converged() -> None:
    """A restarted controller manager resyncs a rolled-out Deployment without writing anything."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest(3, "nginx:1"))
        await cluster.settle()
        before = [deployment(cluster).metadata.resource_version]
        before += [rs.metadata.resource_version for rs in replica_sets(cluster)]
        events = len(cluster.events(deployment(cluster)))
        await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        after = [deployment(cluster).metadata.resource_version]
        after += [rs.metadata.resource_version for rs in replica_sets(cluster)]
        assert before == after
        assert events == len(cluster.events(deployment(cluster)))

    scenario(body)


def test_min_ready_seconds_is_passed_on_and_slows_the_rollout() -> None:
    """minReadySeconds reaches the ReplicaSets, and each new pod waits it out before old ones go."""

    async def body(cluster: Cluster) -> None:
        extra = "  minReadySeconds: 10\n"
        await cluster.apply(manifest(2, "nginx:1", extra=extra))
        await cluster.settle()
        assert [10] == [rs.spec.min_ready_seconds for rs in replica_sets(cluster)]
        start = cluster.clock.time()
        await cluster.apply(manifest(2, "nginx:2", extra=extra))
        await sample_until_complete(cluster, lambda: None)
        # 25% of 2: surge 1, unavailable 0 → one new pod at a time, each then waiting
        # 10 s to become available (the second may skip the image pull).
        assert cluster.clock.time() - start >= STARTUP + 2 * 10
        assert {10} == {rs.spec.min_ready_seconds for rs in replica_sets(cluster)}

    scenario(body)


def test_refused_replica_set_create_reports_replica_set_create_error() -> None:
    """The API refusing the new ReplicaSet: Progressing False ReplicaSetCreateError, then fine."""
    refusing = [True]

    def refuse(
        new: ReplicaSet, old: ReplicaSet | None, op: reconcile.Operation
    ) -> list[reconcile.FieldError]:
        if op is reconcile.Operation.CREATE and refusing[0]:
            return [reconcile.FieldError(field="metadata.name", detail="refused by policy")]
        return []

    async def body(cluster: Cluster) -> None:
        cluster.api.admission.register(ReplicaSet, validator=refuse)
        await cluster.apply(manifest(2, "nginx:1"))
        await cluster.advance(30)
        d = deployment(cluster)
        name = f"web-{pod_template_hash(d.spec.template, None)}"
        c = get_condition(d.status, PROGRESSING)
        assert c is not None
        assert (c.status, c.reason) == (reconcile.ConditionStatus.FALSE, Reason.RS_CREATE_ERROR)
        assert c.message.startswith(f'Failed to create new replica set "{name}": ')
        assert "refused by policy" in c.message
        warnings = cluster.events(d, reason=Reason.RS_CREATE_ERROR)
        assert warnings
        assert all(e.type == "Warning" for e in warnings)
        assert [] == replica_sets(cluster)
        refusing[0] = False
        await cluster.settle()
        d = deployment(cluster)
        c = get_condition(d.status, PROGRESSING)
        assert c is not None
        assert c.reason == Reason.NEW_RS_AVAILABLE
        assert [name] == [rs.metadata.name for rs in replica_sets(cluster)]
        assert 2 == d.status.available_replicas

    scenario(body)
