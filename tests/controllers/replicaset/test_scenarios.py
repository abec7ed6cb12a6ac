"""
ReplicaSet behaviours end to end on :class:`controllers.Cluster`, in virtual time.

The cluster runs the kube-controller-manager with the ReplicaSet controller,
the scheduler and simulated kubelets; times are virtual seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from controllers import Cluster, run
from controllers.api.apps import ReplicaSet
from controllers.api.core import Pod
from controllers.replicaset import DELETION_COST_ANNOTATION, REPLICA_FAILURE, ready_time
from reconcile import FieldError, FrozenDict, Operation, controller_of, is_controlled_by

T = TypeVar("T")

STARTUP = 1.5  # image pull (1 s) + container start (0.5 s)


def scenario(body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 3) -> T:
    """Run ``body`` with a fresh cluster of ``nodes`` nodes."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=7) as cluster:
            return await body(cluster)

    return run(main)


def rs_yaml(
    name: str = "web", *, replicas: int = 3, app: str = "web", min_ready: int = 0, extra: str = ""
) -> str:
    return f"""
apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  minReadySeconds: {min_ready}
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers:
      - name: nginx
        image: nginx
{extra}"""


def pod_yaml(name: str, *, app: str = "web") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  containers: [{{name: nginx, image: nginx}}]
"""


def get_rs(cluster: Cluster, name: str = "web") -> ReplicaSet:
    rs = cluster.get("replicaset", name)
    assert isinstance(rs, ReplicaSet)
    return rs


def owned_pods(cluster: Cluster, rs: ReplicaSet) -> list[Pod]:
    return [
        p
        for p in cluster.list("pods", namespace="default")
        if is_controlled_by(p.metadata, rs.metadata.uid) and not p.metadata.deleting
    ]


def test_replicaset_creates_pods_to_reach_replicas() -> None:
    """Three replicas become three running, ready pods named ``web-*`` and a full status."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=3))
        await cluster.settle()
        rs = get_rs(cluster)
        pods = owned_pods(cluster, rs)
        assert 3 == len(pods)
        assert all(p.metadata.name.startswith("web-") for p in pods)
        assert all(p.status.phase == "Running" and p.spec.node_name for p in pods)
        status = rs.status
        assert (3, 3, 3, 3, rs.metadata.generation) == (
            status.replicas,
            status.fully_labeled_replicas,
            status.ready_replicas,
            status.available_replicas,
            status.observed_generation,
        )
        created = cluster.events(rs, reason="SuccessfulCreate")
        assert sorted(f"Created pod: {p.metadata.name}" for p in pods) == sorted(
            e.message for e in created
        )

    scenario(body)


def test_replicaset_does_nothing_when_converged() -> None:
    """A settled ReplicaSet writes nothing more: no pod, no status update."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        version = get_rs(cluster).metadata.resource_version
        names = sorted(p.metadata.name for p in cluster.list("pods"))
        await cluster.advance(120)
        assert version == get_rs(cluster).metadata.resource_version
        assert names == sorted(p.metadata.name for p in cluster.list("pods"))

    scenario(body)


def test_replicaset_adopts_matching_orphan_pods() -> None:
    """An orphan that matches the selector is adopted and counted; no extra pod is made."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("stray"))
        await cluster.settle()
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        rs = get_rs(cluster)
        stray = cluster.get("pod", "stray")
        assert is_controlled_by(stray.metadata, rs.metadata.uid)
        assert 2 == len(owned_pods(cluster, rs))
        assert 1 == len(cluster.events(rs, reason="SuccessfulCreate"))

    scenario(body)


