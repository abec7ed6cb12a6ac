"""
Kubernetes tutorial behaviours, end to end through :class:`controllers.Cluster`, in virtual time.

Every scenario runs on a fresh virtual clock (``controllers.run``); times
asserted are virtual seconds since the pod was applied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from controllers import Cluster, run
from controllers.api.core import Node, Pod
from controllers.kubelet.lifecycle import EXIT_KILLED

T = TypeVar("T")

STARTUP = 1.5  # image pull (1 s) + container start (0.5 s)
UNREACHABLE = "node.kubernetes.io/unreachable"


def scenario(body: Callable[[Cluster], Awaitable[T]], *, nodes: int = 3) -> T:
    """Run ``body`` with a fresh cluster of ``nodes`` nodes."""

    async def main() -> T:
        async with Cluster(nodes=nodes, seed=7) as cluster:
            return await body(cluster)

    return run(main)


def pod_yaml(
    name: str,
    *,
    image: str = "nginx",
    policy: str = "Always",
    script: str | None = None,
    extra: str = "",
    container: str = "",
    labels: str = "",
) -> str:
    annotations = (
        f"  annotations:\n    script.sim.reconcile.dev/{name}: '{script}'\n" if script else ""
    )
    label_block = f"  labels: {{{labels}}}\n" if labels else ""
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n"
        f"  name: {name}\n{annotations}{label_block}"
        f"spec:\n  restartPolicy: {policy}\n{extra}"
        f"  containers:\n  - name: {name}\n    image: {image}\n{container}"
    )


def pod(cluster: Cluster, name: str) -> Pod:
    found = cluster.get("pod", name)
    assert isinstance(found, Pod), name
    return found


def condition(obj: Pod | Node, type_: str) -> Any:
    return next((c for c in obj.status.conditions if c.type == type_), None)


def now(cluster: Cluster) -> float:
    return cluster.clock.time()


# -- restart policy ---------------------------------------------------------------------------


def test_restart_policy_always_restarts_a_completed_container() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("job", script="exit=0@5s"))
        await cluster.advance(STARTUP + 6)
        status = pod(cluster, "job").status
        assert status.phase == "Running"
        state = status.container_statuses[0]
        assert state.state.waiting is not None
        assert state.state.waiting.reason == "CrashLoopBackOff"
        assert state.last_state.terminated is not None
        assert state.last_state.terminated.reason == "Completed"
        await cluster.advance(10)
        status = pod(cluster, "job").status
        assert status.container_statuses[0].restart_count == 1
        assert status.container_statuses[0].state.running is not None
        assert len(cluster.events(pod(cluster, "job"), reason="BackOff")) == 1

    scenario(body)


def test_restart_policy_never_leaves_a_failed_pod_failed() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("once", policy="Never", script="exit=3@5s"))
        await cluster.advance(600)
        status = pod(cluster, "once").status
        assert status.phase == "Failed"
        container = status.container_statuses[0]
        assert container.restart_count == 0
        assert container.state.terminated is not None
        assert (container.state.terminated.exit_code, container.state.terminated.reason) == (
            3,
            "Error",
        )
        assert cluster.events(pod(cluster, "once"), reason="BackOff") == []

    scenario(body)


def test_restart_policy_on_failure_restarts_only_failures() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("fails", policy="OnFailure", script="exit=1@5s"))
        await cluster.apply(pod_yaml("works", policy="OnFailure", script="exit=0@5s"))
        await cluster.advance(60)
        fails, works = pod(cluster, "fails").status, pod(cluster, "works").status
        assert fails.phase == "Running"
        assert fails.container_statuses[0].restart_count >= 2
        assert works.phase == "Succeeded"
        assert works.container_statuses[0].restart_count == 0

    scenario(body)


# -- probes -----------------------------------------------------------------------------------

LIVENESS_EXEC = """
apiVersion: v1
kind: Pod
metadata:
  name: liveness-exec
  labels: {test: liveness}