def test_replicaset_releases_pods_that_stop_matching() -> None:
    """Relabelling a pod out of the selector releases it and a replacement is created."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        rs = get_rs(cluster)
        victim = owned_pods(cluster, rs)[0]
        relabelled = victim.with_meta(labels=FrozenDict({"app": "debug"}))
        await cluster.api.update(relabelled)
        await cluster.settle()
        released = cluster.get("pod", victim.metadata.name)
        assert controller_of(released.metadata) is None
        assert 2 == len(owned_pods(cluster, rs))
        assert 2 == get_rs(cluster).status.replicas

    scenario(body)


def test_replicaset_never_steals_pods_owned_by_another_controller() -> None:
    """Two ReplicaSets with the same selector each keep their own pods."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml("first", replicas=2))
        await cluster.settle()
        await cluster.apply(rs_yaml("second", replicas=1))
        await cluster.settle()
        first, second = get_rs(cluster, "first"), get_rs(cluster, "second")
        assert 2 == len(owned_pods(cluster, first))
        assert 1 == len(owned_pods(cluster, second))
        assert (2, 1) == (first.status.replicas, second.status.replicas)

    scenario(body)


def test_replicaset_replaces_a_deleted_pod() -> None:
    """Deleting a pod makes the ReplicaSet create a replacement at once."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=3))
        await cluster.settle()
        rs = get_rs(cluster)
        victim = owned_pods(cluster, rs)[0]
        await cluster.delete("pod", victim.metadata.name)
        await cluster.settle()
        pods = owned_pods(cluster, rs)
        assert 3 == len(pods)
        assert victim.metadata.uid not in {p.metadata.uid for p in pods}
        assert 3 == get_rs(cluster).status.ready_replicas

    scenario(body)


def test_scale_down_deletes_unscheduled_and_not_ready_pods_first() -> None:
    """Pods no node would take are the first to go when the set shrinks again."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        running = {p.metadata.name for p in owned_pods(cluster, get_rs(cluster))}
        for node in ("node-1", "node-2", "node-3"):
            await cluster.cordon(node)
        await cluster.apply(rs_yaml(replicas=4))
        await cluster.settle()
        rs = get_rs(cluster)
        assert 4 == len(owned_pods(cluster, rs))
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        assert running == {p.metadata.name for p in owned_pods(cluster, get_rs(cluster))}

    scenario(body)


def test_scale_down_honours_pod_deletion_cost() -> None:
    """Among equally healthy pods, the one with the lowest deletion cost goes first."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=3))
        await cluster.settle()
        rs = get_rs(cluster)
        cheap = owned_pods(cluster, rs)[1]
        annotated = cheap.with_meta(
            annotations=FrozenDict({**cheap.metadata.annotations, DELETION_COST_ANNOTATION: "-10"})
        )
        await cluster.api.update(annotated)
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        names = {p.metadata.name for p in owned_pods(cluster, get_rs(cluster))}
        assert cheap.metadata.name not in names
        assert 2 == len(names)
        assert [f"Deleted pod: {cheap.metadata.name}"] == [
            e.message for e in cluster.events(rs, reason="SuccessfulDelete")
        ]

    scenario(body)


def test_available_replicas_wait_for_min_ready_seconds() -> None:
    """Ready pods count as available exactly minReadySeconds after they became ready."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=2, min_ready=10))
        await cluster.advance(STARTUP + 0.1)
        rs = get_rs(cluster)
        assert (2, 0) == (rs.status.ready_replicas, rs.status.available_replicas)
        readies = [ready_time(p) for p in owned_pods(cluster, rs)]
        assert None not in readies
        latest = max(t for t in readies if t is not None)
        wait = (latest - cluster.clock.now()).total_seconds() + 10
        await cluster.advance(wait - 0.05)
        assert 2 > get_rs(cluster).status.available_replicas
        await cluster.advance(0.1)  # the controller woke itself: no pod event happened
        assert 2 == get_rs(cluster).status.available_replicas

    scenario(body)