spec:
  containers:
  - name: liveness
    image: registry.k8s.io/busybox
    args: ["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      initialDelaySeconds: 5
      periodSeconds: 5
"""


def test_liveness_exec_tutorial_restarts_the_container() -> None:
    async def body(cluster: Cluster) -> None:
        start = now(cluster)
        await cluster.apply(LIVENESS_EXEC)
        await cluster.advance(STARTUP + 35)
        status = pod(cluster, "liveness-exec").status.container_statuses[0]
        assert status.restart_count == 0
        assert status.state.running is not None
        await cluster.advance(6)  # third failure at 40 s
        the_pod = pod(cluster, "liveness-exec")
        status = the_pod.status.container_statuses[0]
        assert status.last_state.terminated is not None
        assert status.last_state.terminated.exit_code == EXIT_KILLED
        unhealthy = cluster.events(the_pod, reason="Unhealthy")
        assert unhealthy
        assert unhealthy[0].type == "Warning"
        assert "Liveness probe failed" in unhealthy[0].message
        killing = cluster.events(the_pod, reason="Killing")
        assert [e.message for e in killing] == [
            "Container liveness failed liveness probe, will be restarted"
        ]
        await cluster.advance(10)
        status = pod(cluster, "liveness-exec").status.container_statuses[0]
        assert status.restart_count == 1
        assert status.state.running is not None
        assert now(cluster) - start < 60

    scenario(body)


READY_WEB = pod_yaml(
    "web",
    container="    readinessProbe:\n      httpGet: {path: /, port: 80}\n      periodSeconds: 5\n",
)


def test_readiness_probe_failure_marks_pod_not_ready_without_restart() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(READY_WEB)
        await cluster.advance(10)
        assert condition(pod(cluster, "web"), "Ready").status == "True"
        cluster.fail_probe("web", "readiness", duration=30)
        await cluster.advance(16)  # three failures at period 5 s
        the_pod = pod(cluster, "web")
        assert condition(the_pod, "Ready").status == "False"
        assert the_pod.status.container_statuses[0].ready is False
        assert the_pod.status.phase == "Running"
        await cluster.advance(30)
        the_pod = pod(cluster, "web")
        assert condition(the_pod, "Ready").status == "True"
        assert the_pod.status.container_statuses[0].restart_count == 0
        assert cluster.events(the_pod, reason="Killing") == []

    scenario(body)


def test_readiness_probe_failure_by_annotation_marks_pod_not_ready_without_restart() -> None:
    manifest = pod_yaml(
        "web",
        script="unready=20s..40s",
        container="    readinessProbe:\n      tcpSocket: {port: 80}\n      periodSeconds: 5\n",
    )

    async def body(cluster: Cluster) -> None:
        await cluster.apply(manifest)
        await cluster.advance(STARTUP + 19)
        assert condition(pod(cluster, "web"), "Ready").status == "True"
        await cluster.advance(12)  # failures at 20, 25, 30 s
        assert condition(pod(cluster, "web"), "Ready").status == "False"
        await cluster.advance(10)
        the_pod = pod(cluster, "web")
        assert condition(the_pod, "Ready").status == "True"
        assert the_pod.status.container_statuses[0].restart_count == 0

    scenario(body)


# -- init containers --------------------------------------------------------------------------

INIT = """
apiVersion: v1
kind: Pod
metadata: {name: myapp}
spec:
  initContainers:
  - {name: init-db, image: busybox, command: ["sh", "-c", "sleep 5"]}
  - {name: init-cache, image: busybox, command: ["sh", "-c", "sleep 3"]}
  containers:
  - {name: app, image: nginx}
"""


def test_init_containers_run_before_app_containers() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(INIT)
        await cluster.advance(STARTUP + 1)
        status = pod(cluster, "myapp").status
        assert status.phase == "Pending"
        assert condition(pod(cluster, "myapp"), "Initialized").status == "False"
        assert status.init_container_statuses[0].state.running is not None
        assert status.init_container_statuses[1].state.waiting is not None
        assert status.container_statuses[0].state.waiting is not None
        assert status.container_statuses[0].state.waiting.reason == "PodInitializing"
        await cluster.advance(20)
        the_pod = pod(cluster, "myapp")
        assert the_pod.status.phase == "Running"
        assert condition(the_pod, "Initialized").status == "True"
        db, cache = the_pod.status.init_container_statuses
        main = the_pod.status.container_statuses[0]
        assert db.state.terminated is not None
        assert cache.state.terminated is not None
        assert main.state.running is not None
        assert db.state.terminated.finished_at is not None
        assert cache.state.terminated.started_at is not None
        assert cache.state.terminated.finished_at is not None
        assert db.state.terminated.finished_at <= cache.state.terminated.started_at
        assert main.state.running.started_at is not None
        assert cache.state.terminated.finished_at <= main.state.running.started_at

    scenario(body)


# -- scheduling -------------------------------------------------------------------------------

TOLERATION = (
    "  tolerations:\n  - {key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}\n"
)


def test_taint_keeps_pods_off_a_node_and_toleration_lets_them_on() -> None:
    async def body(cluster: Cluster) -> None:
        for node in ("node-2", "node-3"):
            await cluster.cordon(node)
        await cluster.taint_node("node-1", "dedicated", "gpu", "NoSchedule")
        await cluster.apply(pod_yaml("plain"))
        await cluster.apply(pod_yaml("tolerant", extra=TOLERATION))
        await cluster.settle()
        plain, tolerant = pod(cluster, "plain"), pod(cluster, "tolerant")
        assert plain.spec.node_name == ""
        assert condition(plain, "PodScheduled").status == "False"
        assert tolerant.spec.node_name == "node-1"
        assert tolerant.status.phase == "Running"
        failed = cluster.events(plain, reason="FailedScheduling")
        assert failed
        assert "untolerated taint" in failed[-1].message

    scenario(body)


ANTI_AFFINITY = """
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchLabels: {app: spread}
        topologyKey: kubernetes.io/hostname
"""


def test_anti_affinity_spreads_three_replicas_over_three_nodes() -> None:
    async def body(cluster: Cluster) -> None:
        for i in range(3):
            await cluster.apply(pod_yaml(f"spread-{i}", labels="app: spread", extra=ANTI_AFFINITY))
        await cluster.settle()
        pods = cluster.list("pods", namespace="default", labels="app=spread")
        assert sorted(p.spec.node_name for p in pods) == ["node-1", "node-2", "node-3"]
        await cluster.apply(pod_yaml("spread-3", labels="app: spread", extra=ANTI_AFFINITY))
        await cluster.settle()
        fourth = pod(cluster, "spread-3")
        assert fourth.spec.node_name == ""
        assert cluster.events(fourth, reason="FailedScheduling")

    scenario(body)


def test_unschedulable_pod_gets_failed_scheduling_event() -> None:
    big = "    resources:\n      requests: {cpu: '1000'}\n"

    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("huge", container=big))
        await cluster.settle()
        huge = pod(cluster, "huge")
        assert huge.spec.node_name == ""
        scheduled = condition(huge, "PodScheduled")
        assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
        events = cluster.events(huge, reason="FailedScheduling")
        assert events
        assert events[-1].type == "Warning"
        assert events[-1].message.startswith("0/3 nodes are available: 3 Insufficient cpu.")

    scenario(body)


# -- node failures ----------------------------------------------------------------------------


def _taints(cluster: Cluster, node: str) -> list[tuple[str, str]]:
    found = cluster.get("node", node)
    assert isinstance(found, Node)
    return [(t.key, t.effect) for t in found.spec.taints]


def test_node_that_dies_gets_unreachable_taint_and_pods_are_evicted_after_300s() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.cordon("node-2")
        await cluster.cordon("node-3")
        await cluster.apply(pod_yaml("victim"))
        await cluster.settle()
        assert pod(cluster, "victim").spec.node_name == "node-1"
        cut = now(cluster)
        cluster.cut_off("node-1")
        await cluster.advance(40)
        node = cluster.get("node", "node-1")
        assert condition(node, "Ready").status == "True"
        await cluster.advance(20)  # 50 s of silence plus a monitor period
        node = cluster.get("node", "node-1")
        assert condition(node, "Ready").status == "Unknown"
        assert (UNREACHABLE, "NoExecute") in _taints(cluster, "node-1")
        assert condition(pod(cluster, "victim"), "Ready").status == "False"
        tainted = next(t for t in node.spec.taints if t.key == UNREACHABLE)
        assert tainted.time_added is not None
        await cluster.advance(280)
        assert pod(cluster, "victim").metadata.deletion_timestamp is None
        await cluster.advance(40)  # past 300 s after the taint
        victim = pod(cluster, "victim")
        assert victim.metadata.deletion_timestamp is not None
        assert now(cluster) - cut < 60 + 300 + 40
        await cluster.advance(600)
        assert cluster.get("pod", "victim") is not None  # the kubelet cannot confirm
        cluster.reconnect("node-1")
        await cluster.settle()
        await cluster.advance(30)
        assert cluster.get("pod", "victim") is None
        assert condition(cluster.get("node", "node-1"), "Ready").status == "True"
        assert (UNREACHABLE, "NoExecute") not in _taints(cluster, "node-1")

    scenario(body)


def test_stopped_kubelet_recovers() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("web"))
        await cluster.settle()
        node = pod(cluster, "web").spec.node_name
        cluster.stop_kubelet(node)
        await cluster.advance(70)
        assert condition(cluster.get("node", node), "Ready").status == "Unknown"
        cluster.start_kubelet(node)
        await cluster.settle()
        await cluster.advance(20)
        assert condition(cluster.get("node", node), "Ready").status == "True"
        assert (UNREACHABLE, "NoExecute") not in _taints(cluster, node)
        the_pod = pod(cluster, "web")
        assert condition(the_pod, "Ready").status == "True"
        assert the_pod.metadata.deletion_timestamp is None
        assert the_pod.status.container_statuses[0].restart_count == 0

    scenario(body)


def test_crashed_container_restarts() -> None:
    async def body(cluster: Cluster) -> None:
        await cluster.apply(pod_yaml("web"))
        await cluster.settle()
        cluster.crash_container("web", code=2)
        await cluster.advance(1)
        status = pod(cluster, "web").status.container_statuses[0]
        assert status.state.waiting is not None
        assert status.state.waiting.reason == "CrashLoopBackOff"
        assert status.last_state.terminated is not None
        assert status.last_state.terminated.exit_code == 2
        await cluster.advance(10)
        status = pod(cluster, "web").status.container_statuses[0]
        assert status.restart_count == 1
        assert status.state.running is not None

    scenario(body)


def test_cordon_and_drain() -> None:
    async def body(cluster: Cluster) -> None:
        for i in range(3):
            await cluster.apply(pod_yaml(f"web-{i}", extra=ANTI_AFFINITY, labels="app: spread"))
        await cluster.settle()
        await cluster.cordon("node-1")
        node = cluster.get("node", "node-1")
        assert node.spec.unschedulable is True
        victim = next(p for p in cluster.list("pods") if p.spec.node_name == "node-1")
        evicted = await cluster.drain("node-1")
        assert [p.metadata.name for p in evicted] == [victim.metadata.name]
        await cluster.settle()
        assert cluster.get("pod", victim.metadata.name) is None
        await cluster.apply(pod_yaml("late"))
        await cluster.settle()
        assert pod(cluster, "late").spec.node_name in ("node-2", "node-3")
        await cluster.uncordon("node-1")
        assert cluster.get("node", "node-1").spec.unschedulable is False

    scenario(body)


def test_user_noexecute_taint_evicts_pods() -> None:
    tolerate = "  tolerations:\n  - {key: maintenance, operator: Exists, effect: NoExecute}\n"

    async def body(cluster: Cluster) -> None:
        await cluster.cordon("node-2")
        await cluster.cordon("node-3")
        await cluster.apply(pod_yaml("plain"))
        await cluster.apply(pod_yaml("tolerant", extra=tolerate))
        await cluster.settle()
        await cluster.taint_node("node-1", "maintenance", "now", "NoExecute")
        await cluster.settle()
        await cluster.advance(5)
        assert cluster.get("pod", "plain") is None
        tolerant = pod(cluster, "tolerant")
        assert tolerant.metadata.deletion_timestamp is None
        assert tolerant.status.phase == "Running"

    scenario(body)


def test_a_pod_that_cannot_be_scheduled_is_pending() -> None:
    big = "    resources:\n      requests: {cpu: '1000'}\n"

    async def body(cluster: Cluster) -> str:
        await cluster.apply(pod_yaml("huge", container=big))
        await cluster.settle()
        return pod(cluster, "huge").status.phase

    assert scenario(body) == "Pending"


def test_kubelet_events_name_their_node() -> None:
    async def body(cluster: Cluster) -> tuple[str, set[str]]:
        await cluster.apply(pod_yaml("web"))
        await cluster.settle()
        the_pod = pod(cluster, "web")
        started = cluster.events(the_pod, reason="Started")
        return the_pod.spec.node_name, {e.source.host for e in started}

    node, hosts = scenario(body)
    assert hosts == {node}