def test_failed_creates_set_replica_failure_and_recover() -> None:
    """Refused creates record FailedCreate and ReplicaFailure; once allowed, it clears."""

    async def body(cluster: Cluster) -> None:
        refuse = True
        attempts = 0

        def quota(new: Pod, old: Pod | None, op: Operation) -> list[FieldError]:
            nonlocal attempts
            if op is not Operation.CREATE or not new.metadata.generate_name.startswith("web-"):
                return []
            attempts += 1
            return (
                [FieldError(field="spec", type="Forbidden", detail="exceeded quota")]
                if refuse
                else []
            )

        cluster.api.admission.register(Pod, validator=quota)
        await cluster.apply(rs_yaml(replicas=3))
        await cluster.advance(0.001)  # the first sync; its retry comes after a backoff
        rs = get_rs(cluster)
        assert 1 == attempts  # slow start: the first batch of one failed, nothing more was tried
        (condition,) = rs.status.conditions
        assert (REPLICA_FAILURE, "FailedCreate") == (condition.type, condition.reason)
        assert "exceeded quota" in condition.message
        failed = cluster.events(rs, reason="FailedCreate")
        assert failed
        assert failed[0].message.startswith("Error creating: ")
        refuse = False
        await cluster.settle()
        rs = get_rs(cluster)
        assert () == rs.status.conditions
        assert 3 == rs.status.ready_replicas

    scenario(body)


def test_scale_up_beyond_one_burst_creates_every_pod_once() -> None:
    """1,200 replicas take three bursts of at most 500 and never overshoot."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=1200))
        await cluster.settle()
        rs = get_rs(cluster)
        assert 1200 == len(owned_pods(cluster, rs))
        assert 1200 == rs.status.replicas
        assert 1200 == len(cluster.list("pods"))

    scenario(body, nodes=20)


def test_status_observes_each_spec_change() -> None:
    """observedGeneration follows spec.replicas changes."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=1))
        await cluster.settle()
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        rs = get_rs(cluster)
        assert rs.metadata.generation == rs.status.observed_generation
        assert 2 == rs.status.replicas

    scenario(body)


def test_an_orphan_appearing_later_is_adopted_and_the_surplus_deleted() -> None:
    """A matching bare pod joins a converged set, which then deletes one pod to stay at 2."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=2))
        await cluster.settle()
        await cluster.apply(pod_yaml("late"))
        await cluster.settle()
        rs = get_rs(cluster)
        assert 2 == len(owned_pods(cluster, rs))
        assert 1 == len(cluster.events(rs, reason="SuccessfulDelete"))
        assert 2 == rs.status.replicas

    scenario(body)


def test_deleting_a_replicaset_deletes_its_pods() -> None:
    """With background propagation the garbage collector removes the set's pods."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=3))
        await cluster.settle()
        await cluster.delete("replicaset", "web")
        await cluster.settle()
        assert [] == cluster.list("pods", namespace="default")

    scenario(body)


PROBED = """        readinessProbe:
          httpGet: {path: /, port: 80}
          periodSeconds: 5
"""


def test_scale_down_deletes_not_ready_pods_before_ready_ones() -> None:
    """The pod whose readiness probe fails is the one removed when the set shrinks."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=3, extra=PROBED))
        await cluster.advance(10)
        rs = get_rs(cluster)
        assert 3 == rs.status.ready_replicas
        sick = owned_pods(cluster, rs)[2]
        cluster.fail_probe(sick.metadata.name, "readiness")
        await cluster.advance(16)  # three failures at period 5 s
        assert 2 == get_rs(cluster).status.ready_replicas
        await cluster.apply(rs_yaml(replicas=2, extra=PROBED))
        await cluster.advance(5)
        names = {p.metadata.name for p in owned_pods(cluster, get_rs(cluster))}
        assert sick.metadata.name not in names
        assert 2 == len(names)

    scenario(body)


def test_restarted_controller_manager_does_not_overshoot() -> None:
    """Expectations are lost on restart, but the rebuilt cache keeps the count exact."""

    async def body(cluster: Cluster) -> None:
        await cluster.apply(rs_yaml(replicas=5))
        await cluster.advance(0.0005)
        await cluster.restart_controller("kube-controller-manager")
        await cluster.settle()
        rs = get_rs(cluster)
        assert 5 == len(owned_pods(cluster, rs))
        assert 5 == len(cluster.list("pods", namespace="default"))
        assert 5 == rs.status.available_replicas

    scenario(body)
